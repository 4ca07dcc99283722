// Package block holds the one way braid names a block and a served tip:
// the identity of a block (number, hash, parent hash), the tip a network
// serves (latest, safe, finalized) and a header with the JSON object sent
// to subscribers. It is a leaf: head, plan, stream and replica all use it,
// so that no stage needs an adapter to hand a block to another.
package block

import (
	"encoding/json"
	"errors"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// Block identifies one block. The zero Block means unknown.
type Block struct {
	Number     uint64
	Hash       common.Hash
	ParentHash common.Hash
}

// IsZero reports whether b is the unknown block.
func (b Block) IsZero() bool { return b == Block{} }

type blockJSON struct {
	Number     *hexutil.Uint64 `json:"number"`
	Hash       *common.Hash    `json:"hash"`
	ParentHash *common.Hash    `json:"parentHash"`
}

// MarshalJSON writes {"number":"0x…","hash":"0x…","parentHash":"0x…"},
// or null for the unknown block.
func (b Block) MarshalJSON() ([]byte, error) {
	if b.IsZero() {
		return []byte("null"), nil
	}
	n := hexutil.Uint64(b.Number)
	return json.Marshal(blockJSON{Number: &n, Hash: &b.Hash, ParentHash: &b.ParentHash})
}

// UnmarshalJSON reads number, hash and parentHash from a block or header
// object, ignoring its other members. null leaves b unchanged.
func (b *Block) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var w blockJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	if w.Number == nil || w.Hash == nil || w.ParentHash == nil {
		return errors.New("block lacks number, hash or parentHash")
	}
	if *w.Hash == (common.Hash{}) {
		return errors.New("block has a zero hash")
	}
	*b = Block{Number: uint64(*w.Number), Hash: *w.Hash, ParentHash: *w.ParentHash}
	return nil
}

// Tip is the network's served tip. Known is false until operators first
// agree on a latest block.
type Tip struct {
	Latest    Block `json:"latest"`
	Safe      Block `json:"safe"`
	Finalized Block `json:"finalized"`
	Known     bool  `json:"known"`
	// Seq counts the tip's changes: two reads with the same Seq saw the
	// same tip, and so did every read between them.
	Seq uint64 `json:"-"`
}

// Header is a block's identity with its header object as a node renders
// it (what newHeads subscribers are sent).
type Header struct {
	Block
	JSON json.RawMessage
}
