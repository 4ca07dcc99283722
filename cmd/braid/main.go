// Command braid is an Ethereum JSON-RPC gateway with no single point of
// failure. This file only dispatches subcommands; the work lives in
// internal/.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
)

// gcPercent is braid's default GOGC. A gateway keeps a small live heap and
// allocates per request, so Go's default (100) collects very often; 400
// spends a little memory to take most GC work off the request path. An
// explicit GOGC in the environment wins.
const gcPercent = 400

const usage = `braid: an Ethereum JSON-RPC gateway over many independent providers

Usage:
  braid serve   --config FILE   serve the networks in FILE
  braid check   --config FILE   report how centralized each network's access is
  braid demo    [flags]         run a dev chain, providers and the gateway in one process
  braid version                 print the version

Run "braid COMMAND -h" for a command's flags.
`

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		err = runServe(args)
	case "demo":
		err = runDemo(args)
	case "check":
		os.Exit(runCheck(args, os.Stdout, os.Stderr))
	case "version", "--version", "-version":
		fmt.Println("braid", version())
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "braid: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "braid:", err)
		os.Exit(1)
	}
}
