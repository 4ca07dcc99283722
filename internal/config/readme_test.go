package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeExampleParses keeps the README's config example honest: it
// must load and validate as written, with only the environment variables
// its `braid serve` command line sets (dummy values) and nothing else: a
// setting the README calls optional must not need a variable it does not
// set. Then it loads again with every ${VAR} set, as a user who sets the
// optional ones too.
func TestReadmeExampleParses(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no yaml example")
	}
	given := serveEnv(t, string(readme))
	for _, b := range blocks {
		var used []string
		only := func(name string) (string, bool) {
			used = append(used, name)
			if !slices.Contains(given, name) {
				return "", false
			}
			return "dummy-" + strings.ToLower(name), true
		}
		cfg, err := ParseWithEnv(b[1], "README.md", only)
		if err != nil {
			t.Fatalf("README example does not load with only %s set, as its command line says:\n%v", strings.Join(given, ", "), err)
		}
		if len(cfg.Networks) < 2 || len(cfg.Networks[0].Operators()) < 3 {
			t.Fatalf("README example should show several networks and operators, got %+v", cfg.Networks)
		}
		for _, name := range given {
			if !slices.Contains(used, name) {
				t.Errorf("the README's command line sets %s, which its example does not use", name)
			}
		}
		if w := cfg.Warnings(); len(w) > 0 {
			t.Errorf("README example has warnings: %q", w)
		}

		all := func(name string) (string, bool) {
			if name == "REDIS_URL" {
				return "redis://127.0.0.1:6379/0", true
			}
			return "dummy-" + strings.ToLower(name), true
		}
		if _, err := ParseWithEnv(b[1], "README.md", all); err != nil {
			t.Fatalf("README example does not load with every variable set:\n%v", err)
		}
	}
}

// serveEnv returns the environment variables the README's `braid serve`
// command line sets ("INFURA_KEY=… ALCHEMY_KEY=… ./braid serve …").
func serveEnv(t *testing.T, readme string) []string {
	t.Helper()
	line := regexp.MustCompile(`(?m)^((?:[A-Z_][A-Z0-9_]*=\S*\s+)+)\./braid serve`).FindStringSubmatch(readme)
	if line == nil {
		t.Fatal("README.md has no `VAR=… ./braid serve` command line")
	}
	var names []string
	for _, m := range regexp.MustCompile(`([A-Z_][A-Z0-9_]*)=`).FindAllStringSubmatch(line[1], -1) {
		names = append(names, m[1])
	}
	return names
}
