package devnet

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

// Subscription kinds a provider serves over WebSocket.
const (
	subNewHeads = "newHeads"
	subLogs     = "logs"
	subPending  = "newPendingTransactions"
)

var errNoSubscription = &rpcError{Code: -32000, Message: "subscription not found"}

// wsSub is one client subscription: the provider's own id for a
// subscription on the devnet chain.
type wsSub struct {
	id   string // "0x" + 32 hex digits
	kind string
	ch   chan json.RawMessage
	sub  *rpc.ClientSubscription
	stop chan struct{} // closed by eth_unsubscribe
}

// subscribe opens a subscription on the chain with the client's arguments
// (geth checks them: a logs filter, optional here, and
// newPendingTransactions' fullTx flag) and answers the provider's id for it. Its forwarder starts once the
// answer is queued (startForwarders).
func (c *wsConn) subscribe(ctx context.Context, args []json.RawMessage) (json.RawMessage, *rpcError) {
	if len(args) == 0 {
		return nil, &rpcError{Code: -32602, Message: "eth_subscribe needs a subscription kind"}
	}
	kind, _ := jsonString(args[0])
	switch kind {
	case subNewHeads, subLogs, subPending:
	default:
		return nil, &rpcError{Code: -32602, Message: fmt.Sprintf(
			"unsupported subscription %s: want %q, %q or %q", args[0], subNewHeads, subLogs, subPending)}
	}
	in := make([]any, 0, max(len(args), 2))
	in = append(in, kind)
	for _, a := range args[1:] {
		in = append(in, a)
	}
	if kind == subLogs && len(args) == 1 {
		in = append(in, json.RawMessage("{}")) // geth needs a filter; none is all logs
	}
	s := &wsSub{id: newSubID(), kind: kind, ch: make(chan json.RawMessage), stop: make(chan struct{})}
	sub, err := c.p.d.rpc.Subscribe(ctx, "eth", s.ch, in...)
	if err != nil {
		return nil, toRPCError(err)
	}
	s.sub = sub
	c.mu.Lock()
	c.subs[s.id] = s
	c.mu.Unlock()
	c.started = append(c.started, s)
	return json.RawMessage(`"` + s.id + `"`), nil
}

// unsubscribe ends a subscription of this connection.
func (c *wsConn) unsubscribe(args []json.RawMessage) (json.RawMessage, *rpcError) {
	if len(args) == 0 {
		return nil, &rpcError{Code: -32602, Message: "eth_unsubscribe needs a subscription id"}
	}
	id, _ := jsonString(args[0])
	c.mu.Lock()
	s, ok := c.subs[id]
	delete(c.subs, id)
	c.mu.Unlock()
	if !ok {
		return nil, errNoSubscription
	}
	close(s.stop)
	s.sub.Unsubscribe()
	return json.RawMessage("true"), nil
}

// startForwarders starts the forwarders of the subscriptions opened by the
// message just answered.
func (c *wsConn) startForwarders() {
	for _, s := range c.started {
		c.wg.Add(1)
		go c.forward(s)
	}
	c.started = nil
}

// forward sends the chain's notifications of one subscription to the
// client until it is unsubscribed, the chain ends it or the connection
// ends.
func (c *wsConn) forward(s *wsSub) {
	defer c.wg.Done()
	defer s.sub.Unsubscribe()
	var lag headLag
	for {
		var item json.RawMessage
		select {
		case <-c.ctx.Done():
			return
		case <-s.stop:
			return
		case err := <-s.sub.Err():
			c.mu.Lock()
			delete(c.subs, s.id)
			c.mu.Unlock()
			c.p.d.log.Debug("devnet: subscription ended by the chain", "provider", c.p.Name, "id", s.id, "err", err)
			return
		case item = <-s.ch:
		}
		if s.kind == subNewHeads {
			var ok bool
			if item, ok = lag.apply(c.ctx, c.p.d, c.p.Faults().LagBlocks, item); !ok {
				continue
			}
		}
		if !c.send(notification(s.id, item)) {
			return
		}
	}
}

// headLag makes a lagging provider's pushed heads match its polled head:
// the notification for block h becomes the header of block h−N, fetched
// from the chain. It is skipped while h < N or when that number was the
// last one sent.
type headLag struct {
	sent bool
	last uint64
}

func (l *headLag) apply(ctx context.Context, d *Devnet, lag uint64, head json.RawMessage) (json.RawMessage, bool) {
	var h struct {
		Number *hexutil.Uint64 `json:"number"`
	}
	if json.Unmarshal(head, &h) != nil || h.Number == nil {
		return head, true // not a header: pass it on as the chain sent it
	}
	n := uint64(*h.Number)
	if lag > 0 {
		if n < lag || (l.sent && l.last == n-lag) {
			return nil, false
		}
		ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
		defer cancel()
		raw, err := d.forward(ctx, "eth_getHeaderByNumber", []json.RawMessage{quantityJSON(n - lag)})
		if err != nil || isNull(raw) {
			return nil, false
		}
		head, n = raw, n-lag
	}
	l.sent, l.last = true, n
	return head, true
}

// notification encodes one eth_subscription message.
func notification(id string, result json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"`)
	b.WriteString(id)
	b.WriteString(`","result":`)
	b.Write(result)
	b.WriteString(`}}`)
	return b.Bytes()
}

// newSubID returns a random subscription id: "0x" and 32 hex digits.
func newSubID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return "0x" + hex.EncodeToString(b[:])
}
