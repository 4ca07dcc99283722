package archive

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// AgreedHeaders give the header of a block number as the network's quorum
// of operators agrees on it: K distinct operators answering the same
// header, checked to hash to the hash they agree on. Only a network under
// a quorum and not in strict mode has them (strict mode stays proof-only);
// they never come from a peer.
type AgreedHeaders interface {
	AgreedHeader(ctx context.Context, number uint64) (*types.Header, error)
}

// agreedCanonical is the canonical hash of a finalized block number that
// braid's proofs do not reach, as the operators' quorum agrees on its
// header (Options.Agreed). The header is kept in the store, so the block's
// content can be checked against it. Operators that do not agree make it
// an *unsettledError: the client is told, rather than given the providers'
// pruned answer.
func (a *Archive) agreedCanonical(ctx context.Context, number uint64, proofErr error) (common.Hash, error) {
	if a.agreed == nil {
		return common.Hash{}, proofErr
	}
	h, err := a.agreed.AgreedHeader(ctx, number)
	if err != nil {
		return common.Hash{}, &unsettledError{number: number, proof: proofErr, quorum: err}
	}
	if err := a.keepAgreed(h); err != nil && !errors.Is(err, history.ErrFull) {
		a.log.Warn("history: keeping an agreed header failed", "block", number, "err", err)
	}
	return h.Hash(), nil
}

// keepAgreed stores the agreed header h and records it as its number's
// canonical block, agreed.
func (a *Archive) keepAgreed(h *types.Header) error {
	hash := h.Hash()
	if !a.store.Has(hash, history.HeaderPart) {
		if err := a.store.PutHeader(h); err != nil {
			return err
		}
	}
	return a.store.SetCanonical(h.Number.Uint64(), hash, history.Agreed)
}

// unsettledError: a block number neither braid's proofs nor the operators'
// quorum settle; its JSON-RPC code is the quorum's (a dispute or a
// shortfall), else "unavailable".
type unsettledError struct {
	number        uint64
	proof, quorum error
}

func (e *unsettledError) Error() string {
	return fmt.Sprintf("history: the canonical block %d is beyond braid's proofs (%v) and the operators do not agree on its header: %v",
		e.number, e.proof, e.quorum)
}

func (e *unsettledError) Unwrap() []error { return []error{e.proof, e.quorum} }

// rpcError is the error the client gets.
func (e *unsettledError) rpcError() *jsonrpc.Error {
	out := &jsonrpc.Error{Code: jsonrpc.CodeUnavailable, Message: e.Error()}
	var c jsonrpc.Coder
	if errors.As(e.quorum, &c) {
		out.Code = c.ErrorCode()
		if dc, ok := c.(jsonrpc.DataCoder); ok {
			if d := dc.ErrorData(); d != nil {
				out = out.WithData(d)
			}
		}
	}
	return out
}
