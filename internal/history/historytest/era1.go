package historytest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/golang/snappy"
)

// This file writes era1 files as the era1 specification describes them
// (an e2store file: a version entry, per block the snappy-framed header,
// body and receipts and the total difficulty, then the accumulator root
// and the block index), since go-ethereum's era1 writer is internal
// (internal/era/onedb): tests of the import read them back with
// go-ethereum's core/rawdb/eradb, as braid does.

// EraEpochBlocks is the number of blocks of one era1 file's epoch.
const EraEpochBlocks = 8192

// e2store entry types of era1.
const (
	e2Version          = 0x3265
	E2CompressedHeader = 0x03
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

func snappyFramed(raw []byte) ([]byte, error) {
	var out bytes.Buffer
	sw := snappy.NewBufferedWriter(&out)
	if _, err := sw.Write(raw); err != nil {
		return nil, err
	}
	if err := sw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// EraBlock is what one era1 block tuple holds.
type EraBlock struct {
	Header, Body, Receipts []byte // RLP; receipts in the consensus encoding
	Hash                   common.Hash
	TD                     *big.Int
}

// EraBlocks are the chain's blocks as era1 tuples.
func EraBlocks(c *Chain) []EraBlock {
	out := make([]EraBlock, len(c.Blocks))
	td := new(big.Int)
	for i, b := range c.Blocks {
		td = new(big.Int).Add(td, b.Header.Difficulty)
		out[i] = EraBlock{Header: b.HeaderRLP, Body: b.BodyRLP, Receipts: b.ReceiptsRLP, Hash: b.Hash(), TD: td}
	}
	return out
}

// WriteEra1 writes blocks (consecutive, the first at an epoch's start) as
// one era1 file in dir and returns its path.
func WriteEra1(dir, network string, epoch int, blocks []EraBlock) (string, error) {
	var w e2Writer
	written := w.entry(e2Version, nil)
	offsets := make([]int, len(blocks))
	for i, b := range blocks {
		offsets[i] = written
		for _, part := range []struct {
			typ uint16
			raw []byte
		}{{E2CompressedHeader, b.Header}, {e2CompressedBody, b.Body}, {e2CompressedRcpts, b.Receipts}} {
			framed, err := snappyFramed(part.raw)
			if err != nil {
				return "", err
			}
			written += w.entry(part.typ, framed)
		}
		written += w.entry(e2TotalDifficulty, uint256LE(b.TD))
	}
	root := accumulator(blocks)
	written += w.entry(e2Accumulator, root[:])
	// block-index := starting-number | index* | count, each index the
	// block tuple's offset relative to the start of this entry.
	index := make([]byte, 16+8*len(blocks))
	binary.LittleEndian.PutUint64(index, uint64(epoch*EraEpochBlocks))
	for i, off := range offsets {
		binary.LittleEndian.PutUint64(index[8+8*i:], uint64(int64(off)-int64(written)))
	}
	binary.LittleEndian.PutUint64(index[8+8*len(blocks):], uint64(len(blocks)))
	w.entry(e2BlockIndex, index)
	path := filepath.Join(dir, fmt.Sprintf("%s-%05d-%x.era1", network, epoch, root[:4]))
	return path, os.WriteFile(path, w.buf.Bytes(), 0o644)
}

func uint256LE(x *big.Int) []byte {
	b := make([]byte, 32)
	x.FillBytes(b)
	slices.Reverse(b)
	return b
}

// accumulator is hash_tree_root(List[HeaderRecord, 8192]) with
// HeaderRecord{block_hash: Bytes32, total_difficulty: uint256}.
func accumulator(blocks []EraBlock) [32]byte {
	layer := make([][32]byte, len(blocks))
	for i, b := range blocks {
		layer[i] = sha256.Sum256(append(b.Hash.Bytes(), uint256LE(b.TD)...))
	}
	var zero [32]byte
	for size := EraEpochBlocks; size > 1; size /= 2 {
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
