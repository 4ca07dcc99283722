package evm

import (
	"bytes"
	"encoding/json"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/lru"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// This file guesses what a call braid never ran reads, from an eth_call
// to the same contract with the same 4-byte selector that ran before with
// other arguments (balanceOf of another holder): the same accounts and
// code, and the same storage slots, each computed again from the new
// arguments where the old call derived it from its own. Solidity places a
// mapping's value at keccak256(key . base); the executor records the
// preimages of what the EVM hashed, so a slot that was keccak256(a word
// of the calldata . base) becomes keccak256(the new calldata's word at
// the same place . base), nested mappings alike. The guess goes out at
// the same time as the eth_createAccessList hint; when it is right, the
// call costs one round trip in time. Like a remembered hint it is our own
// execution's record over proven state, so no operator can plant one, and
// a wrong guess costs proofs, never a wrong answer.

const (
	// shapeCacheBytes bounds the shapes kept (JSON-encoded).
	shapeCacheBytes = 4 << 20
	// shapeDepth bounds how deep a slot's derivation is followed: a
	// mapping of mappings of mappings.
	shapeDepth = 3
)

// term says how a 32-byte word was made: a constant, the calldata's word
// at Offset, the sender, or keccak256(Key . Base).
type term struct {
	Const  *common.Hash `json:"c,omitempty"`
	Offset *int         `json:"o,omitempty"`
	Sender bool         `json:"s,omitempty"`
	Key    *term        `json:"k,omitempty"`
	Base   *term        `json:"b,omitempty"`
}

// shapeAccount is an account a call read, with how its slots were made.
type shapeAccount struct {
	Address common.Address `json:"a"`
	Slots   []*term        `json:"s,omitempty"`
}

// shapes are the shapes of eth_calls that ran, by shapeKey.
type shapes struct {
	lists *lru.SizeConstrainedCache[common.Hash, []byte]
}

func newShapes() *shapes {
	return &shapes{lists: lru.NewSizeConstrainedCache[common.Hash, []byte](shapeCacheBytes)}
}

// shapeKey names the calls that share a shape: same recipient, selector
// and state overrides; false for a call without both.
func shapeKey(req *Request) (common.Hash, bool) {
	data := req.Args.data()
	if req.Args.To == nil || len(data) < 4 {
		return common.Hash{}, false
	}
	b, err := json.Marshal(struct {
		To       *common.Address
		Selector []byte
		State    StateOverride
	}{req.Args.To, data[:4], req.State})
	if err != nil {
		return common.Hash{}, false
	}
	return crypto.Keccak256Hash(b), true
}

// put remembers the shape of what a call read: its reads, explained by
// the preimages of what it hashed, its calldata and its sender.
func (s *shapes) put(key common.Hash, read types.AccessList, preimages map[common.Hash][]byte, input []byte, sender common.Address) {
	x := explainer{preimages: preimages, input: input, sender: common.BytesToHash(sender.Bytes())}
	out := make([]shapeAccount, 0, len(read))
	for _, t := range read {
		a := shapeAccount{Address: t.Address}
		for _, slot := range t.StorageKeys {
			if st := x.slot(slot); st != nil {
				a.Slots = append(a.Slots, st)
			}
		}
		out = append(out, a)
	}
	if b, err := json.Marshal(out); err == nil {
		s.lists.Add(key, b)
	}
}

// has reports whether a shape is kept for key. A shape is learned from
// the first call of its kind and again from one that had to fetch on
// demand (its guess was wrong), not from every call.
func (s *shapes) has(key common.Hash) bool {
	_, ok := s.lists.Get(key)
	return ok
}

// guess is what the call with key and its calldata and sender likely
// reads, from the shape of a call like it, as an access list; false when
// no call like it ran.
func (s *shapes) guess(key common.Hash, input []byte, sender common.Address) (types.AccessList, bool) {
	b, ok := s.lists.Get(key)
	if !ok {
		return nil, false
	}
	var accounts []shapeAccount
	if json.Unmarshal(b, &accounts) != nil {
		return nil, false
	}
	from := common.BytesToHash(sender.Bytes())
	out := make(types.AccessList, 0, len(accounts))
	for _, a := range accounts {
		t := types.AccessTuple{Address: a.Address, StorageKeys: []common.Hash{}}
		for _, st := range a.Slots {
			if v, ok := st.eval(input, from, 0); ok {
				t.StorageKeys = append(t.StorageKeys, v)
			}
		}
		out = append(out, t)
	}
	return out, true
}

// eval computes the word t makes for a call with input and sender; false
// when the input is too short for it.
func (t *term) eval(input []byte, sender common.Hash, depth int) (common.Hash, bool) {
	switch {
	case depth > shapeDepth:
		return common.Hash{}, false
	case t.Const != nil:
		return *t.Const, true
	case t.Sender:
		return sender, true
	case t.Offset != nil:
		o := *t.Offset
		if o < 0 || o+32 > len(input) {
			return common.Hash{}, false
		}
		return common.BytesToHash(input[o : o+32]), true
	case t.Key != nil && t.Base != nil:
		k, ok := t.Key.eval(input, sender, depth+1)
		if !ok {
			return common.Hash{}, false
		}
		b, ok := t.Base.eval(input, sender, depth+1)
		if !ok {
			return common.Hash{}, false
		}
		return crypto.Keccak256Hash(k[:], b[:]), true
	}
	return common.Hash{}, false
}

// explainer finds how the words a call read were made.
type explainer struct {
	preimages map[common.Hash][]byte
	input     []byte
	sender    common.Hash
}

// slot explains a storage slot: a mapping's (keccak256 of a key and a
// base), else a constant. A slot hashed from something else (a string
// key, an array's element) has no shape: nil.
func (x explainer) slot(slot common.Hash) *term {
	if p, hashed := x.preimages[slot]; hashed {
		return x.hashed(p, 1)
	}
	return &term{Const: &slot}
}

// hashed explains keccak256(p): two words of 32 bytes (a key and a
// base, in Solidity's order or Vyper's); nil for another preimage or past
// shapeDepth.
func (x explainer) hashed(p []byte, depth int) *term {
	if len(p) != 64 || depth > shapeDepth {
		return nil
	}
	key := x.word(common.BytesToHash(p[:32]), depth)
	base := x.word(common.BytesToHash(p[32:]), depth)
	if key == nil || base == nil {
		return nil
	}
	return &term{Key: key, Base: base}
}

// smallWord bounds the words taken as constants whatever else holds
// them: a mapping's base slot is a small number, and so are many words of
// any calldata (offsets, lengths, zero padding) and a missing sender.
var smallWord = new(big.Int).Lsh(big.NewInt(1), 16)

// word explains one word of a preimage: a small number as a constant,
// else the sender, a hash (a mapping of mappings), a word of the
// calldata, else a constant.
func (x explainer) word(w common.Hash, depth int) *term {
	if w.Big().Cmp(smallWord) < 0 {
		return &term{Const: &w}
	}
	if w == x.sender {
		return &term{Sender: true}
	}
	if p, hashed := x.preimages[w]; hashed {
		if t := x.hashed(p, depth+1); t != nil {
			return t
		}
	}
	if i := bytes.Index(x.input, w[:]); i >= 0 {
		return &term{Offset: &i}
	}
	return &term{Const: &w}
}
