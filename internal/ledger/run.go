package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/braidrpc/braid/internal/history"
)

// Holdings is what the ledger reads of the history store
// (*history.Store): what it holds, and its bodies for audits of receipts.
type Holdings interface {
	Items() []history.Item
	Bodies
}

// Tasks are what Run's background work needs. A nil member turns off the
// tasks that need it: audits and surveys need Network and Headers;
// sampling Network; repair Network, Headers and Fill.
type Tasks struct {
	Network Network
	// Headers gives canonical headers from braid's trusted path, never
	// from a peer.
	Headers history.HeaderSource
	Store   Holdings
	Fill    Fill
}

// Run does the ledger's background work until ctx ends: it takes what the
// store holds (Store.Items), then flushes changed accounts every
// FlushInterval, audits a peer at random times (AuditOnce, mean
// AuditInterval), counts the holders of held content (SampleOnce, every
// SampleInterval) and fills rare old content (RepairOnce, every
// RepairInterval) and surveys the history availability of the network
// (SurveyOnce, SurveyBlocks per age bucket, the first after a minute at
// most, then every SurveyInterval), all on the injected clock, one at a
// time. It returns ctx's error after a last flush.
func (l *Ledger) Run(ctx context.Context, t Tasks) error {
	if t.Store != nil {
		l.Hold(t.Store.Items())
	}
	var bodies Bodies
	if t.Store != nil {
		bodies = t.Store
	}
	after := func(on bool, d time.Duration) <-chan time.Time {
		if !on || d <= 0 {
			return nil
		}
		return l.clock.After(d)
	}
	canAudit := t.Network != nil && t.Headers != nil
	canRepair := canAudit && t.Fill != nil
	flush := after(l.persisted(), l.cfg.FlushInterval)
	audit := after(canAudit && l.cfg.AuditInterval > 0, l.auditDelay())
	sample := after(t.Network != nil, l.cfg.SampleInterval)
	repair := after(canRepair, l.cfg.RepairInterval)
	survey := after(canAudit, min(l.cfg.SurveyInterval, time.Minute))
	for {
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), l.Flush())
		case <-flush:
			if err := l.Flush(); err != nil {
				l.log.Warn("ledger flush", "err", err)
			}
			flush = after(true, l.cfg.FlushInterval)
		case <-audit:
			a, err := l.AuditOnce(ctx, t.Network, t.Headers, bodies)
			if err == nil {
				l.log.Debug("retention audit", "peer", a.Peer.String(), "key", a.Key.String(),
					"number", a.Number, "outcome", a.Outcome.String(), "err", a.Err)
			}
			audit = after(true, l.auditDelay())
		case <-sample:
			l.SampleOnce(ctx, t.Network)
			sample = after(true, l.cfg.SampleInterval)
		case <-repair:
			r := l.RepairOnce(ctx, t.Network, t.Headers, t.Fill)
			l.log.Debug("repair", "looked", r.Looked, "rare", r.Rare, "filled", r.Filled, "full", r.Full)
			repair = after(true, l.cfg.RepairInterval)
		case <-survey:
			next := l.cfg.SurveyInterval
			if _, err := l.SurveyOnce(ctx, t.Network, t.Headers, l.cfg.SurveyBlocks); err != nil && ctx.Err() == nil {
				l.log.Debug("history survey", "err", err)
				next = min(next, time.Minute) // the tip was not known yet: try again soon
			}
			survey = after(true, next)
		}
	}
}
