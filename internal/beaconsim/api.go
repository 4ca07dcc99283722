package beaconsim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/beacon/types"
	"github.com/ethereum/go-ethereum/common"
)

// maxUpdates bounds one light_client/updates request, as beacon nodes do.
const maxUpdates = 128

// Faults are the misbehaviours of one API view. The zero value is honest.
type Faults struct {
	// Down answers every request with 503 and closes open event streams.
	Down bool `json:"down,omitempty"`
	// Forge signs every header with a key outside the committee while the
	// bitmask still claims the members.
	Forge bool `json:"forge,omitempty"`
	// Signers is how many members sign (0 = all 512); below 342 is not a
	// supermajority.
	Signers int `json:"signers,omitempty"`
	// Stale freezes the head at the one current when set: no new events,
	// the same optimistic and finality updates.
	Stale bool `json:"stale,omitempty"`
}

// API is one HTTP view of the simulated chain with its own faults. It
// implements http.Handler; serve it on loopback (httptest.NewServer, or an
// http.Server on 127.0.0.1).
type API struct {
	sim *Sim
	mux *http.ServeMux

	mu     sync.Mutex
	faults Faults
	frozen *block
	last   *block // the last block announced on the event stream
	subs   map[*subscriber]struct{}
	sigs   map[sigKey]types.SyncAggregate
}

type sigKey struct {
	root  common.Hash
	n     int
	forge bool
}

// NewAPI adds an honest API view of the chain.
func (s *Sim) NewAPI() *API {
	a := &API{sim: s, subs: make(map[*subscriber]struct{}), sigs: make(map[sigKey]types.SyncAggregate)}
	a.mux = http.NewServeMux()
	a.mux.HandleFunc("GET /eth/v1/beacon/light_client/bootstrap/{root}", a.serveBootstrap)
	a.mux.HandleFunc("GET /eth/v1/beacon/light_client/updates", a.serveUpdates)
	a.mux.HandleFunc("GET /eth/v1/beacon/light_client/optimistic_update", a.serveOptimistic)
	a.mux.HandleFunc("GET /eth/v1/beacon/light_client/finality_update", a.serveFinality)
	a.mux.HandleFunc("GET /eth/v1/beacon/headers/{id}", a.serveHeader)
	a.mux.HandleFunc("GET /eth/v1/events", a.serveEvents)
	s.mu.Lock()
	s.apis = append(s.apis, a)
	s.mu.Unlock()
	return a
}

// SetFaults replaces the view's faults. Setting Stale freezes the current
// head; setting Down closes the open event streams.
func (a *API) SetFaults(f Faults) {
	a.sim.mu.Lock()
	head := a.sim.latest()
	a.sim.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case f.Stale && a.frozen == nil:
		a.frozen = head
	case !f.Stale:
		a.frozen = nil
	}
	a.faults = f
	if f.Down {
		a.closeSubsLocked()
	}
}

// Faults returns the view's current faults.
func (a *API) Faults() Faults {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.faults
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.Faults().Down {
		http.Error(w, `{"code":503,"message":"beacon node is down (simulated)"}`, http.StatusServiceUnavailable)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// served returns the block the view presents as its head, or nil.
func (a *API) served() *block {
	a.mu.Lock()
	frozen := a.frozen
	a.mu.Unlock()
	if frozen != nil {
		return frozen
	}
	a.sim.mu.Lock()
	defer a.sim.mu.Unlock()
	return a.sim.latest()
}

// signature returns b's sync aggregate as this view serves it.
func (a *API) signature(b *block) (types.SyncAggregate, error) {
	f := a.Faults()
	n := f.Signers
	if n <= 0 || n >= params.SyncCommitteeSize {
		n = params.SyncCommitteeSize
	}
	if !f.Forge && n == params.SyncCommitteeSize {
		return b.agg, nil
	}
	key := sigKey{root: b.root, n: n, forge: f.Forge}
	a.mu.Lock()
	agg, ok := a.sigs[key]
	a.mu.Unlock()
	if ok {
		return agg, nil
	}
	a.sim.mu.Lock()
	agg, err := a.sim.signBlock(b, n, f.Forge)
	a.sim.mu.Unlock()
	if err != nil {
		return agg, err
	}
	a.mu.Lock()
	if len(a.sigs) >= 64 {
		clear(a.sigs)
	}
	a.sigs[key] = agg
	a.mu.Unlock()
	return agg, nil
}

func (a *API) serveOptimistic(w http.ResponseWriter, r *http.Request) {
	b := a.served()
	if b == nil {
		notFound(w, "no head yet")
		return
	}
	agg, err := a.signature(b)
	if err != nil {
		serverError(w, err)
		return
	}
	writeJSON(w, b.optimistic(agg))
}

func (a *API) serveFinality(w http.ResponseWriter, r *http.Request) {
	b := a.served()
	if b == nil || b.finalized == nil {
		notFound(w, "no finality update yet")
		return
	}
	agg, err := a.signature(b)
	if err != nil {
		serverError(w, err)
		return
	}
	writeJSON(w, b.finality(agg))
}

func (a *API) serveBootstrap(w http.ResponseWriter, r *http.Request) {
	root, ok := parseRoot(r.PathValue("root"))
	if !ok {
		badRequest(w, "invalid block root")
		return
	}
	s := a.sim
	s.mu.Lock()
	b := s.byRoot[root]
	var c *committee
	var err error
	if b != nil {
		c, err = s.committee(types.SyncPeriod(b.header.Slot))
	}
	s.mu.Unlock()
	switch {
	case b == nil:
		notFound(w, "unknown block root")
	case err != nil:
		serverError(w, err)
	default:
		writeJSON(w, b.bootstrap(c))
	}
}

func (a *API) serveUpdates(w http.ResponseWriter, r *http.Request) {
	start, err1 := strconv.ParseUint(r.URL.Query().Get("start_period"), 10, 64)
	count, err2 := strconv.ParseUint(r.URL.Query().Get("count"), 10, 64)
	if err1 != nil || err2 != nil || count == 0 {
		badRequest(w, "start_period and count must be positive decimal integers")
		return
	}
	count = min(count, maxUpdates)
	out := make([]envelope, 0, count)
	for p := start; p < start+count && p >= start; p++ {
		e, ok, err := a.update(p)
		if err != nil {
			serverError(w, err)
			return
		}
		if !ok {
			break
		}
		out = append(out, e)
	}
	writeJSON(w, out)
}

func (a *API) update(period uint64) (envelope, bool, error) {
	s := a.sim
	s.mu.Lock()
	b := s.updates[period]
	var next *committee
	var err error
	if b != nil {
		next, err = s.committee(period + 1)
	}
	s.mu.Unlock()
	if b == nil || err != nil {
		return envelope{}, false, err
	}
	agg, err := a.signature(b)
	if err != nil {
		return envelope{}, false, err
	}
	return b.update(next, agg), true, nil
}

func (a *API) serveHeader(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var b *block
	if id == "head" {
		b = a.served()
	} else if root, ok := parseRoot(id); ok {
		a.sim.mu.Lock()
		b = a.sim.byRoot[root]
		a.sim.mu.Unlock()
	} else {
		badRequest(w, "invalid block id")
		return
	}
	if b == nil {
		notFound(w, "unknown block")
		return
	}
	a.sim.mu.Lock()
	finalized := a.sim.checkpoint[b.root]
	a.sim.mu.Unlock()
	writeJSON(w, b.headerResponse(finalized))
}

func parseRoot(s string) (common.Hash, bool) {
	if len(s) != 66 || s[:2] != "0x" {
		return common.Hash{}, false
	}
	var h common.Hash
	if err := h.UnmarshalText([]byte(s)); err != nil {
		return common.Hash{}, false
	}
	return h, true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg})
}

func notFound(w http.ResponseWriter, msg string)   { apiError(w, http.StatusNotFound, msg) }
func badRequest(w http.ResponseWriter, msg string) { apiError(w, http.StatusBadRequest, msg) }
func serverError(w http.ResponseWriter, err error) {
	apiError(w, http.StatusInternalServerError, err.Error())
}
