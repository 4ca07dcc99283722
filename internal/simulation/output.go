package simulation

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// WriteCSV writes the results into dir: samples.csv (the series over
// time), by_age.csv (holders per block by age at the end) and roles.csv
// (what each kind of peer got).
func WriteCSV(dir string, results []Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("simulation: %w", err)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	samples := [][]string{{"regime", "step", "old_blocks", "retrievable", "lost", "mean_holders_old",
		"archival_left", "archival_load", "old_success", "success_normal", "success_free_rider", "success_liar", "success_fake"}}
	ages := [][]string{{"regime", "depth", "blocks", "mean_holders", "unreachable"}}
	roleRows := [][]string{{"regime", "role", "peers", "asked", "got", "success", "served", "attempts", "mean_balance", "mean_standing"}}
	for _, r := range results {
		for _, s := range r.Samples {
			samples = append(samples, []string{r.Regime.String(), strconv.Itoa(s.Step), strconv.Itoa(s.OldBlocks),
				f(s.Retrievable), f(s.Lost), f(s.MeanHolders), strconv.Itoa(s.Archival), f(s.ArchivalLoad), f(s.OldSuccess),
				f(s.Success[Normal]), f(s.Success[FreeRider]), f(s.Success[Liar]), f(s.Success[Fake])})
		}
		for _, a := range r.ByAge {
			ages = append(ages, []string{r.Regime.String(), a.Name, strconv.Itoa(a.Blocks), f(a.MeanHolders), f(a.Unreachable)})
		}
		for _, o := range r.Roles {
			roleRows = append(roleRows, []string{r.Regime.String(), o.Role.String(), strconv.Itoa(o.Peers), i(o.Asked), i(o.Got),
				f(ratio(o.Got, o.Asked)), i(o.Served), i(o.Attempts), f(o.MeanBalance), f(o.MeanStanding)})
		}
	}
	for name, rows := range map[string][][]string{"samples.csv": samples, "by_age.csv": ages, "roles.csv": roleRows} {
		if err := writeRows(filepath.Join(dir, name), rows); err != nil {
			return err
		}
	}
	return nil
}

func writeRows(path string, rows [][]string) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("simulation: %w", err)
	}
	w := csv.NewWriter(out)
	werr := w.WriteAll(rows)
	if err := out.Close(); werr == nil && err != nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("simulation: writing %s: %w", path, werr)
	}
	return nil
}
