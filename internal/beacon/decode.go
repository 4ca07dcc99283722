package beacon

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/attestantio/go-eth2-client/spec/capella"
	"github.com/attestantio/go-eth2-client/spec/deneb"
	"github.com/ethereum/go-ethereum/beacon/light/api"
	"github.com/ethereum/go-ethereum/beacon/merkle"
	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/beacon/types"
	"github.com/ethereum/go-ethereum/common"
)

// What braid decodes itself. go-ethereum's API client drops the execution
// block number and its decoders are unexported, so braid reads the
// light-client objects with go-ethereum's exported types (types.Header,
// SyncAggregate, SerializedSyncCommittee, merkle.Values,
// api.CommitteeUpdate) and checks them with go-ethereum's Validate methods.

var (
	errUnknownFork  = errors.New("fork unknown to the network configuration")
	errForkMismatch = errors.New("fork does not match the network configuration at this slot")
)

// numberedProof is go-ethereum's pre-Gloas execution proof plus the block
// number read from the same payload header: the header's SSZ root, which
// the proof ties to the signed beacon header, commits to the number too.
type numberedProof struct {
	*types.LegacyHeaderProof
	number uint64
}

// blockNumber returns the execution block number a proof commits to; Gloas
// proofs commit only to the hash (ok = false).
func blockNumber(p types.ExecutionProof) (uint64, bool) {
	if np, ok := p.(*numberedProof); ok {
		return np.number, true
	}
	return 0, false
}

// lcHeader is a LightClientHeader: the beacon header and the fork's
// execution proof.
type lcHeader struct {
	Beacon             types.Header    `json:"beacon"`
	Execution          json.RawMessage `json:"execution"`
	ExecutionBlockHash common.Hash     `json:"execution_block_hash"`
	ExecutionBranch    merkle.Values   `json:"execution_branch"`
}

// withProof decodes the execution part as the fork lays it out.
func (h *lcHeader) withProof(fork string) (types.HeaderWithExecProof, error) {
	out := types.HeaderWithExecProof{Header: h.Beacon}
	switch fork {
	case "capella":
		var e capella.ExecutionPayloadHeader
		if err := json.Unmarshal(h.Execution, &e); err != nil {
			return out, fmt.Errorf("execution payload header: %w", err)
		}
		if _, err := e.HashTreeRoot(); err != nil {
			return out, fmt.Errorf("execution payload header: %w", err)
		}
		out.Proof = &numberedProof{&types.LegacyHeaderProof{PayloadHeader: types.NewExecutionHeader(&e), Branch: h.ExecutionBranch}, e.BlockNumber}
	case "deneb", "electra", "fulu":
		var e deneb.ExecutionPayloadHeader
		if err := json.Unmarshal(h.Execution, &e); err != nil {
			return out, fmt.Errorf("execution payload header: %w", err)
		}
		if _, err := e.HashTreeRoot(); err != nil { // NewExecutionHeader panics on this error
			return out, fmt.Errorf("execution payload header: %w", err)
		}
		out.Proof = &numberedProof{&types.LegacyHeaderProof{PayloadHeader: types.NewExecutionHeader(&e), Branch: h.ExecutionBranch}, e.BlockNumber}
	case "genesis", "phase0", "altair", "bellatrix":
		return out, fmt.Errorf("fork %s has no execution payload in light-client headers", fork)
	default: // Gloas and later: only the execution block hash is proven
		out.Proof = &types.GloasExecutionProof{ExecutionBlockHash: h.ExecutionBlockHash, Branch: h.ExecutionBranch}
	}
	return out, nil
}

// versioned is the {version, data} envelope of beacon API answers.
type versioned struct {
	Version string          `json:"version"`
	Data    json.RawMessage `json:"data"`
}

type optimisticJSON struct {
	Attested      lcHeader            `json:"attested_header"`
	Aggregate     types.SyncAggregate `json:"sync_aggregate"`
	SignatureSlot common.Decimal      `json:"signature_slot"`
}

type finalityJSON struct {
	Attested       lcHeader            `json:"attested_header"`
	Finalized      lcHeader            `json:"finalized_header"`
	FinalityBranch merkle.Values       `json:"finality_branch"`
	Aggregate      types.SyncAggregate `json:"sync_aggregate"`
	SignatureSlot  common.Decimal      `json:"signature_slot"`
}

// unwrap returns the data and the fork it is laid out for. Some servers
// send events without the envelope; their fork follows from the slot.
func (n *spec) unwrap(enc []byte, slotOf func([]byte) (uint64, bool)) (string, []byte, error) {
	var v versioned
	if err := json.Unmarshal(enc, &v); err != nil {
		return "", nil, err
	}
	data := []byte(v.Data)
	if len(data) == 0 || string(data) == "null" {
		data = enc
	}
	slot, ok := slotOf(data)
	if !ok {
		return "", nil, errors.New("no attested slot")
	}
	want := n.chain.ForkNameAtSlot(slot)
	switch {
	case v.Version == "":
		return want, data, nil
	case !n.knows(v.Version):
		return "", nil, fmt.Errorf("%w: endpoint reports %q", errUnknownFork, v.Version)
	case v.Version != want:
		return "", nil, fmt.Errorf("%w: endpoint reports %q at slot %d, configuration says %q", errForkMismatch, v.Version, slot, want)
	}
	return v.Version, data, nil
}

func attestedSlot(data []byte) (uint64, bool) {
	var s struct {
		Attested struct {
			Beacon struct {
				Slot common.Decimal `json:"slot"`
			} `json:"beacon"`
		} `json:"attested_header"`
	}
	if json.Unmarshal(data, &s) != nil {
		return 0, false
	}
	return uint64(s.Attested.Beacon.Slot), true
}

func checkAggregate(a types.SyncAggregate) error {
	// SyncAggregate's decoder requires both fields at their exact sizes; an
	// all-zero signature means the field was missing.
	if a.Signature == ([params.BLSSignatureSize]byte{}) {
		return errors.New("missing sync_committee_signature")
	}
	return nil
}

// decodeOptimistic reads an optimistic update (an API answer or an event).
func (n *spec) decodeOptimistic(enc []byte) (types.OptimisticUpdate, error) {
	fork, data, err := n.unwrap(enc, attestedSlot)
	if err != nil {
		return types.OptimisticUpdate{}, err
	}
	var d optimisticJSON
	if err := json.Unmarshal(data, &d); err != nil {
		return types.OptimisticUpdate{}, err
	}
	attested, err := d.Attested.withProof(fork)
	if err != nil {
		return types.OptimisticUpdate{}, fmt.Errorf("attested header: %w", err)
	}
	if err := checkAggregate(d.Aggregate); err != nil {
		return types.OptimisticUpdate{}, err
	}
	return types.OptimisticUpdate{Attested: attested, Signature: d.Aggregate, SignatureSlot: uint64(d.SignatureSlot)}, nil
}

// decodeFinality reads a finality update (an API answer or an event).
func (n *spec) decodeFinality(enc []byte) (types.FinalityUpdate, error) {
	fork, data, err := n.unwrap(enc, attestedSlot)
	if err != nil {
		return types.FinalityUpdate{}, err
	}
	var d finalityJSON
	if err := json.Unmarshal(data, &d); err != nil {
		return types.FinalityUpdate{}, err
	}
	attested, err := d.Attested.withProof(fork)
	if err != nil {
		return types.FinalityUpdate{}, fmt.Errorf("attested header: %w", err)
	}
	// The finalized header is laid out as the attested one's fork says.
	finalized, err := d.Finalized.withProof(fork)
	if err != nil {
		return types.FinalityUpdate{}, fmt.Errorf("finalized header: %w", err)
	}
	if err := checkAggregate(d.Aggregate); err != nil {
		return types.FinalityUpdate{}, err
	}
	return types.FinalityUpdate{
		Version:        fork,
		Attested:       attested,
		Finalized:      finalized,
		FinalityBranch: d.FinalityBranch,
		Signature:      d.Aggregate,
		SignatureSlot:  uint64(d.SignatureSlot),
	}, nil
}

// decodeBootstrap reads the bootstrap of checkpoint root and checks its
// committee proof.
func (n *spec) decodeBootstrap(enc []byte, root common.Hash) (*types.BootstrapData, error) {
	var v versioned
	if err := json.Unmarshal(enc, &v); err != nil {
		return nil, err
	}
	var d struct {
		Header          lcHeader                       `json:"header"`
		Committee       *types.SerializedSyncCommittee `json:"current_sync_committee"`
		CommitteeBranch merkle.Values                  `json:"current_sync_committee_branch"`
	}
	if err := json.Unmarshal(v.Data, &d); err != nil {
		return nil, err
	}
	if d.Committee == nil {
		return nil, errors.New("bootstrap has no sync committee")
	}
	if got := d.Header.Beacon.Hash(); got != root {
		return nil, fmt.Errorf("bootstrap header is %s, not the checkpoint %s", got, root)
	}
	b := &types.BootstrapData{
		Version:         v.Version,
		Header:          d.Header.Beacon,
		CommitteeRoot:   d.Committee.Root(),
		Committee:       d.Committee,
		CommitteeBranch: d.CommitteeBranch,
	}
	if err := b.Validate(n.chain); err != nil {
		return nil, fmt.Errorf("bootstrap committee proof: %w", err)
	}
	return b, nil
}

// decodeUpdates reads count committee updates from firstPeriod on, checked
// as go-ethereum's client checks them (the signatures are the committee
// chain's to verify).
func (n *spec) decodeUpdates(enc []byte, firstPeriod, count uint64) ([]*types.LightClientUpdate, []*types.SerializedSyncCommittee, error) {
	var list []api.CommitteeUpdate
	if err := json.Unmarshal(enc, &list); err != nil {
		return nil, nil, err
	}
	if uint64(len(list)) != count {
		return nil, nil, fmt.Errorf("%d committee updates, asked for %d", len(list), count)
	}
	cfg := n.chain
	updates := make([]*types.LightClientUpdate, count)
	committees := make([]*types.SerializedSyncCommittee, count)
	for i := range list {
		u, c := list[i].Update, list[i].NextSyncCommittee
		if u.AttestedHeader.Header.SyncPeriod() != firstPeriod+uint64(i) {
			return nil, nil, errors.New("committee update for the wrong period")
		}
		if err := u.Validate(cfg); err != nil {
			return nil, nil, fmt.Errorf("committee update: %w", err)
		}
		if c.Root() != u.NextSyncCommitteeRoot {
			return nil, nil, errors.New("committee update: wrong next committee")
		}
		updates[i], committees[i] = &u, &c
	}
	return updates, committees, nil
}

// decodeHeader reads a beacon header answer and checks it is the one asked
// for (root zero: the head, whichever it is). Canonical and finalized are
// the server's word, unverified, as go-ethereum treats them.
func decodeHeader(enc []byte, root common.Hash) (types.Header, bool, bool, error) {
	var d struct {
		Finalized bool `json:"finalized"`
		Data      struct {
			Root      common.Hash `json:"root"`
			Canonical bool        `json:"canonical"`
			Header    struct {
				Message types.Header `json:"message"`
			} `json:"header"`
		} `json:"data"`
	}
	if err := json.Unmarshal(enc, &d); err != nil {
		return types.Header{}, false, false, err
	}
	if root == (common.Hash{}) {
		root = d.Data.Root
	}
	h := d.Data.Header.Message
	if h.Hash() != root {
		return types.Header{}, false, false, errors.New("beacon header does not hash to its root")
	}
	return h, d.Data.Canonical, d.Finalized, nil
}
