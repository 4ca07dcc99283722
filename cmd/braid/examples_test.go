package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
)

// wantExamples are the shipped configurations; each must exist, load,
// validate and pass its own `braid check`.
var wantExamples = []string{"minimal.yaml", "mainnet-federated.yaml", "quorum.yaml", "strict.yaml",
	"replicas-redis.yaml", "multi-network.yaml"}

// TestExamples loads every examples/*.yaml with each ${VAR} it names set
// to a dummy value (the variables its header's command line sets, and no
// others), validates it, runs `braid check` on it (every require section
// met: exit 0, no warning from the config itself), and checks that the
// README and the examples' index link it.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for _, want := range wantExamples {
		if !slices.Contains(names, want) {
			t.Errorf("examples/%s is missing", want)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	index, err := os.ReadFile("../../examples/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			checkExample(t, f, string(data))
			if !strings.Contains(string(readme), "examples/"+name) || !strings.Contains(string(index), "("+name+")") {
				t.Errorf("README.md or examples/README.md does not link examples/%s", name)
			}
		})
	}
}

// envRef is a ${NAME} or ${NAME:-…} reference.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// checkExample sets the environment the example's comment says to set,
// then loads and checks it as `braid check` would.
func checkExample(t *testing.T, path, data string) {
	t.Helper()
	cmd := regexp.MustCompile(`(?s)#\s+((?:[A-Z_][A-Z0-9_]*=\S*\s+(?:\\\s*#\s+)?)*)braid serve --config examples/`).FindStringSubmatch(data)
	if cmd == nil {
		t.Fatalf("%s has no `VAR=… braid serve --config examples/…` line in its header", path)
	}
	var given []string
	for _, m := range regexp.MustCompile(`([A-Z_][A-Z0-9_]*)=`).FindAllStringSubmatch(cmd[1], -1) {
		given = append(given, m[1])
	}
	for _, m := range envRef.FindAllStringSubmatch(data, -1) {
		if m[2] == "" && !slices.Contains(given, m[1]) {
			t.Errorf("%s uses ${%s} but its command line does not set it", path, m[1])
		}
	}
	for _, name := range given {
		t.Setenv(name, dummyEnv(name))
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("does not load with %s set:\n%v", strings.Join(given, ", "), err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if w := cfg.Warnings(); len(w) > 0 {
		t.Errorf("warnings: %q", w)
	}
	for _, n := range cfg.Networks {
		if len(n.DistinctOperators()) < 2 {
			t.Errorf("network %s has fewer than 2 operators: not an example of braid", n.Name)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := runCheck([]string{"--config", path}, &stdout, &stderr); code != 0 {
		t.Errorf("braid check exits %d, want 0:\n%s%s", code, &stdout, &stderr)
	}
	if strings.Contains(stdout.String(), "dummy-secret") {
		t.Errorf("braid check shows a secret:\n%s", &stdout)
	}
	stdout.Reset()
	if code := runCheck([]string{"--json", "--config", path}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "{") {
		t.Errorf("braid check --json exits %d:\n%s%s", code, &stdout, &stderr)
	}
}

// dummyEnv is a value of the right shape for an example's variable.
func dummyEnv(name string) string {
	switch {
	case strings.HasPrefix(name, "REDIS"):
		return "redis://:dummy-secret@127.0.0.1:6379/0"
	case strings.HasSuffix(name, "_URL"):
		return "https://dummy.example/dummy-secret/"
	}
	return "dummy-secret-" + strings.ToLower(name)
}
