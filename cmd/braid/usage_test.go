package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelp: every subcommand's -h and --help exit 0, print its usage and
// point to the configuration reference and the examples; the top-level
// usage does too. A flag that does not exist is a usage error (exit 2).
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"serve", "demo", "check"} {
		for _, flag := range []string{"-h", "--help"} {
			var stdout, stderr bytes.Buffer
			if code := runMain([]string{cmd, flag}, &stdout, &stderr); code != 0 {
				t.Errorf("braid %s %s: exit %d, want 0\n%s%s", cmd, flag, code, &stdout, &stderr)
			}
			out := stdout.String() + stderr.String()
			for _, want := range []string{"Usage: braid " + cmd, "docs/configuration.md", "examples/", "-log-level"} {
				if cmd == "check" && want == "-log-level" {
					continue
				}
				if !strings.Contains(out, want) {
					t.Errorf("braid %s %s does not print %q:\n%s", cmd, flag, want, out)
				}
			}
			if strings.Contains(out, "help requested") {
				t.Errorf("braid %s %s reports -h as an error:\n%s", cmd, flag, out)
			}
		}
		var stdout, stderr bytes.Buffer
		if code := runMain([]string{cmd, "--no-such-flag"}, &stdout, &stderr); code != 2 {
			t.Errorf("braid %s --no-such-flag: exit %d, want 2", cmd, code)
		}
		if !strings.Contains(stderr.String(), "flag provided but not defined: -no-such-flag") {
			t.Errorf("braid %s --no-such-flag: stderr %q", cmd, &stderr)
		}
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		var stdout, stderr bytes.Buffer
		if code := runMain(args, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "docs/configuration.md") {
			t.Errorf("braid %s: exit %d, output %q", args[0], code, &stdout)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := runMain(nil, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "Usage:") {
		t.Errorf("braid with no command: exit %d, stderr %q", code, &stderr)
	}
	stderr.Reset()
	if code := runMain([]string{"serve", "braid.yaml"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "--config") {
		t.Errorf("braid serve braid.yaml: exit %d, stderr %q", code, &stderr)
	}
}
