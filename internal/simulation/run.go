package simulation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/ledger"
)

// Result is one regime's run: the observations over time, the holders by
// age at the end and what each role got.
type Result struct {
	Regime  Regime
	Samples []Sample
	// ByAge are the holders per block by age bucket at the end.
	ByAge []AgeBucket
	// Roles are what each kind of peer asked, got, served and was owed.
	Roles []RoleOutcome
	// Elapsed is the wall time the run took.
	Elapsed time.Duration
}

// Run simulates regime r with parameters p (defaults applied). It stops
// early with ctx's error.
func Run(ctx context.Context, p Params, r Regime) (Result, error) {
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return Result{}, err
	}
	start := time.Now()
	w, err := newWorld(ctx, p, r)
	if err != nil {
		return Result{}, err
	}
	defer w.close()
	res := Result{Regime: r}
	res.Samples = append(res.Samples, w.observe())
	for w.step = 1; w.step <= p.Steps; w.step++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := w.churn(); err != nil {
			return res, err
		}
		for _, n := range w.nodes {
			n.budget = w.capacity(n) * p.Rounds
		}
		w.clk.Advance(StepTime)
		w.newBlock()
		w.demand()
		if r == Braid {
			if err := w.maintain(); err != nil {
				return res, err
			}
		}
		if w.step%p.SampleEvery == 0 || w.step == p.Steps {
			res.Samples = append(res.Samples, w.observe())
		}
		if p.Progress != nil {
			p.Progress(r, w.step, p.Steps)
		}
	}
	res.ByAge = w.byAge()
	res.Roles = w.roles()
	res.Elapsed = time.Since(start)
	return res, nil
}

// maintain is braid's background work, on each online normal peer's
// schedule: retention audits at random times (mean AuditInterval),
// counting the holders of held blocks (every SampleInterval) and
// repairing rare old blocks (every RepairInterval).
func (w *world) maintain() error {
	every := func(d time.Duration) int { return max(1, int(d/StepTime)) }
	auditChance := float64(StepTime) / float64(w.cfg.AuditInterval)
	sample, repair := every(w.cfg.SampleInterval), every(w.cfg.RepairInterval)
	for _, n := range w.nodes {
		if n.role != Normal || !n.online || n.led == nil {
			continue
		}
		v := view{w: w, self: n}
		if w.cfg.AuditInterval > 0 && w.rnd.Float64() < auditChance {
			if _, err := n.led.AuditOnce(w.ctx, v, w, bodies{}); err != nil && !errors.Is(err, ledger.ErrNothingToAudit) {
				return fmt.Errorf("simulation: audit: %w", err)
			}
		}
		if w.cfg.SampleInterval > 0 && (w.step+n.slot)%sample == 0 {
			n.led.SampleOnce(w.ctx, v)
		}
		if w.cfg.RepairInterval > 0 && (w.step+n.slot)%repair == 0 {
			n.led.RepairOnce(w.ctx, v, w, w.fill(n))
		}
	}
	return nil
}

// bodies are the bodies of the simulated chain's empty blocks, for audits
// of receipts (ledger.Bodies).
type bodies struct{}

func (bodies) Body(common.Hash) (*types.Body, bool) { return &types.Body{}, true }
