package strict

import (
	"slices"
	"sync"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// Proof levels of an answer that is not fully proven (Notes.Level, the
// Braid-Proof header).
const (
	// ProofPartial: part of the answer is proven (a base fee, a nonce
	// floor), the rest is the operators' word.
	ProofPartial = "partial"
	// ProofNone: the answer is the operators' word (a method strict mode
	// serves unchecked: verify.allow_unverified, net_version, the pending
	// pool).
	ProofNone = "none"
)

// Notes say how much of one answer is proven: Level "" (proven),
// ProofPartial or ProofNone, and why.
type Notes struct {
	Level   string
	Reasons []string
}

// add records an answer proven only to level, and why; the weakest level
// wins and every reason is kept once.
func (n *Notes) add(level, reason string) {
	if n.Level != ProofNone {
		n.Level = level
	}
	if !slices.Contains(n.Reasons, reason) {
		n.Reasons = append(n.Reasons, reason)
	}
}

// call is one call through the stage: the helpers deep in its paths
// (fees, the pending nonce, the local EVM's fee suggestion) record what
// they know of its proof here, and the stage returns it in the Answer.
type call struct {
	s *Stage

	mu    sync.Mutex // the local EVM may ask for a fee suggestion from its own goroutine
	notes Notes
}

func (c *call) partial(reason string) { c.note(ProofPartial, reason) }

func (c *call) note(level, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notes.add(level, reason)
}

// answer is resp with what was recorded.
func (c *call) answer(resp *jsonrpc.Response) Answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Answer{Response: resp, Notes: Notes{Level: c.notes.Level, Reasons: slices.Clone(c.notes.Reasons)}}
}
