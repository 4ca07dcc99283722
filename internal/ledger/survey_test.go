package ledger

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestSurvey: holders per age bucket of the chain, held here or not: new
// blocks widely held, a month-old range held by one peer whose audit
// failed (weighed down), older blocks by nobody.
func TestSurvey(t *testing.T) {
	e := newEnv(t, Config{AgeBuckets: []uint64{128, 1000, 5000}})
	l := e.l
	net := newFakeNet(l)
	for n := uint64(testHead - 127); n <= testHead; n++ {
		net.advertise(n, ids10()...)
	}
	for n := uint64(testHead - 4999); n <= testHead-1000; n++ {
		net.advertise(n, id(1))
	}
	l.recordAudit(Audit{Peer: id(1), Outcome: Missing})
	sv, err := l.SurveyOnce(context.Background(), net, synthHeaders{}, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(sv.Buckets) != 4 || sv.Head != testHead {
		t.Fatalf("survey %+v", sv)
	}
	want := []SurveyBucket{
		{Name: "0-127", Sampled: 20, MeanHolders: 10, MeanCopies: 10},
		{Name: "128-999", Sampled: 20, None: 20, BelowTarget: 20},
		{Name: "1000-4999", Sampled: 20, MeanHolders: 1, MeanCopies: 1.0 / 3, BelowTarget: 20},
		{Name: "5000+", Sampled: 20, None: 20, BelowTarget: 20},
	}
	for i, w := range want {
		g := sv.Buckets[i]
		if g.Name != w.Name || g.Sampled != w.Sampled || g.None != w.None || g.BelowTarget != w.BelowTarget ||
			g.MeanHolders != w.MeanHolders || abs(g.MeanCopies-w.MeanCopies) > 1e-9 {
			t.Errorf("bucket %d: %+v, want %+v", i, g, w)
		}
	}
	var out bytes.Buffer
	if err := sv.WriteText(&out); err != nil || !strings.Contains(out.String(), "1000-4999") {
		t.Fatalf("text %q %v", out.String(), err)
	}
	e.head = 50 // a short chain: only the first bucket has blocks
	sv, _ = l.SurveyOnce(context.Background(), net, synthHeaders{}, 5)
	if sv.Buckets[0].Sampled != 5 || sv.Buckets[1].Sampled != 0 {
		t.Fatalf("short chain %+v", sv.Buckets)
	}
}

func abs(v float64) float64 { return max(v, -v) }
