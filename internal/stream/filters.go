package stream

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// filters are the eth_newFilter family, kept by braid itself: each filter
// is a consumer of the network's block stream (or of the pending feed) and
// collects its changes until polled. No upstream holds them, so a filter
// outlives the death of any upstream. A filter nobody polls for cfg.Idle
// is dropped, as go-ethereum drops its own after five minutes. The table
// holds cfg.Max filters, and cfg.MaxPerClient of one client address, so
// that no client can fill it for everyone else.
type filters struct {
	follower *Follower
	pending  *pendingFeed
	call     Caller
	cfg      config.Filters
	clock    clock.Clock
	log      *slog.Logger

	mu        sync.Mutex
	table     map[string]*filter
	perClient map[string]int // installed filters by client ("" is not counted)
	lastSweep time.Time
}

// sweepEvery spaces out the scans for idle filters made on the request
// path; a janitor also sweeps in the background.
const sweepEvery = 10 * time.Second

type filterKind uint8

const (
	blockFilter filterKind = iota
	logFilter
	pendingFilter
)

type filter struct {
	client   string // who installed it (jsonrpc.Request.Client)
	kind     filterKind
	criteria json.RawMessage // a log filter's object as given, for eth_getFilterLogs
	cancel   func()

	mu       sync.Mutex
	changes  []json.RawMessage
	overflow bool
	lastUsed time.Time
}

func newFilters(s *Stream, cfg config.Filters) *filters {
	return &filters{follower: s.follower, pending: s.pending, call: s.call, cfg: cfg, clock: s.clock, log: s.log,
		table: make(map[string]*filter), perClient: make(map[string]int)}
}

var errFilterNotFound = &jsonrpc.Error{Code: -32000, Message: "filter not found"}

// add records one change, or marks the filter overflowed: a filter whose
// client stopped polling does not grow memory, and is dropped rather than
// silently losing entries.
func (f *filter) add(cfg config.Filters, v json.RawMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.overflow {
		return
	}
	if len(f.changes) >= cfg.MaxChanges {
		f.overflow, f.changes = true, nil
		return
	}
	f.changes = append(f.changes, v)
}

// install installs the filter method (with args) asks for on behalf of
// client.
func (fs *filters) install(method string, args []json.RawMessage, client string) (*jsonrpc.Response, error) {
	fl, err := fs.start(method, args, client)
	if err != nil {
		return nil, err
	}
	id := jsonrpc.NewID()
	fs.mu.Lock()
	if client != "" && fs.perClient[client] >= fs.cfg.MaxPerClient {
		fs.lastSweep = time.Time{} // a full share may hold idle filters
	}
	fs.expireLocked(fs.clock.Now())
	if err := fs.fullLocked(client); err != nil {
		fs.mu.Unlock()
		fl.cancel()
		return nil, err
	}
	fs.table[id] = fl
	if client != "" {
		fs.perClient[client]++
	}
	fs.mu.Unlock()
	return &jsonrpc.Response{Result: json.RawMessage(strconv.Quote(id))}, nil
}

// start makes the filter method asks for and connects it to its feed.
func (fs *filters) start(method string, args []json.RawMessage, client string) (*filter, error) {
	fl := &filter{client: client, lastUsed: fs.clock.Now()}
	switch method {
	case "eth_newBlockFilter":
		fl.kind = blockFilter
		s := fs.follower.Subscribe(false, func(ev Event) {
			for _, b := range ev.Added {
				fl.add(fs.cfg, json.RawMessage(`"`+b.Hash.Hex()+`"`))
			}
		})
		fl.cancel = s.Cancel
	case "eth_newFilter":
		var crit json.RawMessage
		if len(args) > 0 {
			crit = args[0]
		}
		lf, err := parseLogFilter(crit)
		if err != nil {
			return nil, err
		}
		fl.kind, fl.criteria = logFilter, crit
		s := fs.follower.Subscribe(true, func(ev Event) {
			forEachLog(ev, lf, func(l json.RawMessage) { fl.add(fs.cfg, l) })
		})
		fl.cancel = s.Cancel
	case "eth_newPendingTransactionFilter":
		opt := json.RawMessage("null")
		if len(args) > 0 {
			opt = args[0]
		}
		if err := hashesOnly(opt); err != nil {
			return nil, err
		}
		fl.kind = pendingFilter
		fl.cancel = fs.pending.subscribe(func(h json.RawMessage) { fl.add(fs.cfg, h) })
	default:
		return nil, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "%s is not a filter method", method)
	}
	return fl, nil
}

// use answers eth_getFilterChanges, eth_getFilterLogs and
// eth_uninstallFilter.
func (fs *filters) use(ctx context.Context, method string, args []json.RawMessage) (*jsonrpc.Response, error) {
	var id string
	if len(args) != 1 || json.Unmarshal(args[0], &id) != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: %s takes one filter id", method)
	}
	now := fs.clock.Now()
	fs.mu.Lock()
	fs.expireLocked(now)
	fl, ok := fs.table[id]
	if ok && method == "eth_uninstallFilter" {
		fs.removeLocked(id, fl)
	}
	fs.mu.Unlock()
	if method == "eth_uninstallFilter" {
		if ok {
			fl.cancel()
		}
		return &jsonrpc.Response{Result: json.RawMessage(strconv.FormatBool(ok))}, nil
	}
	if !ok {
		return nil, errFilterNotFound
	}
	fl.mu.Lock()
	fl.lastUsed = now
	fl.mu.Unlock()

	switch method {
	case "eth_getFilterChanges":
		fl.mu.Lock()
		changes, overflow := fl.changes, fl.overflow
		fl.changes = nil
		fl.mu.Unlock()
		if overflow {
			fs.drop(id)
			fs.log.Warn("filter dropped: more changes than filters.max_changes between two polls",
				"max_changes", fs.cfg.MaxChanges)
			return nil, errFilterNotFound
		}
		return &jsonrpc.Response{Result: jsonrpc.JoinArray(changes)}, nil
	case "eth_getFilterLogs":
		if fl.kind != logFilter {
			return nil, errFilterNotFound // as go-ethereum answers for a block or pending filter
		}
		crit := fl.criteria
		if isNull(crit) {
			crit = json.RawMessage("{}")
		}
		params := append(append(json.RawMessage("["), crit...), ']')
		return fs.call(ctx, &jsonrpc.Request{Method: "eth_getLogs", Params: params})
	}
	return nil, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "%s is not a filter method", method)
}

// fullLocked says which cap one more filter of client would pass, if
// any; fs.mu must be held.
func (fs *filters) fullLocked(client string) error {
	if client != "" && fs.perClient[client] >= fs.cfg.MaxPerClient {
		return jsonrpc.Errorf(jsonrpc.CodeLimitExceeded,
			"too many installed filters from your address (filters.max_per_client %d); uninstall unused ones", fs.cfg.MaxPerClient)
	}
	if len(fs.table) >= fs.cfg.Max {
		return jsonrpc.Errorf(jsonrpc.CodeLimitExceeded,
			"too many installed filters (filters.max %d); uninstall unused ones", fs.cfg.Max)
	}
	return nil
}

// removeLocked takes filter id out of the table; fs.mu must be held.
func (fs *filters) removeLocked(id string, fl *filter) {
	delete(fs.table, id)
	if fl.client == "" {
		return
	}
	if fs.perClient[fl.client]--; fs.perClient[fl.client] <= 0 {
		delete(fs.perClient, fl.client)
	}
}

func (fs *filters) drop(id string) {
	fs.mu.Lock()
	fl, ok := fs.table[id]
	if ok {
		fs.removeLocked(id, fl)
	}
	fs.mu.Unlock()
	if ok {
		fl.cancel()
	}
}

// expire drops the filters idle for longer than cfg.Idle.
func (fs *filters) expire() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.lastSweep = time.Time{}
	fs.expireLocked(fs.clock.Now())
}

// expireLocked sweeps at most every sweepEvery unless the table is full;
// fs.mu must be held.
func (fs *filters) expireLocked(now time.Time) {
	if now.Sub(fs.lastSweep) < sweepEvery && len(fs.table) < fs.cfg.Max {
		return
	}
	fs.lastSweep = now
	for id, fl := range fs.table {
		fl.mu.Lock()
		idle := now.Sub(fl.lastUsed) > fs.cfg.Idle
		fl.mu.Unlock()
		if idle {
			fs.removeLocked(id, fl)
			fl.cancel()
		}
	}
}

// count is the number of installed filters.
func (fs *filters) count() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.table)
}
