package peers

import (
	"errors"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/verify"
)

// Check judges fetched content against what the caller trusts (a header
// from braid's trusted path, never from a peer): nil accepts it. An error
// that IsLie is the peer's lie: the data is dropped, the lie recorded and
// the next holder asked. Any other error is the caller's own (a store that
// is full, a closed database) and ends the fetch with it, blaming nobody.
//
// A history store's PutBodyRLP and PutReceiptsRLP (with
// verify.ReceiptsStorage, the encoding Receipts travel in) make good
// checks once the block's header is stored: they verify the content
// against it and keep it in one step.
type Check func(data []byte) error

// IsLie reports whether a Check's error says the content is false: a
// *verify.Error, or content that is malformed (verify.ErrMalformed) or
// over its bound (verify.ErrTooLarge).
func IsLie(err error) bool {
	var v *verify.Error
	return errors.As(err, &v) || errors.Is(err, verify.ErrMalformed) || errors.Is(err, verify.ErrTooLarge)
}

// CheckHeader accepts the header whose hash is hash (verify.DecodeHeader).
func CheckHeader(hash common.Hash) Check {
	return func(data []byte) error {
		_, err := verify.DecodeHeader(data, hash)
		return err
	}
}

// CheckBody accepts the body of the trusted header h (verify.DecodeBody).
func CheckBody(h *types.Header) Check {
	return func(data []byte) error {
		_, err := verify.DecodeBody(h, data)
		return err
	}
}

// CheckReceipts accepts the receipts, in the storage encoding Receipts
// content travels in, of the trusted header h whose verified transactions
// are txs (verify.DecodeReceipts).
func CheckReceipts(h *types.Header, txs []*types.Transaction) Check {
	return func(data []byte) error {
		_, err := verify.DecodeReceipts(h, txs, data, verify.ReceiptsStorage)
		return err
	}
}
