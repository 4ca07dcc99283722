package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/replica"
)

// Options configure a Control.
type Options struct {
	// Link is the Redis the replicas share (nil: none). Limits are counted
	// there, and auth.store "redis" keeps keys there.
	Link *replica.Link
	// Store replaces the store the configuration names (tests).
	Store Store
	// Clock times limits, quotas and key reloads; nil is the wall clock.
	Clock    clock.Clock
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Control checks callers: keys, limits, method lists and admission.
type Control struct {
	auth    config.Auth
	keys    *Keyring
	limiter *Limiter
	weights *Weights
	admit   map[string]*admission // by network; none without fair admission (config.FairSlots)
	slots   map[string]Slots      // by network: fair admission's slots and their source
	// capped holds, by network, the calls of keys with their own
	// max_inflight where fair admission is off: no slot
	// is shared, only each such key's cap is kept.
	capped map[string]*admission
	m      *metrics
	log    *slog.Logger

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// Caller is who sent a request: its key (nil: none) and its client
// address ("" when unknown, which no per-address limit counts).
type Caller struct {
	Key    *Key
	Client string
}

// Name is the caller's key name, "" without a key: the metrics' key label.
func (c *Caller) Name() string {
	if c == nil || c.Key == nil {
		return ""
	}
	return c.Key.Name
}

// New builds the Control of cfg (validated, with defaults), or fails when
// its key store cannot be opened.
func New(cfg *config.Config, opts Options) (*Control, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	store := opts.Store
	if store == nil {
		switch cfg.Auth.Store {
		case config.KeyStoreFile:
			store = NewFileStore(cfg.Auth.File)
		case config.KeyStoreRedis:
			if opts.Link == nil {
				return nil, errors.New("access: auth.store redis needs the redis link")
			}
			store = NewRedisStore(opts.Link)
		}
	}
	m := newMetrics(opts.Registry)
	auth := cfg.Auth
	if cl := &auth.Clients; cl.RPS > 0 && cl.Burst <= 0 { // a Config built in code, without ApplyDefaults
		cl.Burst = keyLimits(config.KeyLimits{RPS: cl.RPS}, config.KeyLimits{}).Burst
	}
	c := &Control{
		auth:    auth,
		keys:    newKeyring(cfg.Keys, cfg.Auth.KeyDefaults, store, opts.Clock, opts.Logger, m),
		limiter: newLimiter(opts.Link, opts.Clock, opts.Logger, m),
		weights: NewWeights(cfg.Auth.Weights, cfg.Auth.DefaultWeight),
		admit:   make(map[string]*admission),
		slots:   make(map[string]Slots),
		capped:  make(map[string]*admission),
		m:       m,
		log:     opts.Logger,
	}
	for _, n := range cfg.Networks {
		waiting := func(d float64) { m.waitingDelta(n.Name, d) }
		slots, from := cfg.FairSlots(n.Name)
		c.slots[n.Name] = Slots{Max: slots, From: from}
		m.slots(n.Name, slots)
		if slots > 0 {
			c.admit[n.Name] = newAdmission(slots, cfg.Auth.MaxQueue, waiting)
		} else {
			c.capped[n.Name] = newAdmission(math.MaxInt, cfg.Auth.MaxQueue, waiting)
		}
	}
	return c, nil
}

// Slots is a network's fair admission: Max calls at once (0: none) and
// where that number comes from (config.FairConfigured, FairBudgets,
// FairDefault, FairOff; "" when callers do not share braid).
type Slots struct {
	Max  int
	From string
}

// Slots reports network's fair admission.
func (c *Control) Slots(network string) Slots { return c.slots[network] }

// Start reads the key store once, then keeps reloading it until Close.
func (c *Control) Start(ctx context.Context) {
	ctx, c.stop = context.WithCancel(ctx)
	if c.keys.store != nil {
		c.keys.refresh(ctx)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.keys.run(ctx)
	}()
}

// Close stops the reloads.
func (c *Control) Close() {
	if c.stop != nil {
		c.stop()
	}
	c.wg.Wait()
}

// Keyring is the keys in force.
func (c *Control) Keyring() *Keyring { return c.keys }

// Limiter counts the limits.
func (c *Control) Limiter() *Limiter { return c.limiter }

// Identify finds who sends a request to network with key presented ("":
// none) from client, or refuses it: 401 for a missing (where required),
// unknown or revoked key, 403 for a key not valid on network, 503 while
// the key store has never been read.
func (c *Control) Identify(network, presented, client string) (*Caller, *Refusal) {
	if presented == "" {
		if c.auth.RequiredOn(network) {
			c.m.authResult(resultMissing, "")
			return nil, refuseMissing
		}
		c.m.authResult(resultAnonymous, "")
		return &Caller{Client: client}, nil
	}
	key, revoked := c.keys.Lookup(presented)
	switch {
	case key == nil && revoked != "":
		c.m.authResult(resultRevoked, revoked)
		return nil, refuseRevoked
	case key == nil && !c.keys.Loaded():
		c.m.authResult(resultUnavailable, "")
		return nil, refuseUnavailable
	case key == nil:
		c.m.authResult(resultUnknown, "")
		return nil, refuseUnknown
	case !key.On(network):
		c.m.authResult(resultForbidden, key.Name)
		return nil, refuseForbidden(network)
	}
	c.m.authResult(resultOK, key.Name)
	return &Caller{Key: key, Client: client}, nil
}

// Recheck refuses a caller whose key was revoked since Identify (a
// WebSocket connection checks each message).
func (c *Control) Recheck(caller *Caller) *Refusal {
	if caller.Key == nil || c.keys.Active(caller.Key) {
		return nil
	}
	c.m.authResult(resultRevoked, caller.Key.Name)
	return refuseRevoked
}

// MaxBatch refuses a batch of n calls over the key's own max_batch.
func (c *Control) MaxBatch(caller *Caller, n int) *jsonrpc.Error {
	if caller.Key == nil || caller.Key.Limits.MaxBatch <= 0 || n <= caller.Key.Limits.MaxBatch {
		return nil
	}
	c.m.rejection("batch", caller.Key.Name)
	return jsonrpc.Errorf(jsonrpc.CodeInvalidRequest,
		"invalid request: batch of %d calls exceeds this API key's limit of %d", n, caller.Key.Limits.MaxBatch)
}

// Permit refuses a call of a method the caller's key may not call.
func (c *Control) Permit(caller *Caller, method string) *jsonrpc.Error {
	if caller.Key == nil || caller.Key.Allows(method) {
		return nil
	}
	c.m.rejection("method", caller.Key.Name)
	return jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "the method %s is not allowed for this API key", method)
}

// Charge counts one request of the calls methods names (a batch: every
// member) against the caller's buckets: each call is one against the
// rates (a batch larger than a burst costs the whole burst), and its
// method's weight against the daily quotas. It takes from every bucket or
// from none, and refuses with 429 naming the limit and when it resets.
func (c *Control) Charge(ctx context.Context, caller *Caller, methods []string) *Refusal {
	var credits int64
	for _, m := range methods {
		credits += c.weights.Of(m)
	}
	calls := int64(len(methods))
	var bs [4]bucket
	b := bs[:0]
	if k := caller.Key; k != nil {
		id := "k:" + k.ID
		if k.Limits.RPS > 0 {
			b = append(b, bucket{id: id, limit: LimitRPS, rate: k.Limits.RPS, burst: k.Limits.Burst, cost: min(calls, int64(k.Limits.Burst))})
		}
		if k.Limits.DailyQuota > 0 {
			b = append(b, bucket{id: id, limit: LimitQuota, quota: k.Limits.DailyQuota, cost: credits})
		}
	}
	if cl := c.auth.Clients; caller.Client != "" && (caller.Key == nil || cl.Keyed) {
		id := "c:" + caller.Client
		if cl.RPS > 0 {
			b = append(b, bucket{id: id, limit: LimitClientRPS, rate: cl.RPS, burst: cl.Burst, cost: min(calls, int64(cl.Burst))})
		}
		if cl.DailyQuota > 0 {
			b = append(b, bucket{id: id, limit: LimitClientQuota, quota: cl.DailyQuota, cost: credits})
		}
	}
	if v := c.limiter.take(ctx, b); !v.ok {
		c.m.rejection(v.limit, caller.Name())
		var l Limits
		if caller.Key != nil {
			l = caller.Key.Limits
		}
		return limited(v, l, c.auth.Clients)
	}
	c.m.charged(caller.Name(), credits)
	return nil
}

// Queues reports whether a call of caller on network may have to wait:
// network has fair admission's slots (auth.max_inflight, or derived), or
// caller's key its own max_inflight (else Admit returns at once).
func (c *Control) Queues(caller *Caller, network string) bool {
	return c.admission(caller, network) != nil
}

// admission is what admits caller's calls on network: the network's
// slots, else (for a key with its own max_inflight) the key's cap; nil
// for none.
func (c *Control) admission(caller *Caller, network string) *admission {
	if a := c.admit[network]; a != nil {
		return a
	}
	if caller.Key != nil && caller.Key.Limits.MaxInflight > 0 {
		return c.capped[network]
	}
	return nil
}

// Admit waits for one of network's slots for a call of caller (at once
// without fair admission, unless the caller's key has its own
// max_inflight) and returns the function that frees it. It fails with
// -32005 when the caller has auth.max_queue calls waiting already, and
// with a timeout when ctx ends first.
func (c *Control) Admit(ctx context.Context, caller *Caller, network string) (func(), *jsonrpc.Error) {
	a := c.admission(caller, network)
	if a == nil {
		return func() {}, nil
	}
	who, limit := "c:"+caller.Client, 0
	if caller.Key != nil {
		who, limit = "k:"+caller.Key.ID, caller.Key.Limits.MaxInflight
	}
	release, err := a.acquire(ctx, who, limit)
	switch {
	case errors.Is(err, errQueueFull):
		c.m.rejection(LimitConcurrency, caller.Name())
		return nil, jsonrpc.Errorf(jsonrpc.CodeLimitExceeded,
			"limit exceeded: %d of your calls already wait for network %q (auth.max_queue); wait for their answers", c.auth.MaxQueue, network).
			WithData(limitData{Limit: LimitConcurrency, Scope: scopeOf(caller), RetryAfter: 1})
	case err != nil:
		return nil, jsonrpc.FromError(fmt.Errorf("waiting for a free slot (auth.max_inflight, fair admission): %w", err))
	}
	return release, nil
}

func scopeOf(caller *Caller) string {
	if caller.Key != nil {
		return "key"
	}
	return "client"
}

// Weight is the credits of one call of method.
func (c *Control) Weight(method string) int64 { return c.weights.Of(method) }

// OnKeysChange registers fn to run after the keys changed (a WebSocket
// server closes the connections of revoked keys).
func (c *Control) OnKeysChange(fn func()) { c.keys.OnChange(fn) }
