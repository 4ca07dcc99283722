package head

import (
	"fmt"
	"time"

	"github.com/braidrpc/braid/internal/upstream"
)

// DefaultStallAfter is the shortest Options.StallAfter left at zero takes;
// it is five poll intervals when those are longer.
const DefaultStallAfter = 30 * time.Second

// stallRepeat is how often a stall that goes on is logged again.
const stallRepeat = time.Minute

// Progress is how the served tip keeps up with the upstreams' heads.
type Progress struct {
	// TipAge is how long the served latest block has not changed; before
	// the first tip, how long the tracker has existed.
	TipAge time.Duration
	// Highest is the highest latest block a usable upstream reports;
	// HighestKnown is false while none has reported.
	Highest      uint64
	HighestKnown bool
	// Behind is how long Highest has been above the served tip without
	// the tip moving (zero when it is not above).
	Behind time.Duration
	// Silent is how long no usable upstream has reported its head (since
	// the tracker was made, when none ever has).
	Silent time.Duration
	// Stalled: Behind or Silent has reached the stall threshold. The tip
	// cannot advance although the chain does, or braid cannot tell.
	Stalled bool
	// Reason says why no higher block can be served. It is set when the
	// tip is stalled or not known yet.
	Reason string
}

// stallState is what the tracker remembers to judge and log stalls.
// Guarded by Tracker.mu.
type stallState struct {
	made        time.Time // when the tracker was made
	movedAt     time.Time // when the served latest block last changed (or the tracker was made)
	behindSince time.Time // since when the highest head is above the tip; zero when it is not
	logged      bool      // a stall is in progress and was logged
	lastLog     time.Time
}

// stallAfterFor is the stall threshold for a configured value (0: the
// default) and poll interval.
func stallAfterFor(configured, poll time.Duration) time.Duration {
	if configured > 0 {
		return configured
	}
	return max(DefaultStallAfter, 5*poll)
}

// StallAfter is how long the highest head may stay above the served tip,
// with the tip not moving, before the tip counts as stalled.
func (t *Tracker) StallAfter() time.Duration { return t.stallAfter }

// Progress reports how the served tip keeps up, as of now.
func (t *Tracker) Progress() Progress {
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.progressLocked(now)
}

// BehindHighest is how many blocks u's latest is behind the highest head a
// usable upstream reports (0 when at or above it); known is false when
// either is unknown. Unlike Lag it does not depend on the served tip, so a
// tip that cannot advance does not hide how far upstreams are behind.
func (t *Tracker) BehindHighest(u *upstream.Upstream) (behind uint64, known bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.states[u]
	hi, ok := t.highestLocked()
	if st == nil || !st.reported || !ok {
		return 0, false
	}
	if own := st.heads.Latest.Number; hi > own {
		return hi - own, true
	}
	return 0, true
}

// highestLocked is the highest latest block a usable upstream reports.
func (t *Tracker) highestLocked() (uint64, bool) {
	var hi uint64
	known := false
	for _, u := range t.ups {
		st := t.states[u]
		if st.reported && u.Usable() {
			hi, known = max(hi, st.heads.Latest.Number), true
		}
	}
	return hi, known
}

// updateBehindLocked notes, as of now, whether the highest head is above
// the served tip: it starts the clock when it goes above, stops it when it
// no longer is.
func (t *Tracker) updateBehindLocked(now time.Time) (hi uint64, hiKnown bool) {
	hi, hiKnown = t.highestLocked()
	behind := hiKnown && (!t.tip.Known || hi > t.tip.Latest.Number)
	switch {
	case !behind:
		t.stall.behindSince = time.Time{}
	case t.stall.behindSince.IsZero():
		t.stall.behindSince = now
	}
	return hi, hiKnown
}

// tipMovedLocked notes that the served latest block changed at now.
func (t *Tracker) tipMovedLocked(now time.Time) {
	t.stall.movedAt = now
	t.stall.behindSince = time.Time{} // judged afresh from the new tip
}

// lastHeardLocked is when a usable upstream last reported its head; when
// none ever has, when the tracker was made.
func (t *Tracker) lastHeardLocked() time.Time {
	last := t.stall.made
	for _, u := range t.ups {
		st := t.states[u]
		if st.reported && u.Usable() && st.heads.UpdatedAt.After(last) {
			last = st.heads.UpdatedAt
		}
	}
	return last
}

func (t *Tracker) progressLocked(now time.Time) Progress {
	hi, hiKnown := t.updateBehindLocked(now)
	p := Progress{TipAge: now.Sub(t.stall.movedAt), Highest: hi, HighestKnown: hiKnown,
		Silent: max(now.Sub(t.lastHeardLocked()), 0)}
	if since := t.stall.behindSince; !since.IsZero() {
		p.Behind = now.Sub(since)
	}
	p.Stalled = p.Behind >= t.stallAfter || p.Silent >= t.stallAfter
	if p.Stalled || !t.tip.Known {
		p.Reason = t.stallReasonLocked(p.Silent)
	}
	return p
}

// stallReasonLocked says why no block above the served tip is held by
// min_operators usable operators: too few operators usable, none of them
// answering, too few of them ahead of the tip, or no agreement among those
// ahead.
func (t *Tracker) stallReasonLocked(silent time.Duration) string {
	if t.external {
		if !t.tip.Known {
			return "no trusted head served yet (trust: beacon: see the light client's status)"
		}
		return "operators report blocks above the trusted head, which has not moved (trust: beacon: see the light client's status)"
	}
	usable, all := t.operators()
	if usable < t.k {
		return fmt.Sprintf("%d of %d operators usable, %d needed", usable, all, t.k)
	}
	v := t.votersLocked()
	if len(v) == 0 {
		return "no usable upstream has reported its head yet"
	}
	if silent >= t.stallAfter {
		return fmt.Sprintf("no usable upstream has reported its head for %s (every head poll fails)",
			silent.Round(time.Second))
	}
	ahead := 0
	for _, op := range v {
		for _, st := range op {
			if !t.tip.Known || st.heads.Latest.Number > t.tip.Latest.Number {
				ahead++
				break
			}
		}
	}
	if ahead < t.k {
		what := "a block above the served tip"
		if !t.tip.Known {
			what = "their head"
		}
		return fmt.Sprintf("%d of %d usable operators report %s, %d needed (the others lag or do not answer)",
			ahead, usable, what, t.k)
	}
	return fmt.Sprintf("%d usable operators report blocks above the served tip but no %d of them hold the same one"+
		" (a fork, or an upstream on another chain)", ahead, t.k)
}

// operators counts the distinct operators with a usable upstream, and all.
func (t *Tracker) operators() (usable, all int) {
	seen := map[string]bool{}
	for _, u := range t.ups {
		ok := u.Usable()
		if was, known := seen[u.Operator]; !known || ok && !was {
			seen[u.Operator] = ok
		}
	}
	for _, ok := range seen {
		if ok {
			usable++
		}
	}
	return usable, len(seen)
}

// EnoughOperators reports whether at least min_operators operators are
// usable, so that a tip can be served at all; if not, why not.
func (t *Tracker) EnoughOperators() (bool, string) {
	usable, all := t.operators()
	if usable < t.k {
		return false, fmt.Sprintf("%d of %d operators usable, %d needed", usable, all, t.k)
	}
	return true, ""
}

// checkStall logs a stall when it starts, again every stallRepeat while it
// lasts and once when it ends, and updates the progress metrics. The
// pollers call it after every round, so it runs even when no upstream
// answers.
func (t *Tracker) checkStall() {
	now := t.clock.Now()
	t.mu.Lock()
	p := t.progressLocked(now)
	tip := t.tip
	var start, repeat, recovered bool
	switch {
	case p.Stalled && !t.stall.logged:
		start = true
	case p.Stalled && now.Sub(t.stall.lastLog) >= stallRepeat:
		repeat = true
	case !p.Stalled && t.stall.logged:
		recovered = true
		t.stall.logged = false
	}
	if start || repeat {
		t.stall.logged, t.stall.lastLog = true, now
	}
	t.metrics.progress(t.network, p)
	t.mu.Unlock()

	tipAttr := any("none")
	if tip.Known {
		tipAttr = tip.Latest.Number
	}
	switch {
	case start || repeat:
		msg := "served tip cannot advance"
		if repeat {
			msg = "served tip still cannot advance"
		}
		t.log.Warn(msg, "reason", p.Reason, "tip", tipAttr, "highest_head", p.Highest,
			"tip_age", p.TipAge.Round(time.Second).String(), "behind_for", p.Behind.Round(time.Second).String(),
			"silent_for", p.Silent.Round(time.Second).String(),
			"min_operators", t.k, "stall_after", t.stallAfter.String())
	case recovered:
		t.log.Info("served tip no longer stalled", "tip", tipAttr, "highest_head", p.Highest)
	}
}
