package ledger

import (
	"encoding/json"
	"fmt"
	"time"
)

// The database's keys of what the ledger knows of the chain and the
// network beside its accounts: the last served tip it saw, and its last
// survey of history availability. `braid check` reads them with no
// gateway running.
const (
	headKey   = "m/head"
	surveyKey = "m/survey"
)

// headMark is the served tip the ledger last saw, and when.
type headMark struct {
	Number uint64    `json:"n"`
	At     time.Time `json:"at"`
}

// meta is the ledger's record of the chain and the network, under l.mu.
type meta struct {
	head        headMark // zero At: never seen
	headDirty   bool
	survey      *Survey // nil: never surveyed
	surveyDirty bool
}

// markHead remembers head, the served tip now, to persist at the next
// flush. l.mu must be held.
func (l *Ledger) markHead(head uint64, now time.Time) {
	if l.meta.head.Number != head || l.meta.head.At.IsZero() {
		l.meta.head = headMark{Number: head, At: now}
		l.meta.headDirty = true
	}
}

// lastHead is the tip to place held content by age: the served one, else
// the last one a gateway saw (from the database), with when it was seen
// (zero for the live tip).
func (l *Ledger) lastHead() (head uint64, at time.Time, known bool) {
	if h, ok := l.headNow(); ok {
		return h, time.Time{}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.meta.head
	return m.Number, m.At, !m.At.IsZero()
}

// LastSurvey is the last survey of history availability (SurveyOnce, run
// by Run every SurveyInterval, persisted), and whether there is one.
func (l *Ledger) LastSurvey() (Survey, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.meta.survey == nil {
		return Survey{}, false
	}
	return l.meta.survey.clone(), true
}

// keepSurvey makes sv the last survey.
func (l *Ledger) keepSurvey(sv Survey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := sv.clone()
	l.meta.survey, l.meta.surveyDirty = &c, true
}

func (s Survey) clone() Survey {
	s.Buckets = append([]SurveyBucket(nil), s.Buckets...)
	return s
}

// maxSurveyBuckets bounds a persisted survey: AgeBuckets has at most 16
// depths, so 17 buckets.
const maxSurveyBuckets = 17

// decodeHead decodes a persisted headMark.
func decodeHead(data []byte) (headMark, error) {
	var m headMark
	if len(data) > maxRecord {
		return m, fmt.Errorf("%w: head record of %d bytes", errRecord, len(data))
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%w: %w", errRecord, err)
	}
	if m.At.IsZero() || m.At.After(farFuture) {
		return m, fmt.Errorf("%w: head seen at %s", errRecord, m.At)
	}
	return m, nil
}

// decodeSurvey decodes a persisted Survey, refusing what SurveyOnce
// never writes.
func decodeSurvey(data []byte) (Survey, error) {
	var s Survey
	if len(data) > maxRecord {
		return s, fmt.Errorf("%w: survey record of %d bytes", errRecord, len(data))
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%w: %w", errRecord, err)
	}
	if len(s.Buckets) > maxSurveyBuckets || s.At.IsZero() || s.At.After(farFuture) || !finite(s.TargetCopies) {
		return s, fmt.Errorf("%w: survey of %d buckets at %s", errRecord, len(s.Buckets), s.At)
	}
	for _, b := range s.Buckets {
		if b.Sampled < 0 || b.None < 0 || b.BelowTarget < 0 || b.None > b.Sampled || b.BelowTarget > b.Sampled ||
			!finite(b.MeanHolders) || !finite(b.MeanCopies) || b.MeanHolders < 0 || b.MeanCopies < 0 || len(b.Name) > 64 {
			return s, fmt.Errorf("%w: survey bucket %q", errRecord, b.Name)
		}
	}
	return s, nil
}

// farFuture bounds the times of persisted records.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
