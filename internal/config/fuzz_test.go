package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, always returns either a config
// or an error, and that a config it accepts validates.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("networks:\n- name: n\n  chain_id: 1\n  upstreams:\n  - {name: u, url: 'https://h/SECRET123?k=SECRET123', operator: o}\n"))
	f.Add([]byte("listen: ${A\nnetworks: [{name: '${B}', upstreams: [{url: 'ftp://h/SECRET123'}]}]\n"))
	f.Add([]byte("a: &a [*a, *a]\nb: &b [*a, *a]\n"))

	env := lookupIn(testEnv)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseWithEnv(data, "fuzz.yaml", env)
		if err != nil {
			if c != nil {
				t.Fatal("config returned along with an error")
			}
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			return
		}
		if c == nil {
			t.Fatal("nil config without an error")
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config Validate rejects: %v", err)
		}
	})
}
