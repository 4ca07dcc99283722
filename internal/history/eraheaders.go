package history

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/golang/snappy"
)

// era1's e2store entry type of a snappy-framed header.
const era1CompressedHeader = 0x03

// maxEraHeaderEntry bounds one header entry of an era1 file and the
// header it decompresses to (a mainnet header is about 540 bytes).
const maxEraHeaderEntry = 64 << 10

// era1Headers are the headers of one era1 file whose SHA-256 matched the
// published one, read through its block index (an e2store file ends with
// the block-index entry: 8 bytes of entry header, the starting number, one
// offset per block relative to that entry's start, and the count). It is
// the HeaderSource of that file's blocks: the published sum anchors them.
// Every read is bounded, so even a listed file cannot grow braid's memory.
type era1Headers struct {
	f     *os.File
	name  string
	start uint64
	count uint64
	index int64 // file offset of the block-index entry
}

var _ HeaderSource = (*era1Headers)(nil)

// openEra1Headers reads the block index of f, an era1 file of count
// blocks (eraCount), starting at block first.
func openEra1Headers(f *os.File, first, count uint64) (*era1Headers, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	e := &era1Headers{f: f, name: filepath.Base(f.Name()), count: count, index: info.Size() - int64(24+8*count)}
	if e.index < 8 {
		return nil, fmt.Errorf("%s is too short for its block index of %d blocks", e.name, count)
	}
	var b [8]byte
	if _, err := f.ReadAt(b[:], e.index+8); err != nil {
		return nil, fmt.Errorf("read the block index of %s: %w", e.name, err)
	}
	if e.start = binary.LittleEndian.Uint64(b[:]); e.start != first {
		return nil, fmt.Errorf("%s starts at block %d, not %d as its name says", e.name, e.start, first)
	}
	return e, nil
}

// Header is the header of block n from the file, checked to be n's.
func (e *era1Headers) Header(_ context.Context, n uint64) (*types.Header, error) {
	if n < e.start || n-e.start >= e.count {
		return nil, fmt.Errorf("block %d is not in %s", n, e.name)
	}
	var b [8]byte
	if _, err := e.f.ReadAt(b[:], e.index+16+8*int64(n-e.start)); err != nil {
		return nil, fmt.Errorf("read the block index of %s: %w", e.name, err)
	}
	off := e.index + int64(binary.LittleEndian.Uint64(b[:]))
	if off < 8 || off >= e.index {
		return nil, fmt.Errorf("%s: block %d's offset is outside the file", e.name, n)
	}
	if _, err := e.f.ReadAt(b[:], off); err != nil {
		return nil, fmt.Errorf("read %s: %w", e.name, err)
	}
	typ, size := binary.LittleEndian.Uint16(b[0:]), binary.LittleEndian.Uint32(b[2:])
	if typ != era1CompressedHeader || size > maxEraHeaderEntry {
		return nil, fmt.Errorf("%s: block %d's entry is not a header (type %#x, %d bytes)", e.name, n, typ, size)
	}
	sr := snappy.NewReader(io.NewSectionReader(e.f, off+8, int64(size)))
	raw, err := io.ReadAll(io.LimitReader(sr, maxEraHeaderEntry+1))
	if err != nil || len(raw) > maxEraHeaderEntry {
		return nil, fmt.Errorf("%s: block %d's header does not decompress within %d bytes: %v", e.name, n, maxEraHeaderEntry, err)
	}
	h := new(types.Header)
	if err := rlp.DecodeBytes(raw, h); err != nil {
		return nil, fmt.Errorf("%s: block %d's header: %w", e.name, n, err)
	}
	if h.Number == nil || !h.Number.IsUint64() || h.Number.Uint64() != n {
		return nil, fmt.Errorf("%s: the header at block %d's place is block %v's", e.name, n, h.Number)
	}
	return h, nil
}
