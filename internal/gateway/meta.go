package gateway

import (
	"context"
	"strconv"
	"sync"
)

// Meta collects what the server should say about a request beyond its
// JSON-RPC answer (response headers). One Meta covers a whole batch.
type Meta struct {
	mu            sync.Mutex
	agreed, quota int
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
