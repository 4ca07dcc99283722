package history

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/golang/snappy"

	"github.com/braidrpc/braid/internal/history/historytest"
	"github.com/braidrpc/braid/internal/verify"
)

// writeEra1 writes blocks as one era1 file in dir (historytest.WriteEra1).
func writeEra1(t testing.TB, dir, network string, epoch int, blocks []historytest.EraBlock) string {
	t.Helper()
	path, err := historytest.WriteEra1(dir, network, epoch, blocks)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// chainHeaders is a HeaderSource over the devnet chain.
type chainHeaders struct {
	c    *historytest.Chain
	lie  map[uint64]*types.Header
	prov Provenance // how its answers were decided; zero: Proven
}

func (h chainHeaders) CanonicalHeader(ctx context.Context, n uint64) (*types.Header, Provenance, error) {
	hdr, err := h.Header(ctx, n)
	if h.prov == NotCanonical {
		return hdr, Proven, err
	}
	return hdr, h.prov, err
}

func (h chainHeaders) Header(_ context.Context, n uint64) (*types.Header, error) {
	if l := h.lie[n]; l != nil {
		return l, nil
	}
	if n >= uint64(len(h.c.Blocks)) {
		return nil, fmt.Errorf("no block %d", n)
	}
	return h.c.Blocks[n].Header, nil
}

func eraBlocks(c *historytest.Chain) []historytest.EraBlock { return historytest.EraBlocks(c) }

// TestImportEra writes the devnet chain as an era1 file, imports it and
// finds every block intact; a second import skips them all.
func TestImportEra(t *testing.T) {
	c := testChain(t)
	dir := t.TempDir()
	writeEra1(t, dir, "devnet", 0, eraBlocks(c))
	s, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
	st, err := ImportEra(t.Context(), s, dir, chainHeaders{c: c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 1 || st.Blocks != len(c.Blocks) || st.Skipped != 0 || st.Last != c.Head().Number() {
		t.Fatalf("stats %+v", st)
	}
	for _, b := range c.Blocks {
		checkStored(t, s, b.Hash(), b.HeaderRLP, b.BodyRLP, b.StorageRLP, b.ReceiptsRLP)
		if h, _, _ := s.Canonical(b.Number(), Agreed); h != b.Hash() {
			t.Fatalf("block %d not canonical", b.Number())
		}
		for _, tx := range b.Body.Transactions {
			if _, loc, ok := s.TxLookup(tx.Hash()); !ok || loc.BlockHash != b.Hash() {
				t.Fatalf("tx %s not indexed", tx.Hash())
			}
		}
	}
	auditBytes(t, s)
	again, err := ImportEra(t.Context(), s, dir, chainHeaders{c: c}, nil)
	if err != nil || again.Skipped != len(c.Blocks) || again.Blocks != 0 {
		t.Fatalf("second import: %+v, %v", again, err)
	}
}

// TestImportEraRejectsWhatTheHeaderDoesNotCommitTo: a file whose body or
// receipts were tampered with stops the import at that block with a
// verification error, and stores nothing of that block.
func TestImportEraRejectsWhatTheHeaderDoesNotCommitTo(t *testing.T) {
	c := testChain(t)
	target := busiest(c)
	for _, tc := range []struct {
		name   string
		tamper func(b []historytest.EraBlock)
	}{
		{"body of another block", func(b []historytest.EraBlock) { b[target].Body = b[target-1].Body }},
		{"receipts of another block", func(b []historytest.EraBlock) { b[target].Receipts = b[target-1].Receipts }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blocks := eraBlocks(c)
			tc.tamper(blocks)
			dir := t.TempDir()
			writeEra1(t, dir, "devnet", 0, blocks)
			s, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
			st, err := ImportEra(t.Context(), s, dir, chainHeaders{c: c}, nil)
			var lie *verify.Error
			if !errors.As(err, &lie) {
				t.Fatalf("import of a tampered file: %+v, %v", st, err)
			}
			if st.Blocks != target {
				t.Fatalf("imported %d blocks before the tampered block %d", st.Blocks, target)
			}
			if s.Has(c.Blocks[target].Hash(), HeaderPart) {
				t.Fatal("stored content of the tampered block")
			}
			auditBytes(t, s)
		})
	}
	t.Run("a header source naming another block", func(t *testing.T) {
		dir := t.TempDir()
		writeEra1(t, dir, "devnet", 0, eraBlocks(c))
		s, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
		_, err := ImportEra(t.Context(), s, dir, chainHeaders{c: c, lie: map[uint64]*types.Header{2: c.Blocks[3].Header}}, nil)
		if err == nil {
			t.Fatal("imported under a header of another number")
		}
	})
	t.Run("no era files", func(t *testing.T) {
		s, _, _ := openStore(t, Options{MaxBytes: 1 << 20})
		if _, err := ImportEra(t.Context(), s, t.TempDir(), chainHeaders{c: c}, nil); err == nil {
			t.Fatal("an empty directory imported")
		}
	})
}

// busiest is the index of the block with the most transactions (not the
// first block).
func busiest(c *historytest.Chain) int {
	best := 1
	for i, b := range c.Blocks[1:] {
		if len(b.Body.Transactions) > len(c.Blocks[best].Body.Transactions) {
			best = i + 1
		}
	}
	return best
}

// TestImportRealEra1 imports go-ethereum's own Sepolia era1 test file
// (the 8192 pre-merge blocks of epoch 21) with the SHA-256 list braid ships
// for Sepolia and a trusted path that reaches none of it: the published
// sum anchors the file's headers, each block is canonical under the hash a
// plain scan of the file's header entries gives, and real bodies and
// receipts, as eradb converts them, verify against real headers.
func TestImportRealEra1(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/ethereum/go-ethereum").Output()
	if err != nil {
		t.Fatalf("locate go-ethereum's module: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "core", "rawdb", "eradb", "testdata", "sepolia-00021-b8814b14.era1")
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(src)), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	headers := eraHeaders(t, raw)
	s, _, _ := openStore(t, Options{MaxBytes: 256 << 20, Keep: KeepPreMerge})
	sepolia, err := PublishedEraChecksums(11155111)
	if err != nil {
		t.Fatal(err)
	}
	asked := new(atomic.Int64)
	st, err := ImportEra(t.Context(), s, dir, noHeaders{asked}, sepolia)
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != eraEpochBlocks || st.Anchored != 1 || st.Last != 22*eraEpochBlocks-1 || asked.Load() != 0 {
		t.Fatalf("stats %+v, trusted path asked %d times", st, asked.Load())
	}
	for n, h := range headers {
		if got, _, ok := s.Canonical(n, Agreed); !ok || got != h.Hash() {
			t.Fatalf("block %d: canonical %s, %v; the file's header hashes to %s", n, got, ok, h.Hash())
		}
	}
	if got := s.Stats(); got.Receipts != eraEpochBlocks || got.Kept != eraEpochBlocks {
		t.Fatalf("store stats %+v: every block is pre-merge and kept", got)
	}
	auditBytes(t, s)
	txs := 0
	for _, h := range headers {
		if b, ok := s.Body(h.Hash()); ok {
			txs += len(b.Transactions)
		}
	}
	if txs == 0 {
		t.Fatal("the epoch holds no transactions: a weak test")
	}
	t.Logf("%d blocks, %d transactions, %d RLP bytes read, %d bytes accounted", st.Blocks, txs, st.Bytes, s.Size())
}

// eraHeaders reads the headers of an era1 file by scanning its e2store
// entries.
func eraHeaders(t testing.TB, raw []byte) headerList {
	t.Helper()
	out := headerList{}
	for off := 0; off+8 <= len(raw); {
		typ := binary.LittleEndian.Uint16(raw[off:])
		n := int(binary.LittleEndian.Uint32(raw[off+2:]))
		v := raw[off+8 : off+8+n]
		off += 8 + n
		if typ != historytest.E2CompressedHeader {
			continue
		}
		dec, err := io.ReadAll(snappy.NewReader(bytes.NewReader(v)))
		if err != nil {
			t.Fatal(err)
		}
		h := new(types.Header)
		if err := rlp.DecodeBytes(dec, h); err != nil {
			t.Fatal(err)
		}
		out[h.Number.Uint64()] = h
	}
	return out
}

// headerList is a HeaderSource over headers by number.
type headerList map[uint64]*types.Header

func (l headerList) Header(_ context.Context, n uint64) (*types.Header, error) {
	if h := l[n]; h != nil {
		return h, nil
	}
	return nil, fmt.Errorf("no header %d", n)
}
