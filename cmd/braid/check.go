package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/report"
)

// runCheck is `braid check --config FILE [--json]`: it reports how
// centralized each network's access is under FILE and returns the exit
// code: 0 when every require is met, 1 when one is not, 2 when the command
// line or the config is wrong.
const checkUsage = `Usage: braid check --config FILE [--json]

Reports, per network, the availability coefficient (the fewest operators
whose loss stops service), the integrity coefficient (the fewest colluding
operators that can make braid answer wrongly) and warnings. Exits 0 when
every network meets its require section, 1 when one does not, 2 on errors.
For a network with peers enabled, the text form also prints the history
availability its persisted peer ledger recorded at the gateway's last run:
holders per age bucket of the chain (the last survey) and how widely the
history this gateway holds is held. Where keys or limits are on, it prints
each network's fair admission: the calls it runs at once for callers
(auth.max_inflight, or the value braid derives).
`

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", checkUsage, stderr)
	path := fs.String("config", "", "configuration file (YAML); see docs/configuration.md")
	asJSON := fs.Bool("json", false, "print the report as JSON (the same document the gateway serves)")
	if err := parseFlags(fs, args); err != nil {
		return exitCode(err, stderr) // 0 for -h
	}
	if *path == "" {
		fmt.Fprintln(stderr, "braid check: --config FILE is required")
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, "braid check:", err)
		return 2
	}
	nets := make([]*report.Network, 0, len(cfg.Networks))
	for i := range cfg.Networks {
		n, err := report.Build(&cfg.Networks[i], nil)
		if err != nil {
			fmt.Fprintf(stderr, "braid check: %s: %v\n", *path, err)
			return 2
		}
		nets = append(nets, n)
	}
	r := report.New(nets)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	} else if err = r.WriteText(stdout); err == nil {
		if err = writeLedgers(cfg, stdout); err == nil {
			err = writeFairAdmission(cfg, stdout)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "braid check:", err)
		return 2
	}
	if !r.OK {
		return 1
	}
	return 0
}
