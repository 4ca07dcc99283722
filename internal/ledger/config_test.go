package ledger

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigYAML(t *testing.T) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader("age_depth: 64\nage_multiplier: 3\naudit_interval: 2m\nage_buckets: [10, 20]\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.AgeDepth != 64 || c.AgeMultiplier != 3 || c.AuditInterval != 2*time.Minute || len(c.AgeBuckets) != 2 {
		t.Fatalf("%+v", c)
	}
	dec = yaml.NewDecoder(strings.NewReader("age_dpeth: 64\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Fatal("a misspelt key was accepted")
	}
}
