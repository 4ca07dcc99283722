package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
)

// maxRecord bounds a persisted record: an account with ClaimsPerPeer
// claims and its flows is a few KiB; anything larger is not one of ours.
const maxRecord = 64 << 10

// errRecord: a persisted record that is not one this ledger wrote.
var errRecord = errors.New("ledger: malformed record")

// decodeAccount decodes a persisted account of peer key (the id's bytes),
// refusing what this ledger never writes: a key that is no peer id, a
// record over maxRecord, numbers that are not finite or counts below
// zero, claims of unknown kinds. Claims past ClaimsPerPeer are dropped
// and the flows fitted to the configured age buckets. c must have its
// defaults.
func decodeAccount(key, data []byte, c *Config) (peer.ID, *account, error) {
	id, err := peer.IDFromBytes(key)
	if err != nil {
		return "", nil, fmt.Errorf("%w: account key: %w", errRecord, err)
	}
	if len(data) > maxRecord {
		return "", nil, fmt.Errorf("%w: account of %d bytes", errRecord, len(data))
	}
	a := new(account)
	if err := json.Unmarshal(data, a); err != nil {
		return "", nil, fmt.Errorf("%w: %w", errRecord, err)
	}
	if err := a.check(); err != nil {
		return "", nil, err
	}
	if len(a.Claims) > c.ClaimsPerPeer {
		a.Claims = a.Claims[:c.ClaimsPerPeer]
	}
	if len(a.Gone) > c.ClaimsPerPeer {
		a.Gone = a.Gone[:c.ClaimsPerPeer]
	}
	a.fit(len(c.AgeBuckets) + 2)
	return id, a, nil
}

// check refuses an account's values this ledger never writes.
func (a *account) check() error {
	for _, v := range []float64{a.Balance, a.InCredits, a.OutCredits, a.Penalties, a.Forgiven} {
		if !finite(v) {
			return fmt.Errorf("%w: a balance that is not a finite number", errRecord)
		}
	}
	if a.InCredits < 0 || a.OutCredits < 0 || a.Penalties < 0 || a.Forgiven < 0 ||
		a.Passed < 0 || a.Failed < 0 || a.Lies < 0 || a.Misses < 0 || a.NotHeld < 0 ||
		a.AuditsEvicted < 0 || a.Evicted < 0 {
		return fmt.Errorf("%w: a negative count", errRecord)
	}
	for _, fs := range [][]Flow{a.In, a.Out} {
		for _, f := range fs {
			if f.Transfers < 0 || f.Bytes < 0 || !finite(f.Credits) || f.Credits < 0 {
				return fmt.Errorf("%w: a flow with a negative or non-finite count", errRecord)
			}
		}
	}
	for _, cl := range append(slices.Clip(a.Claims), a.Gone...) {
		if !auditable(cl.Kind) {
			return fmt.Errorf("%w: a claim of unknown kind %d", errRecord, cl.Kind)
		}
	}
	return nil
}

// decodeHeld decodes a held block's persisted rarity.
func decodeHeld(data []byte) (heldEntry, error) {
	var e heldEntry
	if len(data) > maxRecord {
		return e, fmt.Errorf("%w: held record of %d bytes", errRecord, len(data))
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("%w: %w", errRecord, err)
	}
	if !finite(e.Copies) || e.Copies < 0 || e.Raw < 0 {
		return e, fmt.Errorf("%w: held copies %v, %d", errRecord, e.Copies, e.Raw)
	}
	if e.Sampled.After(farFuture) {
		return e, fmt.Errorf("%w: held sampled at %s", errRecord, e.Sampled)
	}
	return e, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
