package archive

import (
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/ledger"
	"github.com/braidrpc/braid/internal/peers"
)

// What the archive hands the peer node and the ledger of the history
// store, checked at compile time.
var (
	_ history.Keeper  = (*history.LRU)(nil)
	_ peers.Holder    = (*history.Store)(nil)
	_ peers.Numberer  = (*history.Store)(nil)
	_ ledger.Bodies   = (*history.Store)(nil)
	_ ledger.Holdings = (*history.Store)(nil)
	_ ledger.Network  = (*peers.Node)(nil)
)
