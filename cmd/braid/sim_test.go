package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSim: braid sim writes the CSV files and plots of a small run, and
// refuses nonsense flags with exit 2.
func TestSim(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"sim", "--peers", "40", "--steps", "30", "--initial-blocks", "300", "--store-share", "0.1", "--out", dir}
	if code := runMain(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s%s", code, &stdout, &stderr)
	}
	for _, f := range []string{"samples.csv", "by_age.csv", "roles.csv", "retrievable.png", "holders_by_age.png", "archival_load.png", "roles.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if !strings.Contains(stdout.String(), "braid") || !strings.Contains(stdout.String(), "retrievable") {
		t.Errorf("output %q", &stdout)
	}
	for _, bad := range [][]string{{"sim", "--peers", "3"}, {"sim", "--regimes", "barter"}, {"sim", "--store-share", "2"}} {
		stderr.Reset()
		if code := runMain(bad, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", bad, code, &stderr)
		}
	}
}
