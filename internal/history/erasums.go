package history

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// The published SHA-256 sums of every mainnet and Sepolia era1 file, as
// go-ethereum v1.17.10 ships them (internal/era/eradl/checksums_mainnet.txt
// and checksums_sepolia.txt, unchanged: one "<sha256 hex>  <file name>" a
// line). They are copied, not imported, because the package is internal.
// A file whose sum matches is the published chain: its headers are trusted
// as canonical without braid's own trusted path (ImportEra).
var (
	//go:embed erasums/checksums_mainnet.txt
	mainnetEraSums []byte
	//go:embed erasums/checksums_sepolia.txt
	sepoliaEraSums []byte
)

// Chain ids of the networks whose era1 sums braid ships.
const (
	mainnetChainID = 1
	sepoliaChainID = 11155111
)

// ErrEraChecksum is wrapped by ImportEra's error for a file whose name is
// in the network's published list but whose SHA-256 is not the one
// published for it.
var ErrEraChecksum = errors.New("the era1 file's SHA-256 is not the published one")

// EraChecksums are published era1 file sums, by file name.
type EraChecksums map[string][sha256.Size]byte

// ParseEraChecksums reads a list in go-ethereum's format: per line the
// SHA-256 in hex, white space, and the era1 file's name. A malformed line
// or a name listed twice is an error.
func ParseEraChecksums(r io.Reader) (EraChecksums, error) {
	out := EraChecksums{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return nil, fmt.Errorf("era1 checksums line %d: want \"<sha256> <file name>\", got %q", line, text)
		}
		raw, err := hex.DecodeString(fields[0])
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("era1 checksums line %d: %q is not a SHA-256 in hex", line, fields[0])
		}
		name := fields[1]
		if m := eraName.FindStringSubmatch(name); m == nil || m[2] != ".era1" {
			return nil, fmt.Errorf("era1 checksums line %d: %q is not an era1 file name", line, name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("era1 checksums line %d: %s listed twice", line, name)
		}
		out[name] = [sha256.Size]byte(raw)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("era1 checksums: %w", err)
	}
	return out, nil
}

var (
	mainnetSums = sync.OnceValues(func() (EraChecksums, error) { return ParseEraChecksums(bytes.NewReader(mainnetEraSums)) })
	sepoliaSums = sync.OnceValues(func() (EraChecksums, error) { return ParseEraChecksums(bytes.NewReader(sepoliaEraSums)) })
)

// PublishedEraChecksums are the era1 sums braid ships for a chain id:
// mainnet's and Sepolia's; nil for any other network.
func PublishedEraChecksums(chainID uint64) (EraChecksums, error) {
	switch chainID {
	case mainnetChainID:
		return mainnetSums()
	case sepoliaChainID:
		return sepoliaSums()
	}
	return nil, nil
}

// fileSHA256 is the SHA-256 of f's content from its start, read in a
// stream (bounded memory whatever the file's size) until ctx ends.
func fileSHA256(ctx context.Context, f *os.File) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return sum, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx: ctx, r: f}); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// ctxReader reads r until ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
