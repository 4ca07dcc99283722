// Command braid is an Ethereum JSON-RPC gateway with no single point of
// failure. This file only dispatches subcommands; the work lives in
// internal/.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	setGCPercent() // and, once the config is read, setMemoryLimit (memory.go)
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// runMain runs the subcommand args name and returns the exit code.
func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, args := args[0], args[1:]; cmd {
	case "serve":
		err = runServe(args, stderr)
	case "demo":
		err = runDemo(args, stdout, stderr)
	case "check":
		return runCheck(args, stdout, stderr)
	case "history":
		err = runHistory(args, stdout, stderr)
	case "keys":
		err = runKeys(args, stdout, stderr)
	case "sim":
		err = runSim(args, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "braid", version())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "braid: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	return exitCode(err, stderr)
}
