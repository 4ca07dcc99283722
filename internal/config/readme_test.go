package config

import (
	"os"
	"regexp"
	"testing"
)

// TestReadmeExampleParses keeps the README's config example honest: it must
// load as written (with its ${VARS} set).
func TestReadmeExampleParses(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no yaml example")
	}
	env := func(name string) (string, bool) {
		if name == "REDIS_URL" {
			return "redis://127.0.0.1:6379/0", true
		}
		return "test-key", true
	}
	for _, b := range blocks {
		cfg, err := ParseWithEnv(b[1], "README.md", env)
		if err != nil {
			t.Fatalf("README example does not load:\n%v", err)
		}
		if len(cfg.Networks) < 2 || len(cfg.Networks[0].Operators()) < 3 {
			t.Fatalf("README example should show several networks and operators, got %+v", cfg.Networks)
		}
	}
}
