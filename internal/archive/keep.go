package archive

import (
	"context"
	"errors"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/verify"
)

// This file keeps what braid verified while serving clients (issue 15
// item 4): the verified reader (internal/trust) hands every block body and
// receipts list it checked for a client's read to Keep; a goroutine of the
// archive writes them to the store in the order they came, so a later read
// of the same block, once the providers pruned it, is answered from the
// store. Nothing is fetched for it: what the reader did not fetch is not
// kept. The queue is bounded (keepQueue): under a burst the newest are
// dropped, never the reader slowed; the store's byte bound decides the rest
// (a full store refuses, history.ErrFull).

// keepQueue bounds the verified content waiting to be written.
const keepQueue = 256

// kept is one verified part: a body (receipts nil) or receipts.
type kept struct {
	header   *types.Header
	body     *types.Body
	receipts types.Receipts
}

// keeper writes verified content to the store in the background.
type keeper struct {
	a     *Archive
	queue chan kept
}

func newKeeper(a *Archive) *keeper { return &keeper{a: a, queue: make(chan kept, keepQueue)} }

// VerifiedBody is told of a body the verified reader checked against its
// header h (transactions, withdrawals and uncles). It does not block.
func (a *Archive) VerifiedBody(h *types.Header, body *types.Body) {
	if a != nil && h != nil && body != nil {
		a.kept.offer(kept{header: h, body: body})
	}
}

// VerifiedReceipts is told of receipts the verified reader checked against
// their block's header h and transactions. It does not block.
func (a *Archive) VerifiedReceipts(h *types.Header, receipts types.Receipts) {
	if a != nil && h != nil && receipts != nil {
		a.kept.offer(kept{header: h, receipts: receipts})
	}
}

func (k *keeper) offer(v kept) {
	select {
	case k.queue <- v:
	default:
		k.a.log.Debug("history: keep queue full, a verified part is not kept", "block", v.header.Number)
	}
}

// run writes queued content until ctx ends.
func (k *keeper) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case v := <-k.queue:
			if err := k.write(v); err != nil && !errors.Is(err, history.ErrFull) && !errors.Is(err, history.ErrClosed) {
				k.a.log.Warn("history: keeping verified content failed", "block", v.header.Number, "err", err)
			}
		}
	}
}

// write stores one verified part; the store checks it again against the
// header (a receipts list waits for its body: without it the store
// refuses, history.ErrNoBody, and it is dropped).
func (k *keeper) write(v kept) error {
	s := k.a.store
	hash := v.header.Hash()
	if !s.Has(hash, history.HeaderPart) {
		if err := s.PutHeader(v.header); err != nil {
			return err
		}
	}
	if v.body != nil {
		return s.PutBody(hash, v.body)
	}
	if !s.Has(hash, history.BodyPart) || s.Has(hash, history.ReceiptsPart) {
		return nil
	}
	raw, err := rlp.EncodeToBytes(v.receipts)
	if err != nil {
		return err
	}
	return s.PutReceiptsRLP(hash, raw, verify.ReceiptsConsensus)
}
