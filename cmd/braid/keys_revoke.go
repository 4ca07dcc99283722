package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/braidrpc/braid/internal/access"
)

const keysRevokeUsage = `Usage: braid keys revoke (--config FILE | --file PATH | --redis URL) NAME|ID

Revokes the active stored key with that name, or whose id (at least 6 of
the hex digits "braid keys list" shows) is given. Every replica refuses it
within a second; WebSocket connections using it are closed. A key under
"keys:" in the config is removed from the config instead.
`

func runKeysRevoke(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys revoke", keysRevokeUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	which, err := parseWithArg(fs, args)
	if err != nil {
		return err
	}
	if which == "" {
		return usageError{error: errors.New(`keys revoke: which key? give its name or id (run "braid keys list")`)}
	}
	st, err := sf.open("revoke")
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*redisWait)
	defer cancel()
	rec, err := st.Revoke(ctx, which, time.Now())
	if errors.Is(err, access.ErrNoKey) && st.cfg != nil {
		for _, k := range st.cfg.Keys {
			if k.Name == which || access.ID(k.HashString()) == which {
				return fmt.Errorf("keys revoke: %q is a key of %s (under \"keys:\"): remove it there and restart braid", which, sf.config)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("keys revoke: %q: %w", which, err)
	}
	fmt.Fprintf(stdout, "revoked key %q (id %s)\n", rec.Name, rec.ID())
	return nil
}

// parseWithArg parses args into fs, allowing one positional argument
// before, among or after the flags, and returns it ("" when none).
func parseWithArg(fs *flag.FlagSet, args []string) (string, error) {
	var arg string
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		arg = fs.Arg(0)
		err = parseFlags(fs, fs.Args()[1:])
	} else if err != nil && !errors.Is(err, flag.ErrHelp) {
		err = usageError{error: fmt.Errorf("%s: %w", fs.Name(), err), printed: true}
	}
	return arg, err
}
