package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/braidrpc/braid/internal/simulation"
)

const simUsage = `Usage: braid sim [flags]

Simulates braid's peer economy in one process (no network): peers with
churn, limited stores, Zipf demand, free riders, liars and fake
advertisers, under three regimes — none (plain peer-to-peer), tit-for-tat
and braid (age × rarity pricing, audits, keeping the old and rare) — with
the ledger code the gateway runs. Writes samples.csv, by_age.csv,
roles.csv and PNG plots into --out (docs/incentives.md explains them).
`

// simGCPercent is the simulation's GOGC: a batch run keeps a large live
// heap (a ledger per peer), which braid's serving default (gcPercent)
// would let grow fivefold.
const simGCPercent = 100

// runSim runs `braid sim`.
func runSim(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", simUsage, stderr)
	d := simulation.DefaultParams
	p := simulation.Params{}
	fs.IntVar(&p.Peers, "peers", d.Peers, "peers simulated")
	fs.IntVar(&p.Steps, "steps", d.Steps, "steps (one block each)")
	fs.Uint64Var(&p.Seed, "seed", d.Seed, "random seed (the same seed gives the same run)")
	fs.IntVar(&p.InitialBlocks, "initial-blocks", d.InitialBlocks, "chain length at the start: the history at stake")
	fs.Float64Var(&p.StoreShare, "store-share", d.StoreShare, "a peer's store as a share of the final chain")
	fs.Float64Var(&p.Archival, "archival", d.Archival, "share of archival peers (keep everything, then leave; at least one)")
	fs.Float64Var(&p.FreeRiders, "free-riders", d.FreeRiders, "share of free riders (ask, never keep or serve)")
	fs.Float64Var(&p.Liars, "liars", d.Liars, "share of liars (advertise old blocks, answer with false content)")
	fs.Float64Var(&p.Fakes, "fakes", d.Fakes, "share of fakes (advertise old blocks, say they do not hold them)")
	fs.Float64Var(&p.ZipfS, "zipf", d.ZipfS, "Zipf exponent of the depth of requests (above 1; higher: more requests for new blocks)")
	fs.Float64Var(&p.OfflineRate, "offline-rate", d.OfflineRate, "chance per step that an online peer goes offline")
	fs.Float64Var(&p.OnlineRate, "online-rate", d.OnlineRate, "chance per step that an offline peer comes back")
	fs.Float64Var(&p.LeaveRate, "leave-rate", d.LeaveRate, "chance per step that a peer leaves for good (a fresh one takes its place)")
	fs.Float64Var(&p.NewBlockShare, "new-block-share", d.NewBlockShare, "share of online peers that store each new block")
	fs.Uint64Var(&p.ProviderDepth, "provider-depth", d.ProviderDepth, "depth from which providers no longer serve a block (at least the ledger's age depth, 128)")
	fs.IntVar(&p.Capacity, "capacity", d.Capacity, "requests a peer serves per round")
	fs.IntVar(&p.ArchivalCapacity, "archival-capacity", d.ArchivalCapacity, "requests an archival peer serves per round")
	progress := fs.Bool("progress", false, "report each regime's progress on stderr every tenth of the steps")
	out := fs.String("out", "sim-out", "directory the CSV files and plots are written to")
	regimes := fs.String("regimes", "none,tit-for-tat,braid", "regimes to run, comma-separated")
	plots := fs.Bool("plots", true, "draw PNG plots beside the CSV files")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := simZeros(fs, &p); err != nil {
		return usageError{error: err}
	}
	rs, err := parseRegimes(*regimes)
	if err != nil {
		return usageError{error: err}
	}
	if err := p.Validate(); err != nil {
		return usageError{error: err}
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(simGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *progress {
		p.Progress = func(r simulation.Regime, step, steps int) {
			if step%max(1, steps/10) == 0 {
				fmt.Fprintf(stderr, "sim: %s step %d of %d\n", r, step, steps)
			}
		}
	}
	var results []simulation.Result
	for _, r := range rs {
		res, err := simulation.Run(ctx, p, r)
		if err != nil {
			return err
		}
		results = append(results, res)
		last := res.Samples[len(res.Samples)-1]
		fmt.Fprintf(stdout, "%-12s old blocks retrievable %6.2f%%  lost %6.2f%%  mean holders %5.2f  (%s)\n",
			r, 100*last.Retrievable, 100*last.Lost, last.MeanHolders, res.Elapsed.Round(1e9))
	}
	if err := simulation.WriteCSV(*out, results); err != nil {
		return err
	}
	if *plots {
		if err := simulation.WritePlots(*out, results); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// parseRegimes reads a comma-separated list of regime names.
func parseRegimes(s string) ([]simulation.Regime, error) {
	var out []simulation.Regime
	for _, name := range strings.Split(s, ",") {
		found := false
		for _, r := range simulation.Regimes {
			if strings.TrimSpace(name) == r.String() {
				out, found = append(out, r), true
			}
		}
		if !found {
			return nil, fmt.Errorf("sim: unknown regime %q (none, tit-for-tat, braid)", name)
		}
	}
	return out, nil
}

// noneShare stands for a share or rate of 0 given on the command line: in
// Params a zero takes the default, so an explicit 0 becomes a share too
// small to make one peer (or one event in any run's length).
const noneShare = 1e-12

// simZeros makes a share or rate set to 0 on the command line mean none,
// and refuses a count set to 0.
func simZeros(fs *flag.FlagSet, p *simulation.Params) error {
	floats := map[string]*float64{"archival": &p.Archival, "free-riders": &p.FreeRiders, "liars": &p.Liars, "fakes": &p.Fakes,
		"offline-rate": &p.OfflineRate, "online-rate": &p.OnlineRate, "leave-rate": &p.LeaveRate, "new-block-share": &p.NewBlockShare}
	ints := map[string]*int{"peers": &p.Peers, "steps": &p.Steps, "initial-blocks": &p.InitialBlocks,
		"capacity": &p.Capacity, "archival-capacity": &p.ArchivalCapacity}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if v, ok := floats[f.Name]; ok && *v == 0 {
			*v = noneShare
		}
		if v, ok := ints[f.Name]; ok && *v == 0 && err == nil {
			err = fmt.Errorf("sim: --%s must be positive", f.Name)
		}
	})
	return err
}
