package simulation

import (
	"errors"
	"fmt"
	"time"

	"github.com/braidrpc/braid/internal/ledger"
)

// Regime is an incentive scheme the simulation compares.
type Regime uint8

// The regimes, in the order the report lists them.
const (
	None Regime = iota
	TitForTat
	Braid
)

// Regimes lists every regime.
var Regimes = []Regime{None, TitForTat, Braid}

// String names the regime (CSV and plot labels).
func (r Regime) String() string {
	switch r {
	case None:
		return "none"
	case TitForTat:
		return "tit-for-tat"
	case Braid:
		return "braid"
	}
	return "unknown"
}

// Params describe the simulated world. A zero field takes its default
// (DefaultParams).
type Params struct {
	// Peers is the number of peers (default 1,000); Steps the blocks
	// simulated, one per step (default 1,000); Seed the randomness.
	Peers int
	Steps int
	Seed  uint64
	// InitialBlocks is the chain's length at the start (default 2,000):
	// the history at stake, held at first by the archival peers.
	InitialBlocks int
	// Archival, FreeRiders, Liars and Fakes are shares of the peers
	// (defaults 1 %, at least one; 10 %; 3 %; 5 %). Archival peers keep
	// every block and leave, one after another, between
	// ArchivalLeaveFrom and ArchivalLeaveTo (shares of Steps, defaults
	// 0.1 and 0.5): the few peers that kept everything, gone. Free
	// riders ask and never serve; liars and fakes advertise old content
	// they do not hold (StoreShare of it each): liars answer with false
	// content, fakes say they do not hold it.
	Archival          float64
	FreeRiders        float64
	Liars             float64
	Fakes             float64
	ArchivalLeaveFrom float64
	ArchivalLeaveTo   float64
	// StoreShare is a peer's store, as a share of the final chain
	// (default 2 %).
	StoreShare float64
	// OfflineRate and OnlineRate are the chances per step that an online
	// peer goes offline and that an offline one returns (defaults 2 % and
	// 10 %: a sixth offline); LeaveRate that a peer leaves for good and a
	// fresh one (an empty store, a new identity) takes its place (default
	// 0.1 %).
	OfflineRate float64
	OnlineRate  float64
	LeaveRate   float64
	// ZipfS skews demand towards new blocks: a request's depth d has
	// weight (1+d)^-ZipfS (default 1.2: about a fifth of requests are for
	// blocks 128 or more deep).
	ZipfS float64
	// ProviderDepth is the depth from which the providers no longer serve
	// a block (EIP-4444's pruning; default 256): shallower blocks come from
	// them, deeper ones only from peers. On mainnet providers prune after
	// about a year, far below the ledger's AgeDepth (128), from which
	// content is priced as old; a ProviderDepth equal to AgeDepth makes
	// content old and unobtainable from providers at the same moment.
	ProviderDepth uint64
	// NewBlockShare is the share of online peers that store each new
	// block as it comes (from the providers they serve clients from;
	// default 10 %).
	NewBlockShare float64
	// Capacity is the requests a peer serves per round, ArchivalCapacity
	// an archival peer's (defaults 4 and 16), Rounds the rounds of
	// requests per step (default 2): a busy holder's waiting requests
	// try the next holder in the next round.
	Capacity         int
	ArchivalCapacity int
	Rounds           int
	// BlockBytes is a block's body and receipts (default 256 KiB).
	BlockBytes int
	// SampleEvery is the steps between observations (default 10).
	SampleEvery int
	// Ledger is braid's economics (regime Braid); zero fields take the
	// ledger's defaults. Bounds the simulation sets unless given:
	// MaxPeers 256 and ClaimsPerPeer 8 (memory: one ledger per peer).
	Ledger ledger.Config
	// Progress, if set, is called after every step of a run (for long
	// runs' reports); it must not block.
	Progress func(r Regime, step, steps int)
}

// StepTime is the simulated time of a step: one block.
const StepTime = 12 * time.Second

// DefaultParams are the values zero fields take.
var DefaultParams = Params{
	Peers: 1000, Steps: 1000, Seed: 1, InitialBlocks: 2000,
	Archival: 0.01, FreeRiders: 0.10, Liars: 0.03, Fakes: 0.05,
	ArchivalLeaveFrom: 0.1, ArchivalLeaveTo: 0.5, StoreShare: 0.02,
	OfflineRate: 0.02, OnlineRate: 0.10, LeaveRate: 0.001,
	ZipfS: 1.2, NewBlockShare: 0.10, ProviderDepth: 256,
	Capacity: 4, ArchivalCapacity: 16, Rounds: 2,
	BlockBytes: 256 << 10, SampleEvery: 10,
}

// WithDefaults returns p with every zero field from DefaultParams.
func (p Params) WithDefaults() Params {
	d := DefaultParams
	set := func(v *float64, dv float64) {
		if *v == 0 {
			*v = dv
		}
	}
	seti := func(v *int, dv int) {
		if *v == 0 {
			*v = dv
		}
	}
	seti(&p.Peers, d.Peers)
	seti(&p.Steps, d.Steps)
	seti(&p.InitialBlocks, d.InitialBlocks)
	seti(&p.Capacity, d.Capacity)
	seti(&p.ArchivalCapacity, d.ArchivalCapacity)
	seti(&p.Rounds, d.Rounds)
	seti(&p.BlockBytes, d.BlockBytes)
	seti(&p.SampleEvery, d.SampleEvery)
	if p.Seed == 0 {
		p.Seed = d.Seed
	}
	if p.ProviderDepth == 0 {
		p.ProviderDepth = d.ProviderDepth
	}
	for _, f := range []struct{ v, d *float64 }{
		{&p.Archival, &d.Archival}, {&p.FreeRiders, &d.FreeRiders}, {&p.Liars, &d.Liars}, {&p.Fakes, &d.Fakes},
		{&p.ArchivalLeaveFrom, &d.ArchivalLeaveFrom}, {&p.ArchivalLeaveTo, &d.ArchivalLeaveTo},
		{&p.StoreShare, &d.StoreShare}, {&p.OfflineRate, &d.OfflineRate}, {&p.OnlineRate, &d.OnlineRate},
		{&p.LeaveRate, &d.LeaveRate}, {&p.ZipfS, &d.ZipfS}, {&p.NewBlockShare, &d.NewBlockShare},
	} {
		set(f.v, *f.d)
	}
	if p.Ledger.MaxPeers == 0 {
		p.Ledger.MaxPeers = 256
	}
	if p.Ledger.ClaimsPerPeer == 0 {
		p.Ledger.ClaimsPerPeer = 8
	}
	return p
}

// Validate reports the first parameter that makes no sense (defaults
// applied). Negative shares and rates mean 0 is not what was meant: use
// a tiny value.
func (p Params) Validate() error {
	p = p.WithDefaults()
	switch {
	case p.Peers < 10 || p.Peers > 100_000:
		return fmt.Errorf("simulation: peers must be between 10 and 100000, got %d", p.Peers)
	case p.Steps < 1 || p.Steps > 1_000_000:
		return fmt.Errorf("simulation: steps must be between 1 and 1000000, got %d", p.Steps)
	case p.InitialBlocks < 256 || p.InitialBlocks > 10_000_000:
		return fmt.Errorf("simulation: initial blocks must be between 256 and 10000000, got %d", p.InitialBlocks)
	case p.Archival+p.FreeRiders+p.Liars+p.Fakes >= 0.9:
		return errors.New("simulation: archival, free riders, liars and fakes must leave at least a tenth of honest peers")
	case p.Archival < 0 || p.FreeRiders < 0 || p.Liars < 0 || p.Fakes < 0 || p.StoreShare <= 0 || p.StoreShare > 1:
		return errors.New("simulation: shares must be between 0 and 1 (store share above 0)")
	case p.ArchivalLeaveFrom < 0 || p.ArchivalLeaveTo > 1 || p.ArchivalLeaveFrom > p.ArchivalLeaveTo:
		return errors.New("simulation: archival peers leave within 0 <= from <= to <= 1 of the steps")
	case p.ProviderDepth < p.Ledger.WithDefaults().AgeDepth:
		return fmt.Errorf("simulation: provider depth %d is below the ledger's age depth %d", p.ProviderDepth, p.Ledger.WithDefaults().AgeDepth)
	case p.ZipfS <= 1:
		return fmt.Errorf("simulation: zipf exponent must be above 1, got %v", p.ZipfS)
	case p.Capacity < 1 || p.ArchivalCapacity < 1 || p.Rounds < 1 || p.BlockBytes < 1 || p.SampleEvery < 1:
		return errors.New("simulation: capacities, rounds, block bytes and sample interval must be positive")
	}
	for _, r := range []float64{p.OfflineRate, p.OnlineRate, p.LeaveRate, p.NewBlockShare} {
		if r < 0 || r > 1 {
			return fmt.Errorf("simulation: rates must be between 0 and 1, got %v", r)
		}
	}
	return p.Ledger.Validate()
}
