package ledger

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
)

// Survey is the history-availability figure `braid check` prints: for
// random blocks of each age bucket of the chain (held here or not), how
// many peers the DHT finds holding their receipts (the part providers
// prune first), raw and weighed by this ledger's standing of each.
type Survey struct {
	// At is when the survey was taken; Head the served tip then.
	At           time.Time      `json:"at"`
	Head         uint64         `json:"head"`
	TargetCopies float64        `json:"target_copies"`
	Buckets      []SurveyBucket `json:"buckets"`
}

// SurveyBucket is one age bucket of a Survey.
type SurveyBucket struct {
	Name string `json:"name"`
	// Sampled blocks (0: the chain is not that deep, or no header).
	Sampled int `json:"sampled"`
	// MeanHolders is the mean count of holders found per block;
	// MeanCopies the same weighed by standing.
	MeanHolders float64 `json:"mean_holders"`
	MeanCopies  float64 `json:"mean_copies"`
	// None counts blocks no peer holds (only providers, if any, still
	// serve them); BelowTarget those with fewer weighed copies than
	// TargetCopies.
	None        int `json:"none"`
	BelowTarget int `json:"below_target"`
}

// SurveyOnce samples perBucket random blocks in every age bucket of the
// chain below the head and counts their holders with net's DHT search
// (bounded by the peer layer's FindTimeout and MaxHolders each), headers
// from braid's trusted path. Blocks whose header or search fails are left
// out of the figure. It needs the head. A survey that ran to its end is
// kept as the last one (LastSurvey: /status/peers, persisted for `braid
// check`).
func (l *Ledger) SurveyOnce(ctx context.Context, net Network, headers history.HeaderSource, perBucket int) (Survey, error) {
	head, known := l.headNow()
	if !known {
		return Survey{}, fmt.Errorf("ledger: survey: the served tip is not known yet")
	}
	names := bucketNames(&l.cfg)
	sv := Survey{At: l.now(), Head: head, TargetCopies: l.cfg.TargetCopies, Buckets: make([]SurveyBucket, len(names)-1)}
	var lo uint64 // depth range of the bucket: [lo, hi)
	for i := range sv.Buckets {
		b := &sv.Buckets[i]
		b.Name = names[i+1]
		hi := head + 1
		if i < len(l.cfg.AgeBuckets) {
			hi = min(l.cfg.AgeBuckets[i], hi)
		}
		if lo < hi {
			l.surveyBucket(ctx, net, headers, head, lo, hi, perBucket, b)
		}
		if i < len(l.cfg.AgeBuckets) {
			lo = l.cfg.AgeBuckets[i]
		}
	}
	if err := ctx.Err(); err != nil {
		return sv, err
	}
	l.keepSurvey(sv)
	l.metrics.surveyed(sv)
	return sv, nil
}

// surveyBucket samples blocks at depths [lo, hi) below head into b.
func (l *Ledger) surveyBucket(ctx context.Context, net Network, headers history.HeaderSource, head, lo, hi uint64, n int, b *SurveyBucket) {
	var holders, copies float64
	for range n {
		if ctx.Err() != nil {
			return
		}
		l.mu.Lock()
		depth := lo + l.rnd.Uint64N(hi-lo)
		l.mu.Unlock()
		h, err := headers.Header(ctx, head-depth)
		if err != nil {
			continue
		}
		found, err := net.FindHolders(ctx, peers.Key{Kind: peers.Receipts, Hash: h.Hash()})
		if err != nil {
			continue
		}
		var c float64
		l.mu.Lock()
		for _, ai := range found {
			c += l.accounts[ai.ID].adWeight(&l.cfg)
		}
		l.mu.Unlock()
		b.Sampled++
		holders += float64(len(found))
		copies += c
		if len(found) == 0 {
			b.None++
		}
		if c < l.cfg.TargetCopies {
			b.BelowTarget++
		}
	}
	if b.Sampled > 0 {
		b.MeanHolders, b.MeanCopies = holders/float64(b.Sampled), copies/float64(b.Sampled)
	}
}

// WriteText writes the survey as a table, for `braid check`.
func (s Survey) WriteText(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "history availability in the peer network (surveyed %s at head %d; holders of sampled blocks' receipts found in the DHT; copies weighed by standing; target %g):\n",
		s.At.UTC().Format(time.RFC3339), s.Head, s.TargetCopies); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "depth\tsampled\tmean holders\tmean copies\tno holder\tbelow target\t")
	for _, b := range s.Buckets {
		if b.Sampled == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%d\t%d\t\n", b.Name, b.Sampled, b.MeanHolders, b.MeanCopies, b.None, b.BelowTarget)
	}
	return tw.Flush()
}
