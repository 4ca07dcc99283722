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
	for _, bad := range [][]string{{"sim", "--peers", "3"}, {"sim", "--regimes", "barter"}, {"sim", "--store-share", "2"},
		{"sim", "--capacity", "0"}, {"sim", "--zipf", "0.5"}, {"sim", "--liars", "-0.1"}, {"sim", "--free-riders", "0.5", "--fakes", "0.5"}} {
		stderr.Reset()
		if code := runMain(bad, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", bad, code, &stderr)
		}
	}
}

// TestSimWorldFlags: the world's shares and rates are set from the command
// line — 0 meaning none, not the default — and --progress reports on
// stderr.
func TestSimWorldFlags(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"sim", "--peers", "40", "--steps", "20", "--initial-blocks", "300", "--store-share", "0.1", "--out", dir,
		"--regimes", "braid", "--plots=false", "--liars", "0", "--fakes", "0.25", "--free-riders", "0", "--zipf", "1.5",
		"--leave-rate", "0", "--progress"}
	if code := runMain(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s%s", code, &stdout, &stderr)
	}
	roles, err := os.ReadFile(filepath.Join(dir, "roles.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"braid,liar,0,", "braid,free-rider,0,", "braid,fake,10,"} {
		if !strings.Contains(string(roles), want) {
			t.Errorf("roles.csv has no %q:\n%s", want, roles)
		}
	}
	if !strings.Contains(stderr.String(), "sim: braid step 20 of 20") {
		t.Errorf("progress %q", &stderr)
	}
}
