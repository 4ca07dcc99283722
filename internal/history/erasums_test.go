package history

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/core/types"
)

// TestPublishedEraChecksums: the embedded lists parse, hold every epoch
// once from 0 (mainnet 0..1896, Sepolia 0..182) under the network's name,
// and only mainnet and Sepolia have one.
func TestPublishedEraChecksums(t *testing.T) {
	for _, tc := range []struct {
		chainID uint64
		network string
		files   int
	}{{1, "mainnet", 1897}, {11155111, "sepolia", 183}} {
		sums, err := PublishedEraChecksums(tc.chainID)
		if err != nil {
			t.Fatalf("%s: %v", tc.network, err)
		}
		if len(sums) != tc.files {
			t.Fatalf("%s: %d files listed, want %d", tc.network, len(sums), tc.files)
		}
		epochs := map[uint64]bool{}
		for name := range sums {
			m := eraName.FindStringSubmatch(name)
			if m == nil || !strings.HasPrefix(name, tc.network+"-") {
				t.Fatalf("%s: listed %q", tc.network, name)
			}
			epoch, _ := strconv.ParseUint(m[1], 10, 64)
			epochs[epoch] = true
		}
		for e := range uint64(tc.files) {
			if !epochs[e] {
				t.Fatalf("%s: epoch %d not listed", tc.network, e)
			}
		}
	}
	first, _ := PublishedEraChecksums(1)
	if got := fmt.Sprintf("%x", first["mainnet-00000-5ec1ffb8.era1"]); got != "9c3f42e0247d5503533f437ada2d44e7e9661170421c1b7844687c8dcfc0eb9b" {
		t.Fatalf("mainnet epoch 0: %s", got)
	}
	for _, id := range []uint64{0, 17000, 560048, 1337} {
		if sums, err := PublishedEraChecksums(id); sums != nil || err != nil {
			t.Fatalf("chain %d: %d sums, %v", id, len(sums), err)
		}
	}
}

func TestParseEraChecksumsRefuses(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct{ name, text, want string }{
		{"one field", sum + "\n", "want"},
		{"short sum", "abcd  mainnet-00000-5ec1ffb8.era1\n", "not a SHA-256"},
		{"not hex", strings.Repeat("zz", 32) + "  mainnet-00000-5ec1ffb8.era1\n", "not a SHA-256"},
		{"not an era1 name", sum + "  mainnet-00000-5ec1ffb8.ere\n", "not an era1 file name"},
		{"twice", sum + "  mainnet-00000-5ec1ffb8.era1\n" + sum + "  mainnet-00000-5ec1ffb8.era1\n", "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEraChecksums(strings.NewReader(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// noHeaders is a trusted path that reaches no block (every block is below
// its reach); it counts what it was asked.
type noHeaders struct{ asked *atomic.Int64 }

func (h noHeaders) Header(_ context.Context, n uint64) (*types.Header, error) {
	h.asked.Add(1)
	return nil, fmt.Errorf("block %d is below the trusted path's reach", n)
}

func (h noHeaders) CanonicalHeader(ctx context.Context, n uint64) (*types.Header, Provenance, error) {
	hdr, err := h.Header(ctx, n)
	return hdr, NotCanonical, err
}

// sumsOf is a checksum list naming the files at paths with their SHA-256.
func sumsOf(t *testing.T, paths ...string) EraChecksums {
	t.Helper()
	out := EraChecksums{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = sha256.Sum256(raw)
	}
	return out
}

// A listed era1 file whose SHA-256 matches imports every block with the
// file's own headers, none asked of the trusted path: each block whole and
// canonical, its header stored, its transactions indexed.
func TestImportEraAnchoredByChecksum(t *testing.T) {
	c := testChain(t)
	dir := t.TempDir()
	path := writeEra1(t, dir, "devnet", 0, eraBlocks(c))
	s, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
	asked := new(atomic.Int64)
	st, err := ImportEra(t.Context(), s, dir, noHeaders{asked}, sumsOf(t, path))
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 1 || st.Anchored != 1 || st.Blocks != len(c.Blocks) || st.Last != c.Head().Number() {
		t.Fatalf("stats %+v", st)
	}
	if asked.Load() != 0 {
		t.Fatalf("the trusted path was asked %d times for a published file", asked.Load())
	}
	for _, b := range c.Blocks {
		checkStored(t, s, b.Hash(), b.HeaderRLP, b.BodyRLP, b.StorageRLP, b.ReceiptsRLP)
		// A published file is a trust root: strict mode trusts its blocks.
		if h, _, ok := s.Canonical(b.Number(), Proven); !ok || h != b.Hash() {
			t.Fatalf("block %d not canonical as proven", b.Number())
		}
		for _, tx := range b.Body.Transactions {
			if _, loc, ok := s.TxLookup(tx.Hash()); !ok || loc.BlockHash != b.Hash() {
				t.Fatalf("tx %s not indexed", tx.Hash())
			}
		}
	}
	auditBytes(t, s)
}

// A listed file with one byte flipped is refused, naming the file, before
// anything of it is stored or made canonical: in the version entry, in a
// block's content, in the block index (the last 8 bytes, the block count,
// are checked for sense before any sum).
func TestImportEraRefusesATamperedPublishedFile(t *testing.T) {
	c := testChain(t)
	orig := writeEra1(t, t.TempDir(), "devnet", 0, eraBlocks(c))
	raw, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	sums := sumsOf(t, orig)
	for _, at := range []int{0, len(raw) / 2, len(raw) - 9} {
		t.Run(strconv.Itoa(at), func(t *testing.T) {
			dir := t.TempDir()
			bad := append([]byte(nil), raw...)
			bad[at] ^= 0x01
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(orig)), bad, 0o644); err != nil {
				t.Fatal(err)
			}
			s, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
			st, err := ImportEra(t.Context(), s, dir, chainHeaders{c: c}, sums)
			if !errors.Is(err, ErrEraChecksum) || !strings.Contains(err.Error(), filepath.Base(orig)) {
				t.Fatalf("import of a tampered published file: %+v, %v", st, err)
			}
			if st.Blocks != 0 || st.Anchored != 0 || s.Stats().Blocks != 0 {
				t.Fatalf("stored from a refused file: %+v, store %+v", st, s.Stats())
			}
			for _, b := range c.Blocks {
				if _, _, ok := s.Canonical(b.Number(), Agreed); ok {
					t.Fatalf("block %d made canonical from a refused file", b.Number())
				}
			}
		})
	}
}

// A file not in the list (another file listed, or the list of another
// network) takes braid's trusted path as before: refused where the path
// does not reach, imported where it does.
func TestImportEraUnlistedTakesTheTrustedPath(t *testing.T) {
	c := testChain(t)
	dir := t.TempDir()
	writeEra1(t, dir, "devnet", 0, eraBlocks(c))
	other := writeEra1(t, t.TempDir(), "devnet", 1, eraBlocks(c)[:2])
	mainnet, err := PublishedEraChecksums(1)
	if err != nil {
		t.Fatal(err)
	}
	for name, sums := range map[string]EraChecksums{"another file": sumsOf(t, other), "mainnet's list": mainnet, "no list": nil} {
		t.Run(name, func(t *testing.T) {
			s, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
			asked := new(atomic.Int64)
			st, err := ImportEra(t.Context(), s, dir, noHeaders{asked}, sums)
			if err == nil || asked.Load() == 0 || st.Blocks != 0 || st.Anchored != 0 {
				t.Fatalf("an unlisted file beyond the trusted path: %+v, %v (asked %d)", st, err, asked.Load())
			}
			if _, _, ok := s.Canonical(0, Agreed); ok {
				t.Fatal("block 0 made canonical")
			}
			st, err = ImportEra(t.Context(), s, dir, chainHeaders{c: c}, sums)
			if err != nil || st.Blocks != len(c.Blocks) || st.Anchored != 0 {
				t.Fatalf("an unlisted file within the trusted path: %+v, %v", st, err)
			}
		})
	}
}
