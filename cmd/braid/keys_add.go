package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/config"
)

const keysAddUsage = `Usage: braid keys add (--config FILE | --file PATH | --redis URL) --name NAME [limits]

Makes a new API key, stores its SHA-256 hash and prints the key on
standard output: this is the only time it is shown. Limits left out are
auth.key_defaults' (0 there: unlimited).
`

func runKeysAdd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys add", keysAddUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	name := fs.String("name", "", "the key's name (letters, digits, \".\", \"-\", \"_\"): metrics and logs show it, never the key")
	networks := fs.String("networks", "", "comma-separated networks the key may use (default: every network)")
	rps := fs.Float64("rps", 0, "calls per second (a batch of n counts n)")
	burst := fs.Int("burst", 0, "calls at once above the rate (default: rps rounded up)")
	quota := fs.Int64("daily-quota", 0, "credits per UTC day (method weights: docs/configuration.md)")
	maxBatch := fs.Int("max-batch", 0, "calls in one batch")
	maxInflight := fs.Int("max-inflight", 0, "calls of the key running at once per network; more wait for its earlier ones")
	allow := fs.String("allow", "", "comma-separated methods (or prefixes ending in *) the key may call; default all")
	deny := fs.String("deny", "", "comma-separated methods (or prefixes ending in *) the key may not call")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !config.ValidKeyName(*name) {
		return usageError{error: fmt.Errorf(`keys add: --name is required: 1 to 64 letters, digits, ".", "-" or "_"`)}
	}
	if *rps < 0 || *burst < 0 || *quota < 0 || *maxBatch < 0 || *maxInflight < 0 {
		return usageError{error: fmt.Errorf("keys add: limits must not be negative (0: the defaults)")}
	}
	for _, l := range []struct{ flag, list string }{{"--allow", *allow}, {"--deny", *deny}} {
		if errs := config.MethodProblems("keys add: "+l.flag, list(l.list)); len(errs) > 0 {
			return usageError{error: errs[0]}
		}
	}
	st, err := sf.open("add")
	if err != nil {
		return err
	}
	defer st.Close()
	rec := access.Record{Name: *name, Networks: list(*networks), RPS: *rps, Burst: *burst, DailyQuota: *quota,
		MaxBatch: *maxBatch, MaxInflight: *maxInflight, Allow: list(*allow), Deny: list(*deny), Created: time.Now().UTC()}
	if st.cfg != nil {
		for _, n := range rec.Networks {
			if st.cfg.Network(n) == nil {
				return fmt.Errorf("keys add: --networks: %q is not a network of %s", n, sf.config)
			}
		}
	}
	key := access.NewKey()
	rec.Hash = config.HashAPIKey(key)
	ctx, cancel := context.WithTimeout(context.Background(), 2*redisWait)
	defer cancel()
	if err := st.Add(ctx, rec); err != nil {
		return fmt.Errorf("keys add: %w", err)
	}
	fmt.Fprintln(stdout, key)
	fmt.Fprintf(stderr, "added key %q (id %s) to the %s store: the key above is shown this once; keep it now\n",
		rec.Name, rec.ID(), st.Kind())
	return nil
}

// list splits a comma-separated flag, dropping empty entries.
func list(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
