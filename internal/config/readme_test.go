package config

import (
	"bytes"
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
	var main []byte
	for _, b := range blocks {
		if bytes.HasPrefix(b[1], []byte(fragmentMark)) {
			checkFragment(t, main, b[1])
			continue
		}
		if main == nil {
			main = b[1]
		}
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

// fragmentMark starts a yaml block that adds to the README's braid.yaml
// rather than standing alone.
const fragmentMark = "# added to braid.yaml\n"

// checkFragment loads the README's braid.yaml with fragment added, every
// ${VAR} set (Redis too): the sections it shows must be valid there.
func checkFragment(t *testing.T, main, fragment []byte) {
	t.Helper()
	if main == nil {
		t.Fatal("a README fragment comes before the braid.yaml it adds to")
	}
	all := func(name string) (string, bool) {
		if name == "REDIS_URL" {
			return "redis://127.0.0.1:6379/0", true
		}
		return "dummy-value-of-" + strings.ToLower(name), true
	}
	doc := append(append(append([]byte{}, main...), '\n'), fragment...)
	cfg, err := ParseWithEnv(doc, "README.md", all)
	if err != nil {
		t.Fatalf("README fragment does not load added to braid.yaml:\n%v\n%s", err, fragment)
	}
	if !cfg.AuthOn() {
		t.Errorf("README fragment turns nothing on:\n%s", fragment)
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
