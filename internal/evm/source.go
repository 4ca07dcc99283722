package evm

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/verify"
)

// Query asks for one account at the pinned block: its proof, with the
// storage slots listed, and its code when Code is set.
type Query struct {
	Address common.Address
	Slots   []common.Hash
	Code    bool
}

// Proven is the checked answer to one Query.
type Proven struct {
	// Account is proven against the block's state root, with every slot
	// the query listed in Account.Storage.
	Account *verify.Account
	// Code is the account's code when the query asked for it, checked
	// against Account.CodeHash (empty for an account without code).
	Code []byte
}

// Source is where the executor gets proven state. The trust stage
// implements it over its operators: it pins every request to block's hash,
// checks every answer (verify.VerifyProof against block.Root,
// verify.VerifyCode against the proven code hash), fails over to another
// operator when an answer fails its check and strikes the operator that
// gave it. An error from a Source means no operator could give a proven
// answer; the executor then fails the call with a *StateError.
//
// Each method call should cost one upstream round trip: Proofs sends its
// eth_getProof and eth_getCode requests as one batch (split into parallel
// chunks if an operator limits batches). A Source must be safe for
// concurrent use: a call new to the executor asks for the access-list
// hint and for its guessed batch at the same time, and calls on different
// blocks may run at once.
type Source interface {
	// Proofs answers the queries at block, in order: one Proven per
	// Query, with the same address.
	Proofs(ctx context.Context, block *types.Header, queries []Query) ([]Proven, error)

	// Code returns address's code at block, checked against codeHash.
	Code(ctx context.Context, block *types.Header, address common.Address, codeHash common.Hash) ([]byte, error)

	// AccessList asks one operator for eth_createAccessList of args at
	// block (with the state overrides, nil for none). The answer is a hint
	// of what the call touches and is not checked: it may be wrong or
	// incomplete, which costs round trips, never correctness. An error
	// only means there is no hint.
	AccessList(ctx context.Context, block *types.Header, args *TransactionArgs, overrides StateOverride) (types.AccessList, error)

	// BlockHashes returns the proven hashes of block's ancestors at numbers
	// (each below block.Number), for BLOCKHASH where block's own state
	// cannot tell: before Prague, or where the EIP-2935 history contract
	// holds nothing yet. The trust stage walks parent hashes back from
	// block or proves the history contract's storage at a later trusted
	// block.
	BlockHashes(ctx context.Context, block *types.Header, numbers []uint64) ([]common.Hash, error)
}

// TipSuggester is implemented by a Source that can suggest a priority fee
// (eth_maxPriorityFeePerGas; the operators' median, unproven). Only
// eth_createAccessList needs one, as geth's does: when a call sets some
// fee fields but not maxPriorityFeePerGas (or, before London, no
// gasPrice). Without it such a call is refused with a message saying so.
type TipSuggester interface {
	SuggestGasTipCap(ctx context.Context) (*big.Int, error)
}

// Stats counts what a call asked of its Source. Every Source call is one
// upstream round trip by the Source contract, so RoundTrips is the call's
// latency budget in round trips (with the header cached).
type Stats struct {
	AccessLists int // eth_createAccessList hints asked for
	Batches     int // Proofs calls (one batch each)
	Codes       int // Code calls
	BlockHashes int // BlockHashes calls
	Accounts    int // accounts proven
	Slots       int // storage slots proven
	CodeBytes   int // bytes of code fetched
	Misses      int // Source calls made on demand, after the prefetch
	// Overlapped counts Source calls made while another of the call's was
	// in flight (the access-list hint alongside the guessed batch): they
	// cost the providers work, not the call time.
	Overlapped int
}

// RoundTrips is the number of Source calls: upstream round trips.
func (s Stats) RoundTrips() int { return s.AccessLists + s.Batches + s.Codes + s.BlockHashes }

// Sequential is the number of round trips the call waited for one after
// another: its latency in round trips (with the header cached).
func (s Stats) Sequential() int { return s.RoundTrips() - s.Overlapped }
