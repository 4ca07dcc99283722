package history

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/golang/snappy"

	"github.com/braidrpc/braid/internal/history/historytest"
	"github.com/braidrpc/braid/internal/verify"
)

// This file writes era1 files as the era1 specification describes them
// (an e2store file: a version entry, per block the snappy-framed header,
// body and receipts and the total difficulty, then the accumulator root
// and the block index), since go-ethereum's era1 writer is internal.

// e2store entry types of era1.
const (
	e2Version          = 0x3265
	e2CompressedHeader = 0x03
	e2CompressedBody   = 0x04
	e2CompressedRcpts  = 0x05
	e2TotalDifficulty  = 0x06
	e2Accumulator      = 0x07
	e2BlockIndex       = 0x3266
)

// e2Writer writes e2store entries: type (2 bytes LE), length (4 bytes LE),
// 2 reserved zero bytes, value.
type e2Writer struct {
	buf bytes.Buffer
}

func (w *e2Writer) entry(typ uint16, value []byte) int {
	var head [8]byte
	binary.LittleEndian.PutUint16(head[0:], typ)
	binary.LittleEndian.PutUint32(head[2:], uint32(len(value)))
	w.buf.Write(head[:])
	w.buf.Write(value)
	return 8 + len(value)
}

func snappyFramed(t testing.TB, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	sw := snappy.NewBufferedWriter(&out)
	if _, err := sw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// eraBlock is what one era1 block tuple holds.
type eraBlock struct {
	header, body, receipts []byte // RLP; receipts in the consensus encoding
	hash                   common.Hash
	td                     *big.Int
}

// writeEra1 writes blocks (consecutive, the first at an epoch's start) as
// one era1 file in dir and returns its path.
func writeEra1(t testing.TB, dir, network string, epoch int, blocks []eraBlock) string {
	t.Helper()
	var w e2Writer
	written := w.entry(e2Version, nil)
	offsets := make([]int, len(blocks))
	for i, b := range blocks {
		offsets[i] = written
		written += w.entry(e2CompressedHeader, snappyFramed(t, b.header))
		written += w.entry(e2CompressedBody, snappyFramed(t, b.body))
		written += w.entry(e2CompressedRcpts, snappyFramed(t, b.receipts))
		written += w.entry(e2TotalDifficulty, uint256LE(b.td))
	}
	root := accumulator(blocks)
	written += w.entry(e2Accumulator, root[:])
	// block-index := starting-number | index* | count, each index the
	// block tuple's offset relative to the start of this entry.
	index := make([]byte, 16+8*len(blocks))
	binary.LittleEndian.PutUint64(index, uint64(epoch*eraEpochBlocks))
	for i, off := range offsets {
		binary.LittleEndian.PutUint64(index[8+8*i:], uint64(int64(off)-int64(written)))
	}
	binary.LittleEndian.PutUint64(index[8+8*len(blocks):], uint64(len(blocks)))
	w.entry(e2BlockIndex, index)
	path := filepath.Join(dir, fmt.Sprintf("%s-%05d-%x.era1", network, epoch, root[:4]))
	if err := os.WriteFile(path, w.buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func uint256LE(x *big.Int) []byte {
	b := make([]byte, 32)
	x.FillBytes(b)
	slices.Reverse(b)
	return b
}

// accumulator is hash_tree_root(List[HeaderRecord, 8192]) with
// HeaderRecord{block_hash: Bytes32, total_difficulty: uint256}.
func accumulator(blocks []eraBlock) [32]byte {
	layer := make([][32]byte, len(blocks))
	for i, b := range blocks {
		layer[i] = sha256.Sum256(append(b.hash.Bytes(), uint256LE(b.td)...))
	}
	var zero [32]byte
	for size := eraEpochBlocks; size > 1; size /= 2 {
		next := make([][32]byte, 0, (len(layer)+1)/2)
		for i := 0; i < len(layer); i += 2 {
			right := zero
			if i+1 < len(layer) {
				right = layer[i+1]
			}
			next = append(next, sha256.Sum256(append(layer[i][:], right[:]...)))
		}
		layer = next
		zero = sha256.Sum256(append(zero[:], zero[:]...))
	}
	var length [32]byte
	binary.LittleEndian.PutUint64(length[:], uint64(len(blocks)))
	return sha256.Sum256(append(layer[0][:], length[:]...))
}

// chainHeaders is a HeaderSource over the devnet chain.
type chainHeaders struct {
	c   *historytest.Chain
	lie map[uint64]*types.Header
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

func eraBlocks(c *historytest.Chain) []eraBlock {
	out := make([]eraBlock, len(c.Blocks))
	td := new(big.Int)
	for i, b := range c.Blocks {
		td = new(big.Int).Add(td, b.Header.Difficulty)
		out[i] = eraBlock{header: b.HeaderRLP, body: b.BodyRLP, receipts: b.ReceiptsRLP, hash: b.Hash(), td: td}
	}
	return out
}

// TestImportEra writes the devnet chain as an era1 file, imports it and
// finds every block intact; a second import skips them all.
func TestImportEra(t *testing.T) {
	c := testChain(t)
	dir := t.TempDir()
	writeEra1(t, dir, "devnet", 0, eraBlocks(c))
	s, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
	st, err := ImportEra(t.Context(), s, dir, chainHeaders{c: c})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 1 || st.Blocks != len(c.Blocks) || st.Skipped != 0 || st.Last != c.Head().Number() {
		t.Fatalf("stats %+v", st)
	}
	for _, b := range c.Blocks {
		checkStored(t, s, b.Hash(), b.HeaderRLP, b.BodyRLP, b.StorageRLP, b.ReceiptsRLP)
		if h, _ := s.Canonical(b.Number()); h != b.Hash() {
			t.Fatalf("block %d not canonical", b.Number())
		}
		for _, tx := range b.Body.Transactions {
			if _, loc, ok := s.TxLookup(tx.Hash()); !ok || loc.BlockHash != b.Hash() {
				t.Fatalf("tx %s not indexed", tx.Hash())
			}
		}
	}
	auditBytes(t, s)
	again, err := ImportEra(t.Context(), s, dir, chainHeaders{c: c})
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
		tamper func(b []eraBlock)
	}{
		{"body of another block", func(b []eraBlock) { b[target].body = b[target-1].body }},
		{"receipts of another block", func(b []eraBlock) { b[target].receipts = b[target-1].receipts }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blocks := eraBlocks(c)
			tc.tamper(blocks)
			dir := t.TempDir()
			writeEra1(t, dir, "devnet", 0, blocks)
			s, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
			st, err := ImportEra(t.Context(), s, dir, chainHeaders{c: c})
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
		_, err := ImportEra(t.Context(), s, dir, chainHeaders{c: c, lie: map[uint64]*types.Header{2: c.Blocks[3].Header}})
		if err == nil {
			t.Fatal("imported under a header of another number")
		}
	})
	t.Run("no era files", func(t *testing.T) {
		s, _, _ := openStore(t, Options{MaxBytes: 1 << 20})
		if _, err := ImportEra(t.Context(), s, t.TempDir(), chainHeaders{c: c}); err == nil {
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
// (the 8192 pre-merge blocks of epoch 21), with the file's headers standing
// in for braid's trusted path: real bodies and receipts, as eradb converts
// them, verify against real headers.
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
	st, err := ImportEra(t.Context(), s, dir, headers)
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != eraEpochBlocks || st.Last != 22*eraEpochBlocks-1 {
		t.Fatalf("stats %+v", st)
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
		if typ != e2CompressedHeader {
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
