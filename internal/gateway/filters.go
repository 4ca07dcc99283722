package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
)

// filterIdle is how long an unpolled filter is kept; go-ethereum drops its
// own filters after five minutes without a poll.
const filterIdle = 5 * time.Minute

// maxFilters bounds the table so clients cannot grow it without end.
const maxFilters = 10000

// filters keeps eth_newFilter & co. working across a federation: a filter
// lives on the one upstream that created it, so braid hands out its own id
// and sends every later poll to that upstream. When that upstream is gone
// the client gets go-ethereum's "filter not found", which client libraries
// answer by installing a new filter.
type filters struct {
	clock clock.Clock

	mu        sync.Mutex
	table     map[string]*filter
	lastSweep time.Time
}

type filter struct {
	upstream *upstream.Upstream
	remoteID json.RawMessage
	lastUsed time.Time
	failures int // consecutive polls that did not reach the upstream
}

// filterMaxFailures is how many polls in a row may fail to reach the
// filter's upstream before braid declares the filter lost. One failed poll
// (a 503, a 429) must not make the client reinstall and miss logs.
const filterMaxFailures = 3

func newFilters(c clock.Clock) *filters {
	return &filters{clock: c, table: make(map[string]*filter)}
}

var errFilterNotFound = &jsonrpc.Error{Code: -32000, Message: "filter not found"}

func (f *filters) install(ctx context.Context, r *route.Router, pl *plan.Plan, minHead uint64) (*jsonrpc.Response, error) {
	// Installed on an upstream at the tip, so it does not start behind.
	res, err := r.Do(ctx, route.Call{Method: pl.Method, Params: pl.Params, Class: plan.ClassLogs, MinHead: minHead})
	if err != nil {
		return nil, err
	}
	if res.Response.Error != nil {
		return res.Response, nil
	}
	id, err := newFilterID()
	if err != nil {
		return nil, err
	}
	now := f.clock.Now()
	f.mu.Lock()
	f.expire(now)
	if len(f.table) >= maxFilters {
		f.mu.Unlock()
		return nil, jsonrpc.Errorf(jsonrpc.CodeLimitExceeded, "too many installed filters (limit %d)", maxFilters)
	}
	f.table[id] = &filter{upstream: res.Upstream, remoteID: res.Response.Result, lastUsed: now}
	f.mu.Unlock()
	return &jsonrpc.Response{Result: json.RawMessage(strconv.Quote(id))}, nil
}

func (f *filters) use(ctx context.Context, r *route.Router, pl *plan.Plan) (*jsonrpc.Response, error) {
	var id string
	if len(pl.Args) != 1 || json.Unmarshal(pl.Args[0], &id) != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: %s takes one filter id", pl.Method)
	}
	now := f.clock.Now()
	f.mu.Lock()
	f.expire(now)
	flt, ok := f.table[id]
	if ok {
		flt.lastUsed = now
	}
	if ok && pl.Method == "eth_uninstallFilter" {
		delete(f.table, id)
	}
	f.mu.Unlock()
	if !ok {
		if pl.Method == "eth_uninstallFilter" {
			return &jsonrpc.Response{Result: json.RawMessage("false")}, nil
		}
		return nil, errFilterNotFound
	}
	params := append(append(json.RawMessage("["), flt.remoteID...), ']')
	res, err := r.Do(ctx, route.Call{Method: pl.Method, Params: params, Only: flt.upstream, Class: plan.ClassOf(pl.Method)})
	if err != nil {
		if pl.Method == "eth_uninstallFilter" {
			return &jsonrpc.Response{Result: json.RawMessage("true")}, nil
		}
		// The upstream holding the filter did not answer this poll. A
		// blip keeps the filter (the client retries the poll); an
		// upstream that stays away or is taken out of use has lost it,
		// and the client hears so the way go-ethereum says it, so that it
		// installs a new one.
		f.mu.Lock()
		flt.failures++
		lost := flt.failures >= filterMaxFailures || !flt.upstream.Usable()
		if lost {
			delete(f.table, id)
		}
		f.mu.Unlock()
		if lost {
			return nil, errFilterNotFound
		}
		return nil, err
	}
	f.mu.Lock()
	flt.failures = 0
	f.mu.Unlock()
	if e := res.Response.Error; e != nil && e.Message == errFilterNotFound.Message {
		f.drop(id) // the upstream expired it
	}
	return res.Response, nil
}

func (f *filters) drop(id string) {
	f.mu.Lock()
	delete(f.table, id)
	f.mu.Unlock()
}

// expire drops idle filters, sweeping at most once a minute unless the
// table is full; f.mu must be held.
func (f *filters) expire(now time.Time) {
	if now.Sub(f.lastSweep) < time.Minute && len(f.table) < maxFilters {
		return
	}
	f.lastSweep = now
	for id, flt := range f.table {
		if now.Sub(flt.lastUsed) > filterIdle {
			delete(f.table, id)
		}
	}
}

func newFilterID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "0x" + hex.EncodeToString(b[:]), nil
}
