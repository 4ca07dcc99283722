package main

import (
	"context"
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
	out := fs.String("out", "sim-out", "directory the CSV files and plots are written to")
	regimes := fs.String("regimes", "none,tit-for-tat,braid", "regimes to run, comma-separated")
	plots := fs.Bool("plots", true, "draw PNG plots beside the CSV files")
	if err := parseFlags(fs, args); err != nil {
		return err
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
