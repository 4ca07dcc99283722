package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

const usage = `braid: an Ethereum JSON-RPC gateway over many independent providers

Usage:
  braid serve   --config FILE   serve the networks in FILE
  braid check   --config FILE   report how centralized each network's access is
  braid keys    add|list|revoke manage the API keys braid serve accepts
  braid demo    [flags]         run a dev chain, providers and the gateway in one process
  braid history import --config FILE DIR   seed a network's history store from era1 files
  braid sim     [flags]         simulate the peer economy (incentive regimes compared)
  braid version                 print the version

Run "braid COMMAND -h" for a command's flags.

` + configDocs

// configDocs points every usage text to the configuration reference.
const configDocs = `Configuration: docs/configuration.md in the braid repository lists every
key, its default and what it does; examples/ holds complete, commented
configurations to start from (minimal, mainnet-federated, quorum, strict,
replicas-redis, multi-network).
`

// usageError is a command line braid cannot run: exit code 2. printed
// says the flag package has already shown it, with the usage.
type usageError struct {
	error
	printed bool
}

func (e usageError) Unwrap() error { return e.error }

// newFlagSet returns the flag set of `braid name`: on -h its usage (the
// text, the flags and the pointer to the configuration reference) goes to
// w, as do parse errors.
func newFlagSet(name, text string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprint(w, text)
		fmt.Fprint(w, "\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(w, "\n"+configDocs)
	}
	return fs
}

// parseFlags parses args into fs. -h and --help give flag.ErrHelp (exit
// 0: the usage is printed); any other problem is a usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil && fs.NArg() > 0:
		hint := ""
		if fs.Lookup("config") != nil {
			hint = "; the configuration file goes after --config"
		}
		return usageError{error: fmt.Errorf("%s: unexpected argument %q%s (run \"braid %s -h\")", fs.Name(), fs.Arg(0), hint, fs.Name())}
	case err == nil, errors.Is(err, flag.ErrHelp):
		return err
	default:
		return usageError{error: fmt.Errorf("%s: %w", fs.Name(), err), printed: true}
	}
}

// exitCode reports err, the result of a subcommand, on stderr and returns
// the process exit code: 0 for none or a help request, 2 for a command
// line braid cannot run, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		if !ue.printed {
			fmt.Fprintln(stderr, "braid:", err)
		}
		return 2
	default:
		fmt.Fprintln(stderr, "braid:", err)
		return 1
	}
}
