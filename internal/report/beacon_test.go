package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
)

// Under trust: beacon + verify: strict no set of operators can make a
// strict answer wrong: the coefficient is unbounded, meets any
// requirement, and the text and JSON say that only the sync committee can.
func TestBeaconStrictIntegrity(t *testing.T) {
	n := topology("infura alchemy self")
	n.Verify.Mode = config.VerifyStrict
	n.Trust = config.Trust{Source: config.TrustBeacon}
	n.Require = config.Require{Integrity: 10}
	r, err := Build(&n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Integrity.Unbounded || r.Integrity.Value != 4 || !r.OK || r.Trust != config.TrustBeacon {
		t.Fatalf("integrity %+v ok=%v trust=%q", r.Integrity, r.OK, r.Trust)
	}
	if !strings.Contains(r.Integrity.Note, "only the sync committee can") {
		t.Errorf("note %q", r.Integrity.Note)
	}
	if r.Availability.Reads != 3 {
		t.Errorf("reads availability %d, want 3 (every operator must fail)", r.Availability.Reads)
	}
	for _, w := range r.Warnings {
		if strings.Contains(w, "min_operators") || strings.Contains(w, "no quorum") {
			t.Errorf("warning that does not apply under trust beacon: %s", w)
		}
	}
	var buf bytes.Buffer
	if err := New([]*Network{r}).WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"∞   no set of operators can make braid answer wrongly: only the sync committee can", "trust", "integrity ≥ 10: met"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}

	// Operators trust with the same strict setup: the head is theirs.
	n.Trust = config.Trust{}
	r, _ = Build(&n, nil)
	if r.Integrity.Unbounded || r.Integrity.Value != 2 || r.OK {
		t.Fatalf("operators trust: integrity %+v ok=%v", r.Integrity, r.OK)
	}

	// With the local EVM on, eth_call is proven, so allowing it unverified
	// changes nothing.
	n.Trust = config.Trust{Source: config.TrustBeacon}
	n.Verify.AllowUnverified = []string{"eth_call"}
	n.Quorum = quorum(2, config.OnShortfallError)
	if r, _ = Build(&n, nil); !r.Integrity.Unbounded {
		t.Fatalf("eth_call proven on the local EVM: integrity %+v", r.Integrity)
	}

	// An unverified method on quorum k 2 bounds it again: eth_call with
	// the local EVM off is served unchecked.
	off := false
	n.Verify.EVM.Enabled = &off
	n.Quorum = quorum(2, config.OnShortfallError)
	r, _ = Build(&n, nil)
	if r.Integrity.Unbounded || r.Integrity.Value != 2 || !strings.Contains(r.Integrity.Note, "eth_call") {
		t.Fatalf("unverified eth_call: integrity %+v", r.Integrity)
	}
}

// Under trust: beacon the report names the beacon APIs (never their paths
// or keys) and warns about what no coefficient shows: a single beacon API,
// two on one host, a signed tip without verify: strict, and no data_dir.
func TestBeaconWarnings(t *testing.T) {
	n := topology("infura alchemy self")
	n.Trust = config.Trust{Source: config.TrustBeacon, BeaconAPIs: []config.BeaconAPI{
		{URL: "https://user:PASS@beacon.example.com:5052/SECRET-PATH?key=SECRET-KEY"},
	}}
	r, err := Build(&n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.BeaconAPIs) != 1 || r.BeaconAPIs[0] != "https://beacon.example.com:5052" {
		t.Fatalf("beacon APIs %q", r.BeaconAPIs)
	}
	want := []string{
		"one beacon API (https://beacon.example.com:5052): while it is down or quarantined braid is not ready",
		"trust beacon without verify strict",
		"trust.data_dir is not set",
		"checkpoint_max_age (14d)",
	}
	var buf bytes.Buffer
	if err := New([]*Network{r}).WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(r.Warnings, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("warnings lack %q:\n%s", w, all)
		}
	}
	if !strings.Contains(buf.String(), "1 beacon API (https://beacon.example.com:5052)") {
		t.Errorf("text does not name the beacon API:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), "SECRET") || strings.Contains(buf.String(), "PASS") || strings.Contains(all, "SECRET") {
		t.Errorf("the report shows a beacon API's path, key or password:\n%s", buf.String())
	}

	// Two named APIs on one host, strict, a data_dir: only the host warning.
	n.Verify.Mode = config.VerifyStrict
	n.Trust.DataDir = "/var/lib/braid"
	n.Trust.BeaconAPIs = []config.BeaconAPI{
		{Name: "nimbus", URL: "http://10.0.0.5:5052"},
		{Name: "lodestar", URL: "http://10.0.0.5:9596"},
	}
	r, _ = Build(&n, nil)
	if all := strings.Join(r.Warnings, "\n"); !strings.Contains(all, "beacon APIs nimbus and lodestar are on one host") ||
		strings.Contains(all, "beacon API (") || strings.Contains(all, "verify strict") || strings.Contains(all, "data_dir") {
		t.Errorf("warnings %q", r.Warnings)
	}
	n.Trust.BeaconAPIs[1].URL = "https://lodestar.example.org"
	if r, _ = Build(&n, nil); strings.Contains(strings.Join(r.Warnings, "\n"), "beacon") {
		t.Errorf("warnings with two beacon APIs on two hosts: %q", r.Warnings)
	}

	// Operators trust: none of these.
	n.Trust = config.Trust{}
	if r, _ = Build(&n, nil); strings.Contains(strings.Join(r.Warnings, "\n"), "beacon") || r.BeaconAPIs != nil {
		t.Errorf("operators trust: warnings %q, beacon APIs %q", r.Warnings, r.BeaconAPIs)
	}
}
