package beacon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"
)

// Reconnect delays of the event stream.
const (
	streamBackoffMin = time.Second
	streamBackoffMax = 30 * time.Second
)

var errIdle = errors.New("event stream idle")

// run keeps the endpoint's event stream open until ctx ends.
func (e *endpoint) run(ctx context.Context) {
	backoff := streamBackoffMin
	for {
		delivered, err := e.streamOnce(ctx)
		e.setUp(false)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		e.noteErr(fmt.Errorf("event stream: %w", err))
		if delivered {
			backoff = streamBackoffMin
		}
		select {
		case <-ctx.Done():
			return
		case <-e.clock.After(backoff):
		}
		backoff = min(2*backoff, streamBackoffMax)
	}
}

// streamOnce opens the event stream, fetches the current updates (events
// only bring changes) and passes events on until the stream fails. It
// reports whether any update arrived.
func (e *endpoint) streamOnce(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	topics := url.Values{"topics": {"light_client_optimistic_update", "light_client_finality_update"}}
	resp, err := e.do(ctx, "/eth/v1/events", topics, "text/event-stream")
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	e.setUp(true)
	e.touch(false)
	idle := make(chan struct{})
	go e.watchdog(ctx, cancel, idle)

	delivered := e.fetchCurrent(ctx)
	r := newSSEReader(resp.Body)
	for {
		ev, err := r.next()
		if err != nil {
			select {
			case <-idle:
				return delivered, errIdle
			default:
				return delivered, err
			}
		}
		e.touch(true)
		var u any
		switch ev.name {
		case "light_client_optimistic_update":
			u, err = e.spec.decodeOptimistic(ev.data)
		case "light_client_finality_update":
			u, err = e.spec.decodeFinality(ev.data)
		default:
			continue
		}
		if err != nil {
			e.noteErr(fmt.Errorf("%s event: %w", ev.name, err))
			continue
		}
		delivered = true
		e.push(e, u)
	}
}

// fetchCurrent gets the current optimistic and finality updates.
func (e *endpoint) fetchCurrent(ctx context.Context) bool {
	got := false
	if body, err := e.get(ctx, "/eth/v1/beacon/light_client/optimistic_update", nil); err != nil {
		e.noteErr(fmt.Errorf("optimistic update: %w", err))
	} else if u, err := e.spec.decodeOptimistic(body); err != nil {
		e.noteErr(fmt.Errorf("optimistic update: %w", err))
	} else {
		got = true
		e.push(e, u)
	}
	if body, err := e.get(ctx, "/eth/v1/beacon/light_client/finality_update", nil); err != nil {
		if !errors.Is(err, statusError{404}) { // none yet on a young chain
			e.noteErr(fmt.Errorf("finality update: %w", err))
		}
	} else if u, err := e.spec.decodeFinality(body); err != nil {
		e.noteErr(fmt.Errorf("finality update: %w", err))
	} else {
		got = true
		e.push(e, u)
	}
	return got
}

// watchdog ends a stream that brought nothing for the idle time: a
// half-open connection would otherwise hold the endpoint "up" forever.
func (e *endpoint) watchdog(ctx context.Context, cancel context.CancelFunc, idle chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.clock.After(e.idle / 2):
		}
		e.mu.Lock()
		last := e.lastRead
		e.mu.Unlock()
		if e.clock.Now().Sub(last) > e.idle {
			close(idle)
			cancel()
			return
		}
	}
}
