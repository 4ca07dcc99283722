package beaconsim

import (
	"fmt"
	"net/http"
	"strings"
)

// subBuffer is how many events a slow stream may lag before it is closed.
const subBuffer = 64

type subscriber struct {
	topics map[string]bool
	ch     chan []byte
	closed bool
}

// serveEvents is the /eth/v1/events server-sent-events stream.
func (a *API) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		serverError(w, fmt.Errorf("streaming unsupported"))
		return
	}
	// Topics come repeated (topics=a&topics=b, as go-ethereum sends them)
	// or comma-separated (topics=a,b).
	topics := make(map[string]bool)
	for _, v := range r.URL.Query()["topics"] {
		for _, t := range strings.Split(v, ",") {
			switch t {
			case "head", "light_client_optimistic_update", "light_client_finality_update":
				topics[t] = true
			case "":
			default:
				badRequest(w, "unknown topic "+t)
				return
			}
		}
	}
	if len(topics) == 0 {
		badRequest(w, "no topics")
		return
	}
	sub := &subscriber{topics: topics, ch: make(chan []byte, subBuffer)}
	a.mu.Lock()
	if a.faults.Down {
		a.mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	a.subs[sub] = struct{}{}
	a.mu.Unlock()
	defer a.unsubscribe(sub)

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-sub.ch:
			if !ok {
				return
			}
			if _, err := w.Write(ev); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

func (a *API) unsubscribe(sub *subscriber) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.subs[sub]; ok {
		delete(a.subs, sub)
		if !sub.closed {
			sub.closed = true
			close(sub.ch)
		}
	}
}

func (a *API) closeSubsLocked() {
	for sub := range a.subs {
		if !sub.closed {
			sub.closed = true
			close(sub.ch)
		}
		delete(a.subs, sub)
	}
}

// announce sends b's events to the view's streams, unless the view is down
// or frozen.
func (a *API) announce(b *block) {
	f := a.Faults()
	if f.Down || f.Stale {
		return
	}
	agg, err := a.signature(b)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	events := map[string][]byte{
		"head":                           sse("head", map[string]any{"slot": decimal(b.header.Slot), "block": b.root, "state": b.header.StateRoot}),
		"light_client_optimistic_update": sse("light_client_optimistic_update", b.optimistic(agg)),
	}
	if b.finalized != nil && (a.last == nil || a.last.finalized != b.finalized) {
		events["light_client_finality_update"] = sse("light_client_finality_update", b.finality(agg))
	}
	a.last = b
	for sub := range a.subs {
		for _, topic := range []string{"head", "light_client_optimistic_update", "light_client_finality_update"} {
			ev, ok := events[topic]
			if !ok || !sub.topics[topic] {
				continue
			}
			select {
			case sub.ch <- ev:
			default: // too slow: close the stream, the client reconnects
				sub.closed = true
				close(sub.ch)
				delete(a.subs, sub)
			}
			if sub.closed {
				break
			}
		}
	}
}

func sse(event string, v any) []byte {
	return []byte("event: " + event + "\ndata: " + string(mustJSON(v)) + "\n\n")
}
