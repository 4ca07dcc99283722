package beaconsim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/beacon/types"
	"github.com/ethereum/go-ethereum/common"
	blsu "github.com/protolambda/bls12-381-util"
)

// curveOrder is r, the order of the BLS12-381 scalar field.
var curveOrder, _ = new(big.Int).SetString("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001", 16)

// committee is one sync period's 512 deterministic BLS keys.
type committee struct {
	keys [params.SyncCommitteeSize]*big.Int
	ser  types.SerializedSyncCommittee
	root common.Hash
	all  *blsu.SecretKey // sum of every key: signs for the full committee at once
}

// newCommittee derives the committee of a period from the seed. Key i is
// sha256(seed/period/i) mod r, so every run of the simulator has the same keys.
func newCommittee(seed string, period uint64) (*committee, error) {
	c := new(committee)
	sum := new(big.Int)
	for i := range c.keys {
		k := deriveKey(seed, period, uint64(i))
		c.keys[i] = k
		sum.Add(sum, k)
		sk, err := secretKey(k)
		if err != nil {
			return nil, err
		}
		pk, err := blsu.SkToPk(sk)
		if err != nil {
			return nil, err
		}
		b := pk.Serialize()
		copy(c.ser[i*params.BLSPubkeySize:], b[:])
	}
	all, err := secretKey(sum)
	if err != nil {
		return nil, err
	}
	c.all = all
	aggPk, err := blsu.SkToPk(all)
	if err != nil {
		return nil, err
	}
	b := aggPk.Serialize()
	copy(c.ser[params.SyncCommitteeSize*params.BLSPubkeySize:], b[:])
	c.root = c.ser.Root()
	return c, nil
}

func deriveKey(seed string, period, i uint64) *big.Int {
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], period)
	binary.BigEndian.PutUint64(buf[8:], i)
	h := sha256.Sum256(append([]byte(seed+"/"), buf[:]...))
	k := new(big.Int).SetBytes(h[:])
	k.Mod(k, curveOrder)
	if k.Sign() == 0 {
		k.SetInt64(1)
	}
	return k
}

// secretKey turns a scalar into a BLS secret key (reduced mod r).
func secretKey(k *big.Int) (*blsu.SecretKey, error) {
	var b [32]byte
	new(big.Int).Mod(k, curveOrder).FillBytes(b[:])
	sk := new(blsu.SecretKey)
	if err := sk.Deserialize(&b); err != nil {
		return nil, fmt.Errorf("beaconsim: secret key: %w", err)
	}
	return sk, nil
}

// sign returns the sync aggregate of the first n members over msg. BLS
// signatures are linear, so the aggregate of n signatures over one message
// is one signature by the sum of the n keys: one pairing-free Sign per head
// instead of 512. With forge set, the key is off by one: the bitmask claims
// the members, but the signature is not theirs.
func (c *committee) sign(msg []byte, n int, forge bool) (types.SyncAggregate, error) {
	var agg types.SyncAggregate
	if n <= 0 || n > params.SyncCommitteeSize {
		n = params.SyncCommitteeSize
	}
	sk := c.all
	if n < params.SyncCommitteeSize || forge {
		sum := new(big.Int)
		for i := 0; i < n; i++ {
			sum.Add(sum, c.keys[i])
		}
		if forge {
			sum.Add(sum, big.NewInt(1))
		}
		var err error
		if sk, err = secretKey(sum); err != nil {
			return agg, err
		}
	}
	for i := 0; i < n; i++ {
		agg.Signers[i/8] |= 1 << (i % 8)
	}
	agg.Signature = blsu.Sign(sk, msg).Serialize()
	return agg, nil
}
