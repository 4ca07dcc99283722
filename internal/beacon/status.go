package beacon

import (
	"github.com/ethereum/go-ethereum/common"
)

// Status is a snapshot for /status and /readyz. It holds no secret: no URL
// path, query, userinfo or header value.
type Status struct {
	Network    string           `json:"network"`
	Ready      bool             `json:"ready"`
	Reason     string           `json:"reason,omitempty"` // why not ready
	Checkpoint CheckpointStatus `json:"checkpoint"`
	Head       *HeadStatus      `json:"head,omitempty"`
	Finalized  *Finalized       `json:"finalized,omitempty"`
	Endpoints  []EndpointStatus `json:"endpoints"`
}

// CheckpointStatus is the checkpoint the client started from.
type CheckpointStatus struct {
	Root         common.Hash `json:"root"`
	Source       string      `json:"source"` // configured or saved
	Bootstrapped bool        `json:"bootstrapped"`
	Slot         uint64      `json:"slot,omitempty"` // known once bootstrapped (or saved)
	SavedSlot    uint64      `json:"saved_slot,omitempty"`
	SaveError    string      `json:"save_error,omitempty"`
}

// HeadStatus is the latest signed head with its age.
type HeadStatus struct {
	Head
	AgeSeconds float64 `json:"age_seconds"`
	Stale      bool    `json:"stale"`
}

// Status returns the client's state.
func (c *Client) Status() Status {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{Network: c.spec.Name}
	if err := c.readyLocked(now); err != nil {
		s.Reason = err.Error()
	} else {
		s.Ready = true
	}
	s.Checkpoint = CheckpointStatus{Root: c.cp.Root, Source: c.cp.Source, Bootstrapped: c.booted, Slot: c.cp.Slot, SavedSlot: c.savedSlot, SaveError: c.saveErr}
	if c.booted {
		s.Checkpoint.Slot = c.bootSlot
	}
	if c.head != nil {
		age := c.head.Age(now)
		s.Head = &HeadStatus{Head: *c.head, AgeSeconds: age.Seconds(), Stale: age > c.cfg.MaxHeadAge}
	}
	if c.finalized != nil {
		f := *c.finalized
		s.Finalized = &f
	}
	for _, ep := range c.eps {
		s.Endpoints = append(s.Endpoints, ep.status())
	}
	return s
}
