package trust

import (
	"sync"
	"time"
	"unicode/utf8"
)

// lieLogSize bounds the recent lies /status shows per network.
const lieLogSize = 32

// lieReasonBytes bounds a lie's reason as shown (the check's message).
const lieReasonBytes = 300

// Lie is one answer that failed verification against a trusted header:
// its operator was struck for it.
type Lie struct {
	Time     time.Time `json:"time"`
	Operator string    `json:"operator"`
	Upstream string    `json:"upstream"`
	Method   string    `json:"method"`
	// Reason is the failed check's message (hashes and roots, never a
	// URL), cut to a few hundred bytes.
	Reason string `json:"reason"`
}

// lieLog keeps a network's most recent lies, bounded; its zero value is
// ready to use.
type lieLog struct {
	mu   sync.Mutex
	ring [lieLogSize]Lie
	next int
	n    int
}

func (l *lieLog) add(x Lie) {
	if len(x.Reason) > lieReasonBytes {
		cut := lieReasonBytes
		for cut > 0 && !utf8.RuneStart(x.Reason[cut]) {
			cut--
		}
		x.Reason = x.Reason[:cut] + "…"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring[l.next] = x
	l.next = (l.next + 1) % lieLogSize
	l.n = min(l.n+1, lieLogSize)
}

// list returns the lies, newest first.
func (l *lieLog) list() []Lie {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Lie, 0, l.n)
	for i := 1; i <= l.n; i++ {
		out = append(out, l.ring[(l.next-i+lieLogSize)%lieLogSize])
	}
	return out
}
