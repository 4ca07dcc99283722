package gateway

import (
	"encoding/json"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// Subscribe starts an eth_subscribe subscription on the network. params
// are eth_subscribe's params as sent: ["newHeads"], ["logs"] or ["logs",
// {"address": …, "topics": …}], ["newPendingTransactions"]. deliver gets
// each notification's result, in order, from one goroutine; it must not
// block (a WebSocket connection queues the message or gives up on a slow
// client). A subscription that cannot be made returns a *jsonrpc.Error.
// unsubscribe stops deliveries; after it returns, deliver is not called
// again.
func (n *Network) Subscribe(params json.RawMessage, deliver func(result json.RawMessage)) (unsubscribe func(), err error) {
	return nil, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "subscriptions are not ready yet")
}
