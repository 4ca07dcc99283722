package quorum

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Dispute is one quorum read whose operators gave different answers.
type Dispute struct {
	Time    time.Time `json:"time"`
	Network string    `json:"network"`
	Method  string    `json:"method"`
	// ParamsHash identifies the call's params without revealing them.
	ParamsHash string `json:"params_hash"`
	// Block is the block the read was pinned to (for calls by hash: the
	// served tip it was asked at); BlockHash when pinned by hash.
	Block     uint64   `json:"block"`
	BlockHash string   `json:"block_hash,omitempty"`
	Answers   []Answer `json:"answers"`
	// Decision is what braid did: resolved (k operators agreed after
	// all), majority, or error.
	Decision string   `json:"decision"`
	Losers   []string `json:"losers,omitempty"`
}

// Dispute is o's record for the log: the read of method with params on
// network at now, pinned to block (and hash, when pinned by hash).
func (o *Outcome) Dispute(now time.Time, network, method string, params json.RawMessage, block uint64, hash common.Hash) Dispute {
	sum := sha256.Sum256(append([]byte(method), params...))
	d := Dispute{Time: now.UTC(), Network: network, Method: method, ParamsHash: hex.EncodeToString(sum[:8]),
		Block: block, Answers: o.Answers, Decision: o.Decision, Losers: o.Losers}
	if hash != (common.Hash{}) {
		d.BlockHash = hash.Hex()
	}
	return d
}

// Upstream names the upstream through which op gave its answer ("" when
// it gave none).
func (o *Outcome) Upstream(op string) string {
	name := ""
	for _, a := range o.Answers {
		if a.Operator == op && a.Hash != "" {
			name = a.Upstream
		}
	}
	return name
}

// Log keeps the most recent disputes, bounded.
type Log struct {
	mu   sync.Mutex
	ring []Dispute
	next int
	full bool
}

// NewLog returns a log keeping the last size disputes.
func NewLog(size int) *Log { return &Log{ring: make([]Dispute, max(size, 1))} }

// Add records d, dropping the oldest when full.
func (l *Log) Add(d Dispute) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring[l.next] = d
	l.next = (l.next + 1) % len(l.ring)
	if l.next == 0 {
		l.full = true
	}
}

// List returns the disputes, newest first.
func (l *Log) List() []Dispute {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.next
	if l.full {
		n = len(l.ring)
	}
	out := make([]Dispute, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, l.ring[(l.next-i+len(l.ring))%len(l.ring)])
	}
	return out
}
