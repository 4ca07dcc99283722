package trust

import (
	"encoding/json"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/verify"
)

// Verified is told of the block content the reader verified while
// answering clients, so a history store can keep it (internal/archive):
// bodies whose transactions, withdrawals and uncles rebuild their header's
// roots, and receipts that rebuild its receipts root. Its methods must not
// block the read, and must not change what they are given.
type Verified interface {
	VerifiedBody(h *types.Header, body *types.Body)
	VerifiedReceipts(h *types.Header, receipts types.Receipts)
}

// keepSlot holds the reader's Verified hook (atomic: it is set at wiring,
// after New, and read on every verified body and receipts list).
type keepSlot struct{ v atomic.Pointer[Verified] }

// KeepVerified hands every body and receipts list the reader verifies from
// now on to v (nil: to nobody).
func (r *Reader) KeepVerified(v Verified) {
	if v == nil {
		r.keep.v.Store(nil)
		return
	}
	r.keep.v.Store(&v)
}

func (s *keepSlot) get() Verified {
	if p := s.v.Load(); p != nil {
		return *p
	}
	return nil
}

// keptBody hands the whole body of a verified full-block answer to the
// hook: txs (verified against h) with the answer's withdrawals, checked
// with verify.CheckBody. A block with uncles is not handed on: the answer
// names its uncles by hash only, and fetching them would be an upstream
// call the client's read did not need.
func (r *Reader) keptBody(h *types.Header, txs []*types.Transaction, answer json.RawMessage) {
	k := r.keep.get()
	if k == nil || h.UncleHash != types.EmptyUncleHash {
		return
	}
	var extra struct {
		Withdrawals []*types.Withdrawal `json:"withdrawals"`
		Uncles      []common.Hash       `json:"uncles"`
	}
	if json.Unmarshal(answer, &extra) != nil || len(extra.Uncles) > 0 {
		return
	}
	body := &types.Body{Transactions: txs, Withdrawals: extra.Withdrawals}
	if h.WithdrawalsHash != nil && body.Withdrawals == nil {
		body.Withdrawals = []*types.Withdrawal{}
	}
	if verify.CheckBody(h, body) != nil {
		return
	}
	k.VerifiedBody(h, body)
}

// keptReceipts hands verified receipts to the hook.
func (r *Reader) keptReceipts(h *types.Header, rs []*types.Receipt) {
	if k := r.keep.get(); k != nil {
		k.VerifiedReceipts(h, rs)
	}
}
