package access

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
)

// reloadEvery is how often the Keyring asks its store whether the keys
// changed: a revoked key stops working within a second on every replica.
const reloadEvery = 250 * time.Millisecond

// ring is one snapshot of the keys: active keys and revoked ones (by
// name, so a refusal can say "revoked") by hash.
type ring struct {
	active  map[digest]*Key
	revoked map[digest]string
	stored  map[digest]string // every valid stored record's name (active or revoked)
}

// Keyring holds the keys braid accepts: the config's, and its store's,
// which it reloads when the store's version changes.
type Keyring struct {
	static   []*Key
	store    Store // nil: the config's keys only
	defaults config.KeyLimits
	clock    clock.Clock
	log      *slog.Logger

	snap    atomic.Pointer[ring]
	loaded  atomic.Bool // the store has been read once
	version string      // of the store, as last read (Run's goroutine only)
	failing bool        // the last refresh failed (Run's goroutine only)
	// held is every stored record (active or revoked) last read, by hash
	// (Run's goroutine only). braid never deletes a record, so one that
	// disappears was lost: a Redis restarted without its data, or an edit.
	held map[digest]string
	m    *metrics

	mu       sync.Mutex
	onChange []func()
}

func newKeyring(keys []config.APIKey, defaults config.KeyLimits, store Store, c clock.Clock, log *slog.Logger, m *metrics) *Keyring {
	k := &Keyring{store: store, defaults: defaults, clock: c, log: log, m: m}
	for _, ck := range keys {
		k.static = append(k.static, fromConfig(ck, defaults))
	}
	k.install(nil)
	if store == nil {
		k.loaded.Store(true)
	}
	return k
}

// Lookup returns the active key presented (the key itself), or (when none
// is active) the name of a revoked key it is.
func (k *Keyring) Lookup(presented string) (key *Key, revoked string) {
	sum := digestOf(presented)
	r := k.snap.Load()
	if key := r.active[sum]; key != nil {
		return key, ""
	}
	return nil, r.revoked[sum]
}

// Active reports whether key is still accepted (not revoked or removed).
func (k *Keyring) Active(key *Key) bool {
	return k.snap.Load().active[key.sum] != nil
}

// Loaded reports whether the store's keys are known (always, without a
// store). Until they are, a key braid does not know may be one of them.
func (k *Keyring) Loaded() bool { return k.loaded.Load() }

// OnChange registers fn to run after the keys changed.
func (k *Keyring) OnChange(fn func()) {
	k.mu.Lock()
	k.onChange = append(k.onChange, fn)
	k.mu.Unlock()
}

// Keys lists the active keys (for tests and status).
func (k *Keyring) Keys() []*Key {
	r := k.snap.Load()
	out := make([]*Key, 0, len(r.active))
	for _, key := range r.active {
		out = append(out, key)
	}
	return out
}

// run refreshes the keys every reloadEvery until ctx ends.
func (k *Keyring) run(ctx context.Context) {
	if k.store == nil {
		return
	}
	for {
		k.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-k.clock.After(reloadEvery):
		}
	}
}

// refresh reloads the store's keys when its version changed. A store it
// cannot read leaves the keys as they were, with one WARN until it can.
func (k *Keyring) refresh(ctx context.Context) {
	v, err := k.store.Version(ctx)
	if err == nil && v == k.version && k.loaded.Load() {
		k.recovered()
		return
	}
	var records []Record
	if err == nil {
		records, err = k.store.List(ctx)
	}
	if err != nil {
		if !k.failing {
			k.failing = true
			k.log.Warn("cannot read API keys from the key store: keeping the keys as last read (a key revoked meanwhile still works here)",
				"store", k.store.Kind(), "err", err.Error())
		}
		return
	}
	k.recovered()
	k.version = v
	k.install(records)
	k.loaded.Store(true)
	k.noteLost()
	k.mu.Lock()
	fns := append([]func(){}, k.onChange...)
	k.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

func (k *Keyring) recovered() {
	if k.failing {
		k.failing = false
		k.log.Info("key store readable again", "store", k.store.Kind())
	}
}

// noteLost warns when stored records read before are gone: braid keeps
// revoked records, so a key only disappears when the store lost it, and
// its callers now get 401.
func (k *Keyring) noteLost() {
	r := k.snap.Load()
	var lost []string
	for sum, name := range k.held {
		if _, ok := r.stored[sum]; !ok {
			lost = append(lost, name)
		}
	}
	k.held = r.stored
	if len(lost) == 0 {
		return
	}
	slices.Sort(lost)
	k.log.Warn("stored API keys vanished from the key store, and their callers now get 401: braid never deletes one, so the store lost them (a Redis restarted without its data or evicting keys, a key file replaced?); add them again with braid keys add (docs/deploy.md)",
		"store", k.store.Kind(), "lost", len(lost), "names", strings.Join(lost, ","))
}

// install makes the config's keys and records the keys in force. A record
// that is not valid is skipped with a WARN naming its position and name.
func (k *Keyring) install(records []Record) {
	r := &ring{active: make(map[digest]*Key, len(k.static)+len(records)), revoked: make(map[digest]string),
		stored: make(map[digest]string, len(records))}
	for _, key := range k.static {
		r.active[key.sum] = key
	}
	for i := range records {
		rec := records[i]
		if msg := checkRecord(&rec); msg != "" {
			k.log.Warn("ignoring a stored API key", "store", k.store.Kind(), "item", i+1, "name", rec.Name, "problem", msg)
			continue
		}
		sum := parseDigest(rec.Hash)
		r.stored[sum] = rec.Name
		if rec.Revoked != nil {
			if r.active[sum] == nil {
				r.revoked[sum] = rec.Name
			}
			continue
		}
		if r.active[sum] == nil { // the config's key wins
			r.active[sum] = fromRecord(rec, k.store.Kind(), k.defaults)
		}
	}
	k.snap.Store(r)
	k.count(r)
}

// count sets braid_api_keys from r.
func (k *Keyring) count(r *ring) {
	n := map[[2]string]float64{{"config", "active"}: 0}
	if k.store != nil {
		n[[2]string{k.store.Kind(), "active"}] = 0
		n[[2]string{k.store.Kind(), "revoked"}] = float64(len(r.revoked))
	}
	for _, key := range r.active {
		n[[2]string{key.Source, "active"}]++
	}
	for sl, v := range n {
		k.m.setKeys(sl[0], sl[1], v)
	}
}
