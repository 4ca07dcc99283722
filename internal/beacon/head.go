package beacon

import (
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/beacon/types"
	"github.com/ethereum/go-ethereum/common"
)

// Head is a beacon head that the sync committee signed by supermajority,
// with the execution block it commits to.
type Head struct {
	Slot       uint64      `json:"slot"`
	BeaconRoot common.Hash `json:"beacon_root"`
	BlockHash  common.Hash `json:"block_hash"` // execution block hash: the trusted tip
	// BlockNumber is the execution block number, proven with the hash. It
	// is 0 from Gloas on, whose light-client headers carry only the hash:
	// take it from the header fetched by hash.
	BlockNumber uint64    `json:"block_number"`
	Signers     int       `json:"signers"`   // sync committee members who signed (of 512)
	SlotTime    time.Time `json:"slot_time"` // start of the slot; the head's age counts from here
	Received    time.Time `json:"received"`  // when braid accepted it
}

// Age returns how old the head is at now.
func (h Head) Age(now time.Time) time.Duration { return now.Sub(h.SlotTime) }

// Finalized is the latest finalized beacon block known from a signed
// finality update, with its execution block.
type Finalized struct {
	Slot        uint64      `json:"slot"`
	BeaconRoot  common.Hash `json:"beacon_root"`
	BlockHash   common.Hash `json:"block_hash"`
	BlockNumber uint64      `json:"block_number"` // 0 from Gloas on, as Head.BlockNumber
	Received    time.Time   `json:"received"`
}

// publish exposes the head tracker's validated heads; the gate calls it at
// the end of each processing round.
func (c *Client) publish() {
	now := c.clock.Now()
	changed := false
	if opt, ok := c.heads.ValidatedOptimistic(); ok {
		root := opt.Attested.Hash()
		c.mu.Lock()
		if c.head == nil || c.head.BeaconRoot != root {
			number, _ := blockNumber(opt.Attested.Proof)
			h := Head{
				Slot: opt.Attested.Slot, BeaconRoot: root, BlockHash: opt.Attested.BlockHash(), BlockNumber: number,
				Signers: opt.Signature.SignerCount(), SlotTime: c.spec.SlotTime(opt.Attested.Slot), Received: now,
			}
			first := c.head == nil
			c.head, changed = &h, true
			c.mu.Unlock()
			c.logHead(h, first)
		} else {
			c.mu.Unlock()
		}
	}
	if fin, ok := c.heads.ValidatedFinality(); ok && c.setFinalized(fin, now) {
		changed = true
	}
	if changed {
		c.notify()
	}
}

func (c *Client) logHead(h Head, first bool) {
	if first {
		c.log.Info("beacon light client: first signed head", "slot", h.Slot, "block", h.BlockNumber, "hash", h.BlockHash, "signers", h.Signers)
		return
	}
	c.log.Debug("beacon light client: signed head", "slot", h.Slot, "block", h.BlockNumber, "hash", h.BlockHash, "signers", h.Signers)
}

// setFinalized records a new finalized block and saves it as the restart
// checkpoint when it starts an epoch (checkpoints are epoch-boundary roots).
func (c *Client) setFinalized(fin types.FinalityUpdate, now time.Time) bool {
	root := fin.Finalized.Hash()
	c.mu.Lock()
	if c.finalized != nil && (c.finalized.BeaconRoot == root || c.finalized.Slot > fin.Finalized.Slot) {
		c.mu.Unlock()
		return false
	}
	number, _ := blockNumber(fin.Finalized.Proof)
	c.finalized = &Finalized{Slot: fin.Finalized.Slot, BeaconRoot: root, BlockHash: fin.Finalized.BlockHash(), BlockNumber: number, Received: now}
	c.mu.Unlock()
	if fin.Finalized.Slot%params.EpochLength == 0 {
		c.saveCheckpoint(root, fin.Finalized.Slot)
	}
	return true
}

// Head returns the latest signed head if it is fresh. Otherwise the error
// wraps ErrNotReady (ErrNoHead, ErrStaleHead, …) and says why; a stale head
// is still returned for information but must not be served.
func (c *Client) Head() (Head, error) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var h Head
	if c.head != nil {
		h = *c.head
	}
	return h, c.readyLocked(now)
}

// Finalized returns the latest finalized block, if any is known.
func (c *Client) Finalized() (Finalized, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finalized == nil {
		return Finalized{}, false
	}
	return *c.finalized, true
}

// Ready returns nil when the client has a fresh signed head and a reachable
// beacon API; otherwise an error wrapping ErrNotReady with the reason.
func (c *Client) Ready() error {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readyLocked(now)
}

func (c *Client) readyLocked(now time.Time) error {
	switch {
	case c.fatal != nil:
		return c.fatal
	case c.closed:
		return ErrStopped
	case (!c.booted || c.head == nil) && c.unreachableLocked():
		// Before the first head, an API that never answered says more
		// than "bootstrapping": nothing will come until one does.
		return fmt.Errorf("%w (%d configured) before the first signed head: %s%s", ErrNoEndpoint, len(c.eps), c.stage(), c.endpointHint())
	case !c.booted:
		return fmt.Errorf("%w: checkpoint %s (%s)%s", ErrBootstrapping, c.cp.Root, c.cp.Source, c.endpointHint())
	case c.head == nil:
		return fmt.Errorf("%w%s", ErrNoHead, c.endpointHint())
	}
	if age := c.head.Age(now); age > c.cfg.MaxHeadAge {
		return fmt.Errorf("%w: head at slot %d is %v old, over max_head_age %v%s", ErrStaleHead, c.head.Slot, age.Round(time.Second), c.cfg.MaxHeadAge, c.endpointHint())
	}
	if !c.anyUpLocked() {
		return fmt.Errorf("%w (%d configured)%s", ErrNoEndpoint, len(c.eps), c.endpointHint())
	}
	return nil
}

func (c *Client) anyUpLocked() bool {
	for _, ep := range c.eps {
		if ep.status().Up {
			return true
		}
	}
	return false
}

// unreachableLocked reports whether every endpoint is down and has failed
// at least once (a fresh client, still connecting, is not unreachable).
func (c *Client) unreachableLocked() bool {
	for _, ep := range c.eps {
		if s := ep.status(); s.Up || s.LastError == "" {
			return false
		}
	}
	return true
}

// stage says how far the client got before its first head.
func (c *Client) stage() string {
	if !c.booted {
		return fmt.Sprintf("bootstrapping from checkpoint %s (%s)", c.cp.Root, c.cp.Source)
	}
	return "bootstrapped, no signed head yet"
}

// endpointHint names the first endpoint error, for not-ready reasons.
func (c *Client) endpointHint() string {
	for _, ep := range c.eps {
		if s := ep.status(); s.Quarantined {
			return fmt.Sprintf("; %s quarantined: %s", s.Name, s.QuarantineReason)
		} else if s.LastError != "" {
			return fmt.Sprintf("; %s: %s", s.Name, s.LastError)
		}
	}
	return ""
}
