package gateway

import (
	"context"
	"slices"
	"sync"
)

// Proof levels of an answer that is not fully proven (Result.Proof, the
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

// proofNotes collect, in strict mode, how much of one call's answer is
// proven, from the helpers deep in the strict paths (fees, the pending
// nonce, the local EVM) that know. Execute returns them in the Result;
// they travel in the call's context only inside the executor.
type proofNotes struct {
	mu      sync.Mutex
	level   string // "" proven, ProofPartial or ProofNone
	reasons []string
}

type proofKey struct{}

// withProofNotes returns a context whose strict helpers record into the
// returned notes.
func withProofNotes(ctx context.Context) (context.Context, *proofNotes) {
	p := &proofNotes{}
	return context.WithValue(ctx, proofKey{}, p), p
}

// metaFrom returns the notes of ctx's call (nil: none kept, which records
// nothing).
func metaFrom(ctx context.Context) *proofNotes {
	p, _ := ctx.Value(proofKey{}).(*proofNotes)
	return p
}

// notePartial records an answer only partly proven, and why.
func (p *proofNotes) notePartial(reason string) { p.noteProof(ProofPartial, reason) }

// noteProof records an answer proven only to level, and why; the weakest
// level wins and every reason is kept once.
func (p *proofNotes) noteProof(level, reason string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.level != ProofNone {
		p.level = level
	}
	if !slices.Contains(p.reasons, reason) {
		p.reasons = append(p.reasons, reason)
	}
}

// notes returns what was recorded.
func (p *proofNotes) notes() (string, []string) {
	if p == nil {
		return "", nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level, slices.Clone(p.reasons)
}

// copyProof records what another call (a merged fetch) recorded.
func (p *proofNotes) copyProof(level string, reasons []string) {
	for _, r := range reasons {
		p.noteProof(level, r)
	}
}
