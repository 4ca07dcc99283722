package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/braidrpc/braid/internal/access"
)

const keysListUsage = `Usage: braid keys list (--config FILE | --file PATH | --redis URL) [--json]

Lists the stored keys by name and id (the first 12 hex digits of the
key's hash), with their limits and state; with --config, the config's own
keys too. Keys themselves are never shown: braid does not have them.
`

// listed is one line of braid keys list.
type listed struct {
	access.Record
	ID     string `json:"id"`
	Source string `json:"source"`
}

func runKeysList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys list", keysListUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON (hashes included)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := sf.open("list")
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*redisWait)
	defer cancel()
	records, err := st.List(ctx)
	if err != nil {
		return fmt.Errorf("keys list: %w", err)
	}
	var out []listed
	if st.cfg != nil {
		for _, k := range st.cfg.Keys {
			out = append(out, listed{Record: access.Record{Name: k.Name, Hash: k.HashString(), Networks: k.Networks,
				RPS: k.RPS, Burst: k.Burst, DailyQuota: k.DailyQuota, MaxBatch: k.MaxBatch, MaxInflight: k.MaxInflight,
				Allow: k.Methods.Allow, Deny: k.Methods.Deny}, ID: access.ID(k.HashString()), Source: "config"})
		}
	}
	slices.SortStableFunc(records, func(a, b access.Record) int { return a.Created.Compare(b.Created) })
	for _, r := range records {
		out = append(out, listed{Record: r, ID: r.ID(), Source: st.Kind()})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return writeKeys(stdout, out)
}

// writeKeys prints the keys as a table.
func writeKeys(w io.Writer, keys []listed) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSOURCE\tSTATE\tNETWORKS\tRPS\tBURST\tDAILY QUOTA\tMAX BATCH\tMETHODS\tCREATED")
	for _, k := range keys {
		state := "active"
		if k.Revoked != nil {
			state = "revoked " + k.Revoked.Format(time.DateOnly)
		}
		created := "-"
		if !k.Created.IsZero() {
			created = k.Created.Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Name, k.ID, k.Source, state,
			orAll(strings.Join(k.Networks, ",")), num(strconv.FormatFloat(k.RPS, 'g', -1, 64)), num(strconv.Itoa(k.Burst)),
			num(strconv.FormatInt(k.DailyQuota, 10)), num(strconv.Itoa(k.MaxBatch)), methods(k.Allow, k.Deny), created)
	}
	return tw.Flush()
}

func orAll(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

// num shows 0 (the default) as "-".
func num(s string) string {
	if s == "0" {
		return "-"
	}
	return s
}

func methods(allow, deny []string) string {
	var parts []string
	if len(allow) > 0 {
		parts = append(parts, "allow "+strings.Join(allow, ","))
	}
	if len(deny) > 0 {
		parts = append(parts, "deny "+strings.Join(deny, ","))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, "; ")
}
