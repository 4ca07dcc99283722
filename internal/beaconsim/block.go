package beaconsim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/attestantio/go-eth2-client/spec/deneb"
	"github.com/ethereum/go-ethereum/beacon/merkle"
	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/beacon/types"
	"github.com/ethereum/go-ethereum/common"
	ctypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
)

// block is one simulated beacon block with everything its light-client
// objects need.
type block struct {
	header     types.Header
	root       common.Hash
	fork       string
	exec       *deneb.ExecutionPayloadHeader
	execBranch merkle.Values
	finalized  *block // nil for the anchor, which has no finality proof
	state      tree
	agg        types.SyncAggregate // the honest committee's signature
	sigSlot    uint64
}

// Generalized indices in an Electra/Fulu beacon state, and of the slot leaf
// that makes every simulated state distinct.
const (
	stateSlotLeaf = 66
	bodyRandao    = 16
)

// executionHeader is the deneb-format payload header of an execution block.
func executionHeader(h *ctypes.Header) (*deneb.ExecutionPayloadHeader, error) {
	if len(h.Extra) > 32 {
		return nil, fmt.Errorf("beaconsim: extra data of block %d is %d bytes, over 32", h.Number, len(h.Extra))
	}
	e := &deneb.ExecutionPayloadHeader{
		BlockNumber:   h.Number.Uint64(),
		GasLimit:      h.GasLimit,
		GasUsed:       h.GasUsed,
		Timestamp:     h.Time,
		ExtraData:     append([]byte{}, h.Extra...),
		BaseFeePerGas: new(uint256.Int),
	}
	copy(e.ParentHash[:], h.ParentHash[:])
	copy(e.FeeRecipient[:], h.Coinbase[:])
	copy(e.StateRoot[:], h.Root[:])
	copy(e.ReceiptsRoot[:], h.ReceiptHash[:])
	copy(e.LogsBloom[:], h.Bloom[:])
	copy(e.PrevRandao[:], h.MixDigest[:])
	hash := h.Hash()
	copy(e.BlockHash[:], hash[:])
	copy(e.TransactionsRoot[:], h.TxHash[:])
	if h.BaseFee != nil {
		e.BaseFeePerGas.SetFromBig(h.BaseFee)
	}
	if h.WithdrawalsHash != nil {
		copy(e.WithdrawalsRoot[:], h.WithdrawalsHash[:])
	}
	if h.BlobGasUsed != nil {
		e.BlobGasUsed = *h.BlobGasUsed
	}
	if h.ExcessBlobGas != nil {
		e.ExcessBlobGas = *h.ExcessBlobGas
	}
	return e, nil
}

// buildBlock assembles the beacon block at slot over the execution header,
// with its state committing to the committees and the finalized checkpoint.
func (s *Sim) buildBlock(slot uint64, parent common.Hash, exec *deneb.ExecutionPayloadHeader, finalized *block) (*block, error) {
	payloadRoot, err := exec.HashTreeRoot()
	if err != nil {
		return nil, fmt.Errorf("beaconsim: payload root: %w", err)
	}
	period := types.SyncPeriod(slot)
	cur, err := s.committee(period)
	if err != nil {
		return nil, err
	}
	next, err := s.committee(period + 1)
	if err != nil {
		return nil, err
	}
	b := &block{fork: s.chain.ForkNameAtSlot(slot), exec: exec, finalized: finalized, sigSlot: slot + 1}
	body := tree{params.BodyIndexExecPayload: payloadRoot, bodyRandao: slotValue(slot, "randao")}
	b.execBranch = body.branch(params.BodyIndexExecPayload)
	b.state = tree{
		params.StateIndexSyncCommittee(b.fork):     merkle.Value(cur.root),
		params.StateIndexNextSyncCommittee(b.fork): merkle.Value(next.root),
		stateSlotLeaf: slotValue(slot, "state"),
	}
	b.header = types.Header{Slot: slot, ProposerIndex: slot % 1024, ParentRoot: parent, BodyRoot: body.root()}
	if finalized != nil {
		b.state[params.StateIndexFinalBlock(b.fork)] = merkle.Value(finalized.root)
	}
	b.header.StateRoot = b.state.root()
	b.root = b.header.Hash()
	if b.agg, err = s.signBlock(b, 0, false); err != nil {
		return nil, err
	}
	return b, nil
}

// signBlock signs b's header with the committee of its signature slot: n
// signers (0 = all), forged or not.
func (s *Sim) signBlock(b *block, n int, forge bool) (types.SyncAggregate, error) {
	c, err := s.committee(types.SyncPeriod(b.sigSlot))
	if err != nil {
		return types.SyncAggregate{}, err
	}
	signingRoot, err := s.chain.Forks.SigningRoot(b.header.Epoch(), b.root)
	if err != nil {
		return types.SyncAggregate{}, fmt.Errorf("beaconsim: signing root: %w", err)
	}
	return c.sign(signingRoot[:], n, forge)
}

func slotValue(slot uint64, tag string) merkle.Value {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], slot)
	return merkle.Value(sha256.Sum256(append([]byte(tag), buf[:]...)))
}

// branch proves one leaf of b's state.
func (b *block) branch(index uint64) merkle.Values { return b.state.branch(index) }
