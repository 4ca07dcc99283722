package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
)

const historyUsage = `Usage: braid history import --config FILE [--network NAME] DIR

Seeds a network's history store (networks[].peers.store) from the era1
files in DIR, the format pruned history is distributed in. Every block's
body and receipts must match its header, or the import stops there,
keeping what it imported before. The header is the file's own when the
file is one of the network's published era1 files (mainnet, Sepolia: the
SHA-256 list go-ethereum publishes, shipped in braid) and its SHA-256
matches (a published trust root: its blocks are recorded as proven,
which verify: strict trusts); a listed file whose SHA-256 differs is
refused. For any other file it is the header braid's trusted path gives
for its number (the served tip and EIP-2935 proofs back from it, from the
network's providers: proven; under a quorum and not strict, the header
the operators agree on: recorded as agreed, which strict mode never
trusts). Run it while braid serve is stopped: the store is one process's.
`

// runHistory is `braid history import`.
func runHistory(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, historyUsage+"\n"+configDocs)
			return nil
		}
		return usageError{error: errors.New(`history: want "braid history import --config FILE DIR" (run "braid history -h")`)}
	}
	fs := newFlagSet("history import", historyUsage, stderr)
	path := fs.String("config", "", "configuration file (YAML); see docs/configuration.md")
	network := fs.String("network", "", "the network to import into (default: the first with peers enabled)")
	var lf logFlags
	lf.register(fs)
	dir, err := parseWithDir(fs, args[1:])
	if err != nil {
		return err
	}
	if *path == "" || dir == "" {
		return usageError{error: errors.New(`history import: --config FILE and one directory of era1 files are required`)}
	}
	log, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	name, err := historyNetwork(cfg, *network)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	gw, err := gateway.New(cfg, gateway.Options{Version: version(), Logger: log})
	if err != nil {
		return err
	}
	defer gw.Close()
	gw.Start(ctx, startupWait)
	st, err := gw.Network(name).ImportEra(ctx, dir)
	fmt.Fprintf(stdout, "imported %d blocks from %d files into %s (%d already held, %d bytes)\n", st.Blocks, st.Files, name, st.Skipped, st.Bytes)
	if st.Anchored > 0 {
		fmt.Fprintf(stdout, "%d of the files matched their published SHA-256: their headers were taken as canonical, proven\n", st.Anchored)
	}
	if err != nil {
		return fmt.Errorf("history import: %w", err)
	}
	return nil
}

// historyNetwork is the network to import into: the one named, or the
// first with peers enabled.
func historyNetwork(cfg *config.Config, name string) (string, error) {
	for _, n := range cfg.Networks {
		if (name == "" || n.Name == name) && n.Peers.Enabled {
			return n.Name, nil
		}
		if n.Name == name {
			return "", fmt.Errorf("history import: network %q has peers.enabled off: it has no history store", name)
		}
	}
	if name != "" {
		return "", fmt.Errorf("history import: no network %q in the configuration", name)
	}
	return "", errors.New("history import: no network has peers.enabled: none has a history store")
}

// parseWithDir parses flags with one positional argument (the directory)
// anywhere among them.
func parseWithDir(fs *flag.FlagSet, args []string) (string, error) {
	dir := ""
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", err
			}
			return "", usageError{error: fmt.Errorf("%s: %w", fs.Name(), err), printed: true}
		}
		if fs.NArg() == 0 {
			return dir, nil
		}
		if dir != "" {
			return "", usageError{error: fmt.Errorf("%s: one directory, got %q and %q", fs.Name(), dir, fs.Arg(0))}
		}
		dir, args = fs.Arg(0), fs.Args()[1:]
	}
}
