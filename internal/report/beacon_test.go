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
