package head

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/upstream"
)

const (
	wsBackoffStart = 500 * time.Millisecond
	wsBackoffMax   = 30 * time.Second
)

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
			"upstream", u.Name, "operator", u.Operator, "err", u.RedactWSError(err), "backoff", backoff)
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

// followOnce runs one connection: subscribe, observe headers until the
// connection fails. subscribed reports whether the subscription was
// established (so the next attempt starts from the shortest backoff).
func (t *Tracker) followOnce(ctx context.Context, u *upstream.Upstream) (subscribed bool, err error) {
	return u.Subscribe(ctx, json.RawMessage(`["newHeads"]`), func(result json.RawMessage) error {
		var b block.Block
		if err := json.Unmarshal(result, &b); err != nil || b.IsZero() {
			t.log.Debug("ignoring malformed newHeads notification", "upstream", u.Name, "operator", u.Operator)
			return nil
		}
		if s, _ := u.State(); s == upstream.Quarantined {
			return errors.New("upstream quarantined")
		}
		t.observeLatest(u, b)
		return nil
	})
}
