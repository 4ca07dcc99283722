package beaconsim

import (
	"crypto/sha256"
	"math/bits"

	"github.com/ethereum/go-ethereum/beacon/merkle"
	"github.com/ethereum/go-ethereum/common"
)

// tree is a sparse binary Merkle tree given by its known leaves, keyed by
// generalized index. Every subtree without a known leaf hashes to the zero
// value: the simulator only needs roots and branches that go-ethereum's
// merkle.VerifyProof accepts, not the full SSZ layout of a beacon state.
type tree map[uint64]merkle.Value

// root returns the tree's root hash.
func (t tree) root() common.Hash { return common.Hash(t.node(1)) }

// branch returns the proof of the leaf at index, from the leaf's sibling up.
func (t tree) branch(index uint64) merkle.Values {
	var out merkle.Values
	for g := index; g > 1; g >>= 1 {
		out = append(out, t.node(g^1))
	}
	return out
}

func (t tree) node(g uint64) merkle.Value {
	if v, ok := t[g]; ok {
		return v
	}
	if !t.hasLeafBelow(g) {
		return merkle.Value{}
	}
	left, right := t.node(2*g), t.node(2*g+1)
	h := sha256.New()
	h.Write(left[:])
	h.Write(right[:])
	var out merkle.Value
	h.Sum(out[:0])
	return out
}

func (t tree) hasLeafBelow(g uint64) bool {
	depth := bits.Len64(g)
	for leaf := range t {
		d := bits.Len64(leaf) - depth
		if d > 0 && leaf>>d == g {
			return true
		}
	}
	return false
}
