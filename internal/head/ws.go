package head

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/upstream"
)

const (
	wsBackoffStart = 500 * time.Millisecond
	wsBackoffMax   = 30 * time.Second
	wsDialTimeout  = 10 * time.Second
	wsReadLimit    = 1 << 20
)

var subscribeNewHeads = []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}`)

// follow keeps a newHeads subscription to u open until ctx ends,
// reconnecting with exponential backoff. Each header becomes u's latest.
func (t *Tracker) follow(ctx context.Context, u *upstream.Upstream) {
	defer t.wg.Done()
	backoff := wsBackoffStart
	quiet := false // a failure right after a failed attempt is logged at debug
	for {
		if s, _ := u.State(); s == upstream.Quarantined {
			return // serves another chain: never used again
		}
		subscribed, err := t.followOnce(ctx, u)
		if ctx.Err() != nil {
			return
		}
		if subscribed {
			backoff, quiet = wsBackoffStart, false
		}
		level := slog.LevelWarn
		if quiet {
			level = slog.LevelDebug
		}
		quiet = true
		t.log.Log(ctx, level, "newHeads subscription failed; reconnecting",
			"upstream", u.Name, "operator", u.Operator, "err", wsError(u, err), "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-t.clock.After(backoff):
		}
		if !subscribed {
			backoff = min(2*backoff, wsBackoffMax)
		}
	}
}

// wsMessage is any message on a subscription connection.
type wsMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *jsonrpc.Error  `json:"error"`
	Params *struct {
		Subscription string          `json:"subscription"`
		Result       json.RawMessage `json:"result"`
	} `json:"params"`
}

// followOnce runs one connection: dial, subscribe, observe headers until
// the connection fails. subscribed reports whether the subscription was
// established (so the next attempt starts from the shortest backoff).
func (t *Tracker) followOnce(ctx context.Context, u *upstream.Upstream) (subscribed bool, err error) {
	dialCtx, cancel := context.WithTimeout(ctx, wsDialTimeout)
	conn, _, err := websocket.Dial(dialCtx, u.WSURL, nil)
	cancel()
	if err != nil {
		return false, err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wsReadLimit)

	if err := conn.Write(ctx, websocket.MessageText, subscribeNewHeads); err != nil {
		return false, err
	}
	var subID string
	for subID == "" {
		msg, err := readMessage(ctx, conn)
		if err != nil {
			return false, err
		}
		if string(msg.ID) != "1" {
			continue
		}
		if msg.Error != nil {
			return false, fmt.Errorf("eth_subscribe: %w", msg.Error)
		}
		if err := json.Unmarshal(msg.Result, &subID); err != nil || subID == "" {
			return false, errors.New("eth_subscribe: answer is not a subscription id")
		}
	}
	t.log.Debug("newHeads subscribed", "upstream", u.Name, "operator", u.Operator)

	for {
		msg, err := readMessage(ctx, conn)
		if err != nil {
			return true, err
		}
		if msg.Method != "eth_subscription" || msg.Params == nil || msg.Params.Subscription != subID {
			continue
		}
		var b Block
		if err := json.Unmarshal(msg.Params.Result, &b); err != nil || b.IsZero() {
			t.log.Debug("ignoring malformed newHeads notification", "upstream", u.Name, "operator", u.Operator)
			continue
		}
		if s, _ := u.State(); s == upstream.Quarantined {
			conn.Close(websocket.StatusNormalClosure, "")
			return true, errors.New("upstream quarantined")
		}
		t.observeLatest(u, b)
	}
}

func readMessage(ctx context.Context, conn *websocket.Conn) (wsMessage, error) {
	var msg wsMessage
	_, data, err := conn.Read(ctx)
	if err != nil {
		return msg, err
	}
	if err := json.Unmarshal(data, &msg); err != nil {
		return msg, fmt.Errorf("malformed message: %w", err)
	}
	return msg, nil
}

// wsError is err as it may be logged: without the WebSocket URL, which
// may hold an API key.
func wsError(u *upstream.Upstream, err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = strings.ReplaceAll(msg, ue.URL, "<ws_url>")
	}
	return strings.ReplaceAll(msg, u.WSURL, "<ws_url>")
}
