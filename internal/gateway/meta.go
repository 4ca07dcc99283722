package gateway

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Meta collects what the server should say about a request beyond its
// JSON-RPC answer (response headers). One Meta covers a whole batch.
type Meta struct {
	mu            sync.Mutex
	agreed, quota int
	// proof is the weakest proof of an answer ("" for proven, "partial"
	// or "none") and why, for the Braid-Proof header (strict mode).
	proof   string
	reasons []string
}

type metaKey struct{}

// WithMeta returns a context whose calls record into the returned Meta.
func WithMeta(ctx context.Context) (context.Context, *Meta) {
	m := &Meta{}
	return context.WithValue(ctx, metaKey{}, m), m
}

func metaFrom(ctx context.Context) *Meta {
	m, _ := ctx.Value(metaKey{}).(*Meta)
	return m
}

// noteQuorum records an answer backed by fewer operators than the quorum
// asked for; a batch reports its weakest member.
func (m *Meta) noteQuorum(agreed, k int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.quota == 0 || agreed*m.quota < m.agreed*k {
		m.agreed, m.quota = agreed, k
	}
}

// Quorum is the Braid-Quorum header value, "agreed/k" (e.g. "1/2"), or
// "" when every quorum read was fully backed.
func (m *Meta) Quorum() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.quota == 0 {
		return ""
	}
	return strconv.Itoa(m.agreed) + "/" + strconv.Itoa(m.quota)
}

// shortfall returns the weakest quorum recorded ("agreed of k"), k 0 when
// none fell short.
func (m *Meta) shortfall() (agreed, k int) {
	if m == nil {
		return 0, 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.agreed, m.quota
}

// Proof levels of an answer that is not fully proven (Braid-Proof).
const (
	// ProofPartial: part of the answer is proven (a base fee, a nonce
	// floor), the rest is the operators' word.
	ProofPartial = "partial"
	// ProofNone: the answer is the operators' word (a method strict mode
	// serves unchecked: verify.allow_unverified, net_version, the pending
	// pool).
	ProofNone = "none"
)

// notePartial records an answer only partly proven, and why.
func (m *Meta) notePartial(reason string) { m.noteProof(ProofPartial, reason) }

// noteProof records an answer proven only to level, and why; a batch
// reports its weakest member and every reason once.
func (m *Meta) noteProof(level, reason string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proof != ProofNone {
		m.proof = level
	}
	if !slices.Contains(m.reasons, reason) {
		m.reasons = append(m.reasons, reason)
	}
}

// Proof is the Braid-Proof header value: the level and the reasons
// (`partial; reason="…"`), or "" when every answer was proven or needs
// no proof.
func (m *Meta) Proof() string {
	level, reasons := m.proofNotes()
	if level == "" {
		return ""
	}
	return level + "; reason=" + strconv.Quote(strings.Join(reasons, "; "))
}

// proofNotes returns what noteProof recorded.
func (m *Meta) proofNotes() (string, []string) {
	if m == nil {
		return "", nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proof, slices.Clone(m.reasons)
}

// copyProof records in m what other recorded (a merged fetch's notes for
// each caller).
func (m *Meta) copyProof(level string, reasons []string) {
	for _, r := range reasons {
		m.noteProof(level, r)
	}
}
