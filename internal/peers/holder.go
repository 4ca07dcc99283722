package peers

import (
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/history"
)

// Holder is what a node serves: content in the encodings the Kinds name,
// verified before it was stored. history.Store satisfies it.
type Holder interface {
	HeaderRLP(hash common.Hash) ([]byte, bool)
	BodyRLP(hash common.Hash) ([]byte, bool)
	ReceiptsRLP(hash common.Hash) ([]byte, bool)
}

// Numberer is an optional Holder method (history.Store has it): the number
// of a held block, so served transfers carry the content's age.
type Numberer interface {
	Number(hash common.Hash) (uint64, bool)
}

// Locator is an optional Holder method (history.Store has it): where a
// transaction of a held canonical block is, for Location requests.
type Locator interface {
	TxLookup(txHash common.Hash) (*types.Transaction, history.TxLocation, bool)
}

// Evictor is an optional Holder method (history.Store has it): when the
// holder evicted the given parts of a block it held, if recently enough
// that a provider record it published may still be found. A request for
// such content is answered CodeEvicted, not CodeNotHeld.
type Evictor interface {
	Evicted(hash common.Hash, parts history.Parts) (time.Time, bool)
}

var _ Evictor = (*history.Store)(nil)

// evicted reports when h evicted key's content, if it did recently.
func evicted(h Holder, key Key) (time.Time, bool) {
	e, ok := h.(Evictor)
	if !ok {
		return time.Time{}, false
	}
	var parts history.Parts
	switch key.Kind {
	case Header:
		parts = history.HeaderPart
	case Body:
		parts = history.BodyPart
	case Receipts:
		parts = history.ReceiptsPart
	default: // a location is no block content: never announced
		return time.Time{}, false
	}
	return e.Evicted(key.Hash, parts)
}

// get reads key's content from h.
func get(h Holder, key Key) ([]byte, bool) {
	if h == nil {
		return nil, false
	}
	switch key.Kind {
	case Header:
		return h.HeaderRLP(key.Hash)
	case Body:
		return h.BodyRLP(key.Hash)
	case Receipts:
		return h.ReceiptsRLP(key.Hash)
	case Location:
		if l, ok := h.(Locator); ok {
			if _, loc, ok := l.TxLookup(key.Hash); ok {
				return AppendLocation(nil, loc), true
			}
		}
	}
	return nil, false
}
