package history

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/ethereum/go-ethereum/core/rawdb/eradb"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/verify"
)

// HeaderSource gives the canonical header of a block number from braid's
// trusted path (providers keep headers when they prune bodies; under
// quorum, headers agreed by operators). It is never a peer.
type HeaderSource interface {
	Header(ctx context.Context, number uint64) (*types.Header, error)
}

// eraEpochBlocks is the number of blocks of one era1/ere file's epoch.
const eraEpochBlocks = 8192

// eraName matches era1 and ere file names: <network>-<epoch>-<hash>.era1 or
// <network>-<epoch>-<hash>(-<profile>)*.ere.
var eraName = regexp.MustCompile(`^[a-z0-9]+-(\d{5})-[0-9a-f]{8}(\.era1|(-[a-z]+)*\.ere)$`)

// ImportStats count what ImportEra did.
type ImportStats struct {
	Files    int   // era files read
	Anchored int   // of them, era1 files whose published SHA-256 matched
	Blocks   int   // blocks imported
	Skipped  int   // blocks the store already held whole
	Bytes    int64 // RLP bytes of the bodies and receipts imported
	Last     uint64
	HasBlock bool // Last is set
}

// ImportEra seeds the store from the era1 or ere files in dir, read with
// go-ethereum's core/rawdb/eradb: for every block of every file, the
// file's body and receipts must match the block's header (the store
// verifies them) before anything is stored; each block is made canonical.
//
// The header comes from the file itself when the file's name is in sums
// (the network's published era1 SHA-256 list, PublishedEraChecksums) and
// its SHA-256 matches: such a file is the published chain, and its blocks
// are canonical as Proven. A listed file
// whose sum differs is refused (an error wrapping ErrEraChecksum, naming
// it) before anything of it is stored. Any other file's headers come from
// headers, braid's trusted path, with the provenance it gives.
//
// It stops at the first error — a file's content that does not match its
// header is an error wrapping *verify.Error — keeping what it imported
// before.
func ImportEra(ctx context.Context, s *Store, dir string, headers CanonicalSource, sums EraChecksums) (ImportStats, error) {
	var st ImportStats
	files, err := eraFiles(dir)
	if err != nil {
		return st, err
	}
	db, err := eradb.New(dir)
	if err != nil {
		return st, fmt.Errorf("history: era files in %s: %w", dir, err)
	}
	defer db.Close()
	for _, f := range files {
		st.Files++
		if err := importFile(ctx, s, db, f, headers, sums, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

// importFile imports the blocks of one era file, with headers from the
// file when its published sum matches, else from trusted (braid's
// trusted path).
func importFile(ctx context.Context, s *Store, db *eradb.Store, f eraFile, trusted CanonicalSource, sums EraChecksums, st *ImportStats) error {
	name := filepath.Base(f.path)
	first := f.epoch * eraEpochBlocks
	src := trusted
	if want, listed := sums[name]; listed {
		fileHeaders, closeFile, err := anchoredHeaders(ctx, f, want)
		if err != nil {
			return fmt.Errorf("history: %s: %w", name, err)
		}
		defer closeFile()
		src = published{fileHeaders}
		st.Anchored++
	}
	for n := first; n < first+f.count; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := importBlock(ctx, s, db, src, n, st); err != nil {
			return fmt.Errorf("history: %s: block %d: %w", name, n, err)
		}
		st.Last, st.HasBlock = n, true
	}
	return nil
}

// anchoredHeaders opens f, checks its SHA-256 is want and returns the
// file's own headers as its blocks' trusted headers.
func anchoredHeaders(ctx context.Context, f eraFile, want [sha256.Size]byte) (HeaderSource, func(), error) {
	file, err := os.Open(f.path)
	if err != nil {
		return nil, nil, err
	}
	got, err := fileSHA256(ctx, file)
	if err != nil {
		file.Close()
		return nil, nil, fmt.Errorf("checksum: %w", err)
	}
	if got != want {
		file.Close()
		return nil, nil, fmt.Errorf("%w: SHA-256 %x, published %x; the file is refused", ErrEraChecksum, got, want)
	}
	hs, err := openEra1Headers(file, f.epoch*eraEpochBlocks, f.count)
	if err != nil {
		file.Close()
		return nil, nil, err
	}
	return hs, func() { file.Close() }, nil
}

// published is the headers of an era1 file whose SHA-256 matches
// go-ethereum's published list: a published trust root like a checkpoint,
// so its blocks are canonical as Proven (strict mode trusts them).
type published struct{ HeaderSource }

func (p published) CanonicalHeader(ctx context.Context, n uint64) (*types.Header, Provenance, error) {
	h, err := p.Header(ctx, n)
	return h, Proven, err
}

func importBlock(ctx context.Context, s *Store, db *eradb.Store, headers CanonicalSource, n uint64, st *ImportStats) error {
	h, prov, err := headers.CanonicalHeader(ctx, n)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if h == nil || h.Number == nil || h.Number.Uint64() != n {
		return fmt.Errorf("the header source gave no header for block %d", n)
	}
	hash := h.Hash()
	if s.Has(hash, AllParts) {
		st.Skipped++
		return s.SetCanonical(n, hash, prov)
	}
	body, err := db.GetRawBody(n)
	if err != nil || body == nil {
		return fmt.Errorf("read body: %w", errors.Join(err, errIf(body == nil, "not in the era files")))
	}
	receipts, err := db.GetRawReceipts(n)
	if err != nil || receipts == nil {
		return fmt.Errorf("read receipts: %w", errors.Join(err, errIf(receipts == nil, "not in the era files")))
	}
	// eradb converts receipts to go-ethereum's storage encoding.
	if err := s.PutBlockRLP(h, body, receipts, verify.ReceiptsStorage, prov); err != nil {
		return err
	}
	st.Blocks++
	st.Bytes += int64(len(body) + len(receipts))
	return nil
}

func errIf(cond bool, msg string) error {
	if cond {
		return errors.New(msg)
	}
	return nil
}

// eraFile is one era1 or ere file and the blocks it holds.
type eraFile struct {
	path  string
	epoch uint64
	count uint64
}

// eraFiles lists the era files of dir by epoch, with their block counts.
func eraFiles(dir string) ([]eraFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var files []eraFile
	for _, e := range entries {
		m := eraName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		epoch, _ := strconv.ParseUint(m[1], 10, 64)
		path := filepath.Join(dir, e.Name())
		count, err := eraCount(path)
		if err != nil {
			return nil, err
		}
		files = append(files, eraFile{path: path, epoch: epoch, count: count})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("history: no era1 or ere files in %s", dir)
	}
	slices.SortFunc(files, func(a, b eraFile) int { return cmp.Compare(a.epoch, b.epoch) })
	return files, nil
}

// eraCount reads how many blocks an era file holds: both formats end with
// their block index, whose last 8 bytes are the count (little-endian).
func eraCount(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	var b [8]byte
	if _, err := f.Seek(-8, io.SeekEnd); err != nil {
		return 0, fmt.Errorf("history: %s is too short for an era file: %w", filepath.Base(path), err)
	}
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return 0, fmt.Errorf("history: read %s: %w", filepath.Base(path), err)
	}
	count := binary.LittleEndian.Uint64(b[:])
	if count == 0 || count > eraEpochBlocks {
		return 0, fmt.Errorf("history: %s claims %d blocks (an era file holds 1 to %d)", filepath.Base(path), count, eraEpochBlocks)
	}
	return count, nil
}
