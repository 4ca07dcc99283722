package beaconsim

import (
	"encoding/json"
	"strconv"

	"github.com/attestantio/go-eth2-client/spec/deneb"
	"github.com/ethereum/go-ethereum/beacon/merkle"
	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/beacon/types"
	"github.com/ethereum/go-ethereum/common"
)

// The JSON shapes of the beacon API's light-client objects (consensus-specs
// sync-protocol, beacon-APIs): slots as decimal strings, roots and branches
// as 0x-hex strings.

type envelope struct {
	Version string `json:"version"`
	Data    any    `json:"data"`
}

// beaconHeader is types.Header as the beacon API spells it: go-ethereum's
// generated MarshalJSON writes the slot as a number, the API as a string.
type beaconHeader struct {
	Slot          string      `json:"slot"`
	ProposerIndex string      `json:"proposer_index"`
	ParentRoot    common.Hash `json:"parent_root"`
	StateRoot     common.Hash `json:"state_root"`
	BodyRoot      common.Hash `json:"body_root"`
}

func jsonHeader(h types.Header) beaconHeader {
	return beaconHeader{Slot: decimal(h.Slot), ProposerIndex: decimal(h.ProposerIndex), ParentRoot: h.ParentRoot, StateRoot: h.StateRoot, BodyRoot: h.BodyRoot}
}

type lcHeader struct {
	Beacon          beaconHeader                  `json:"beacon"`
	Execution       *deneb.ExecutionPayloadHeader `json:"execution"`
	ExecutionBranch []common.Hash                 `json:"execution_branch"`
}

type optimisticData struct {
	Attested      lcHeader            `json:"attested_header"`
	Aggregate     types.SyncAggregate `json:"sync_aggregate"`
	SignatureSlot string              `json:"signature_slot"`
}

type finalityData struct {
	Attested       lcHeader            `json:"attested_header"`
	Finalized      lcHeader            `json:"finalized_header"`
	FinalityBranch []common.Hash       `json:"finality_branch"`
	Aggregate      types.SyncAggregate `json:"sync_aggregate"`
	SignatureSlot  string              `json:"signature_slot"`
}

type bootstrapData struct {
	Header          lcHeader                       `json:"header"`
	Committee       *types.SerializedSyncCommittee `json:"current_sync_committee"`
	CommitteeBranch []common.Hash                  `json:"current_sync_committee_branch"`
}

type updateData struct {
	Attested            lcHeader                       `json:"attested_header"`
	NextCommittee       *types.SerializedSyncCommittee `json:"next_sync_committee"`
	NextCommitteeBranch []common.Hash                  `json:"next_sync_committee_branch"`
	Finalized           *lcHeader                      `json:"finalized_header,omitempty"`
	FinalityBranch      []common.Hash                  `json:"finality_branch,omitempty"`
	Aggregate           types.SyncAggregate            `json:"sync_aggregate"`
	SignatureSlot       string                         `json:"signature_slot"`
}

type headerResponse struct {
	Optimistic bool `json:"execution_optimistic"`
	Finalized  bool `json:"finalized"`
	Data       struct {
		Root      common.Hash `json:"root"`
		Canonical bool        `json:"canonical"`
		Header    struct {
			Message   beaconHeader `json:"message"`
			Signature string       `json:"signature"`
		} `json:"header"`
	} `json:"data"`
}

func hexes(v merkle.Values) []common.Hash {
	out := make([]common.Hash, len(v))
	for i := range v {
		out[i] = common.Hash(v[i])
	}
	return out
}

func (b *block) lcHeader() lcHeader {
	return lcHeader{Beacon: jsonHeader(b.header), Execution: b.exec, ExecutionBranch: hexes(b.execBranch)}
}

func decimal(n uint64) string { return strconv.FormatUint(n, 10) }

func (b *block) optimistic(agg types.SyncAggregate) envelope {
	return envelope{Version: b.fork, Data: optimisticData{Attested: b.lcHeader(), Aggregate: agg, SignatureSlot: decimal(b.sigSlot)}}
}

func (b *block) finality(agg types.SyncAggregate) envelope {
	return envelope{Version: b.fork, Data: finalityData{
		Attested:       b.lcHeader(),
		Finalized:      b.finalized.lcHeader(),
		FinalityBranch: hexes(b.branch(params.StateIndexFinalBlock(b.fork))),
		Aggregate:      agg,
		SignatureSlot:  decimal(b.sigSlot),
	}}
}

func (b *block) bootstrap(c *committee) envelope {
	return envelope{Version: b.fork, Data: bootstrapData{
		Header:          b.lcHeader(),
		Committee:       &c.ser,
		CommitteeBranch: hexes(b.branch(params.StateIndexSyncCommittee(b.fork))),
	}}
}

func (b *block) update(next *committee, agg types.SyncAggregate) envelope {
	d := updateData{
		Attested:            b.lcHeader(),
		NextCommittee:       &next.ser,
		NextCommitteeBranch: hexes(b.branch(params.StateIndexNextSyncCommittee(b.fork))),
		Aggregate:           agg,
		SignatureSlot:       decimal(b.sigSlot),
	}
	if f := b.finalized; f != nil && types.SyncPeriod(f.header.Slot) == types.SyncPeriod(b.header.Slot) {
		h := f.lcHeader()
		d.Finalized, d.FinalityBranch = &h, hexes(b.branch(params.StateIndexFinalBlock(b.fork)))
	}
	return envelope{Version: b.fork, Data: d}
}

func (b *block) headerResponse(finalized bool) headerResponse {
	var r headerResponse
	r.Finalized = finalized
	r.Data.Root, r.Data.Canonical = b.root, true
	r.Data.Header.Message = jsonHeader(b.header)
	r.Data.Header.Signature = "0x" + zeroSignatureHex
	return r
}

// zeroSignatureHex stands for the proposer's signature, which light clients
// do not check.
var zeroSignatureHex = string(make96Zeros())

func make96Zeros() []byte {
	out := make([]byte, 2*params.BLSSignatureSize)
	for i := range out {
		out[i] = '0'
	}
	return out
}

func mustJSON(v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		panic(err) // only the simulator's own fixed shapes get here
	}
	return out
}
