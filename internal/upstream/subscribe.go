package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

const (
	wsDialTimeout  = 10 * time.Second
	wsReadLimit    = 16 << 20
	wsPingInterval = 15 * time.Second
	wsPingTimeout  = 10 * time.Second
)

// ErrNoWebSocket: the upstream has no ws_url.
var ErrNoWebSocket = errors.New("upstream: no ws_url configured")

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

// Subscribe runs one eth_subscribe subscription over a new WebSocket
// connection to the upstream's ws_url: params are eth_subscribe's (e.g.
// ["newHeads"]). fn gets each notification's result; an error from fn ends
// the subscription with that error. It returns when ctx ends, the
// connection fails, or a ping goes unanswered (a half-open connection is
// noticed within wsPingInterval+wsPingTimeout). subscribed reports whether
// the subscription was established, so that callers reset their backoff.
// Errors never hold the ws_url, which may carry an API key.
func (u *Upstream) Subscribe(ctx context.Context, params json.RawMessage, fn func(result json.RawMessage) error) (subscribed bool, err error) {
	if u.WSURL == "" {
		return false, ErrNoWebSocket
	}
	defer func() {
		if err != nil {
			err = errors.New(u.RedactWSError(err))
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dialCtx, dialCancel := context.WithTimeout(ctx, wsDialTimeout)
	conn, _, err := websocket.Dial(dialCtx, u.WSURL, nil)
	dialCancel()
	if err != nil {
		return false, err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wsReadLimit)

	req := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":%s}`, params)
	if err := conn.Write(ctx, websocket.MessageText, req); err != nil {
		return false, err
	}
	pingErr := make(chan error, 1)
	go func() { pingErr <- keepAlive(ctx, conn) }()
	defer func() {
		if err != nil && ctx.Err() == nil {
			select {
			case perr := <-pingErr:
				err = perr
			default:
			}
		}
	}()

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
	for {
		msg, err := readMessage(ctx, conn)
		if err != nil {
			return true, err
		}
		if msg.Method != "eth_subscription" || msg.Params == nil || msg.Params.Subscription != subID {
			continue
		}
		if err := fn(msg.Params.Result); err != nil {
			conn.Close(websocket.StatusNormalClosure, "")
			return true, err
		}
	}
}

// keepAlive pings conn until ctx ends; a ping without a pong in time
// closes the connection (which ends the reader) and is the error.
func keepAlive(ctx context.Context, conn *websocket.Conn) error {
	t := time.NewTicker(wsPingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, wsPingTimeout)
		err := conn.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			conn.CloseNow()
			return fmt.Errorf("no pong within %s: connection presumed dead", wsPingTimeout)
		}
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

// RedactWSError is err as it may be logged or shown: without the
// WebSocket URL, which may hold an API key, nor any other secret of the
// upstream's URLs (see Redact). nil is "".
func (u *Upstream) RedactWSError(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = strings.ReplaceAll(msg, ue.URL, "<ws_url>")
	}
	return u.Redact(strings.ReplaceAll(msg, u.WSURL, "<ws_url>"))
}
