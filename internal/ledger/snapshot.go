package ledger

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// Snapshot is the ledger's state for /status/peers: no keys, no secrets.
type Snapshot struct {
	// AgeBuckets name the buckets of every per-bucket list, in order.
	AgeBuckets []string `json:"age_buckets"`
	// Peers are the accounts, best balance first.
	Peers   []PeerSnapshot `json:"peers"`
	Serving Serving        `json:"serving"`
	// Audits count this node's retention audits by outcome.
	Audits map[string]int64 `json:"audits"`
	// Held is the rarity of what this node holds.
	Held Availability `json:"held"`
	// Survey is the last survey of history availability in the network
	// (holders per age bucket of the chain), absent until one ran.
	Survey *Survey `json:"survey,omitempty"`
}

// Serving is the state of serving by standing.
type Serving struct {
	Capacity int `json:"capacity"`
	Serving  int `json:"serving"`
	Waiting  int `json:"waiting"`
	// Debtors counts the peers whose debt is past DebtLimit.
	Debtors int     `json:"debtors"`
	Limit   float64 `json:"debt_limit"`
}

// Availability is how widely the history this node holds is held, per age
// bucket: the figure `braid check` prints. Copies count the holders found
// in the DHT besides this node, each weighed by its standing, plus this
// node. Blocks are placed by age from the served tip; without one (braid
// check, no gateway running) from the last tip the gateway saw, HeadAt.
type Availability struct {
	Head      uint64 `json:"head"`
	HeadKnown bool   `json:"head_known"`
	// HeadAt is when Head was seen, for a tip from the database; absent
	// for the live one.
	HeadAt       *time.Time   `json:"head_at,omitempty"`
	TargetCopies float64      `json:"target_copies"`
	Buckets      []HeldBucket `json:"buckets"`
}

// HeldBucket is one age bucket of Availability.
type HeldBucket struct {
	Name string `json:"name"`
	// Blocks held in the bucket; Counted those whose holders were counted.
	Blocks  int `json:"blocks"`
	Counted int `json:"counted"`
	// MeanCopies is the mean copies of the counted blocks; Alone those no
	// other peer in good standing holds (this copy may be the last);
	// BelowTarget those with fewer than TargetCopies.
	MeanCopies  float64 `json:"mean_copies"`
	Alone       int     `json:"alone"`
	BelowTarget int     `json:"below_target"`
}

// Snapshot returns the ledger's state now.
func (l *Ledger) Snapshot() Snapshot {
	now := l.now()
	s := Snapshot{AgeBuckets: bucketNames(&l.cfg), Audits: map[string]int64{}, Held: l.Availability()}
	if sv, ok := l.LastSurvey(); ok {
		s.Survey = &sv
	}
	l.mu.Lock()
	s.Peers = make([]PeerSnapshot, 0, len(l.accounts))
	for id, a := range l.accounts {
		a.settle(now, l.cfg.ForgiveRate)
		p := a.snapshot(id, &l.cfg)
		if p.Debtor {
			s.Serving.Debtors++
		}
		s.Peers = append(s.Peers, p)
	}
	s.Serving.Capacity, s.Serving.Serving, s.Serving.Waiting = l.cfg.Capacity, l.q.inUse, len(l.q.waiting)
	s.Serving.Limit = l.cfg.DebtLimit
	for o := range auditOutcomes {
		s.Audits[o.String()] = l.audits[o]
	}
	l.mu.Unlock()
	slices.SortFunc(s.Peers, func(a, b PeerSnapshot) int {
		return cmp.Or(cmp.Compare(b.Balance, a.Balance), cmp.Compare(a.ID, b.ID))
	})
	return s
}

// Availability returns how widely the content this node holds is held,
// per age bucket.
func (l *Ledger) Availability() Availability {
	head, at, known := l.lastHead()
	names := bucketNames(&l.cfg)
	av := Availability{Head: head, HeadKnown: known, TargetCopies: l.cfg.TargetCopies, Buckets: make([]HeldBucket, len(names))}
	if !at.IsZero() {
		at = at.UTC()
		av.HeadAt = &at
	}
	sums := make([]float64, len(names))
	l.mu.Lock()
	for _, e := range l.held.m {
		i := bucket(&l.cfg, depthAge(e.Number, head, known))
		b := &av.Buckets[i]
		b.Blocks++
		if e.Sampled.IsZero() {
			continue
		}
		b.Counted++
		copies := e.Copies + 1
		sums[i] += copies
		if e.Copies < 1 {
			b.Alone++
		}
		if copies < l.cfg.TargetCopies {
			b.BelowTarget++
		}
	}
	l.mu.Unlock()
	for i := range av.Buckets {
		av.Buckets[i].Name = names[i]
		if n := av.Buckets[i].Counted; n > 0 {
			av.Buckets[i].MeanCopies = sums[i] / float64(n)
		}
	}
	return av
}

// WriteText writes the availability as a table, for `braid check`.
func (a Availability) WriteText(w io.Writer) error {
	head := "unknown"
	switch {
	case a.HeadKnown && a.HeadAt != nil:
		head = fmt.Sprintf("%d, as the gateway last saw it at %s", a.Head, a.HeadAt.Format(time.RFC3339))
	case a.HeadKnown:
		head = fmt.Sprint(a.Head)
	}
	if _, err := fmt.Fprintf(w, "history held by this gateway (head %s; copies = holders found in the DHT, weighed by standing, + this one; target %g):\n",
		head, a.TargetCopies); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "depth\tblocks\tcounted\tmean copies\talone\tbelow target\t")
	for _, b := range a.Buckets {
		if b.Blocks == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%d\t%d\t\n", b.Name, b.Blocks, b.Counted, b.MeanCopies, b.Alone, b.BelowTarget)
	}
	return tw.Flush()
}

// debtors counts the peers whose debt is past DebtLimit now.
func (l *Ledger) debtors() int {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.accounts {
		a.settle(now, l.cfg.ForgiveRate)
		if a.Balance < -l.cfg.DebtLimit {
			n++
		}
	}
	return n
}
