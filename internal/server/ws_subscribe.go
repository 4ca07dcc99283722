package server

import (
	"encoding/json"
	"sync"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// codeSubscriptionNotFound is what geth answers eth_unsubscribe with for an
// id it does not know (its default error code).
const codeSubscriptionNotFound = -32000

// wsSub is one eth_subscribe subscription of a connection.
type wsSub struct {
	unsub func() // set once the feed accepted the subscription

	mu      sync.Mutex
	active  bool     // the answer carrying the id is queued
	stopped bool     // unsubscribed: late deliveries are dropped
	pending [][]byte // notifications delivered before the answer was queued
}

// subscribe starts a subscription for req. Its notifications are held back
// until the answer with the id is queued (after runs then), so a client
// never sees a notification for an id it has not been told yet.
func (c *wsConn) subscribe(req *jsonrpc.Request, after *afterSend) *jsonrpc.Response {
	if req.IsNotification() {
		// Nobody could learn the id, so nobody could unsubscribe.
		return nil
	}
	limit := c.s.ws.MaxSubscriptions
	id := jsonrpc.NewID()
	sub := &wsSub{}
	c.subsMu.Lock()
	switch {
	case c.subsClosed:
		c.subsMu.Unlock()
		return jsonrpc.ErrorResponse(req.ID, jsonrpc.Errorf(jsonrpc.CodeInternal, "connection closing"))
	case len(c.subs) >= limit:
		c.subsMu.Unlock()
		return jsonrpc.ErrorResponse(req.ID, jsonrpc.Errorf(jsonrpc.CodeLimitExceeded,
			"too many subscriptions on this connection (websocket.max_subscriptions %d); unsubscribe unused ones", limit))
	}
	if e := c.s.wsConns.takeSubscription(c.client); e != nil {
		c.subsMu.Unlock()
		return jsonrpc.ErrorResponse(req.ID, e)
	}
	c.subs[id] = sub // holds the slots while the feed is asked
	c.subsMu.Unlock()

	unsub, err := c.s.subscribe(c.n, req.Params, func(result json.RawMessage) { c.notify(sub, id, result) })
	if unsub == nil {
		unsub = func() {}
	}
	c.subsMu.Lock()
	if err != nil || c.subsClosed {
		delete(c.subs, id)
		c.subsMu.Unlock()
		c.s.wsConns.giveSubscription(c.client)
		if err != nil {
			return jsonrpc.ErrorResponse(req.ID, jsonrpc.FromError(err))
		}
		unsub()
		return jsonrpc.ErrorResponse(req.ID, jsonrpc.Errorf(jsonrpc.CodeInternal, "connection closing"))
	}
	sub.unsub = unsub
	c.subsMu.Unlock()
	c.s.wsm.subscribed(1)
	after.add(func() { c.activate(sub) })
	return jsonrpc.ResultResponse(req.ID, json.RawMessage(`"`+id+`"`))
}

// notify is the feed's deliver: it queues the notification and never
// blocks.
func (c *wsConn) notify(sub *wsSub, id string, result json.RawMessage) {
	if c.failing() {
		return
	}
	msg := appendNotification(nil, id, result)
	sub.mu.Lock()
	defer sub.mu.Unlock()
	switch {
	case sub.stopped:
	case sub.active:
		c.send(msg, nil)
	case len(sub.pending) < c.queue.limit:
		sub.pending = append(sub.pending, msg)
	default: // as many held back as the queue holds
		c.slowConsumer()
	}
}

// activate lets a subscription's notifications through, those held back
// first.
func (c *wsConn) activate(sub *wsSub) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for _, msg := range sub.pending {
		if !c.send(msg, nil) {
			break
		}
	}
	sub.pending, sub.active = nil, true
}

// unsubscribe ends a subscription of this connection: true, or geth's
// "subscription not found".
func (c *wsConn) unsubscribe(req *jsonrpc.Request) *jsonrpc.Response {
	args, err := req.ParamList()
	var id string
	if err == nil && len(args) == 1 {
		err = json.Unmarshal(args[0], &id)
	}
	if err != nil || len(args) != 1 {
		return jsonrpc.ErrorResponse(req.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
			"invalid params: eth_unsubscribe takes [subscription id]"))
	}
	c.subsMu.Lock()
	sub, ok := c.subs[id]
	if ok && sub.unsub != nil {
		delete(c.subs, id)
	} else {
		ok = false
	}
	c.subsMu.Unlock()
	if !ok {
		return jsonrpc.ErrorResponse(req.ID, jsonrpc.Errorf(codeSubscriptionNotFound, "subscription not found"))
	}
	c.stop(sub)
	return jsonrpc.ResultResponse(req.ID, json.RawMessage("true"))
}

// dropSubscriptions stops every subscription of the connection and any
// new one.
func (c *wsConn) dropSubscriptions() {
	c.subsMu.Lock()
	subs := c.subs
	c.subs, c.subsClosed = nil, true
	c.subsMu.Unlock()
	for _, sub := range subs {
		if sub.unsub != nil { // nil: still being made; subscribe stops it
			c.stop(sub)
		}
	}
}

func (c *wsConn) stop(sub *wsSub) {
	sub.mu.Lock()
	sub.stopped, sub.pending = true, nil
	sub.mu.Unlock()
	sub.unsub()
	c.s.wsConns.giveSubscription(c.client)
	c.s.wsm.subscribed(-1)
}

// appendNotification appends the eth_subscription message for one result.
func appendNotification(dst []byte, id string, result json.RawMessage) []byte {
	dst = append(dst, `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"`...)
	dst = append(dst, id...)
	dst = append(dst, `","result":`...)
	if len(result) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, result...)
	}
	return append(dst, "}}"...)
}
