package ledger

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/history"
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

// TestSurveyKeptAndPersisted: a finished survey is the ledger's last one
// (Snapshot, the metrics); a gateway's ledger persists it with the last
// tip it saw, so a ledger opened with no tip (braid check) shows the
// survey and places held blocks by age from that tip.
func TestSurveyKeptAndPersisted(t *testing.T) {
	dir := t.TempDir()
	e := &env{clk: newEnv(t, Config{}).clk, head: testHead}
	cfg := Config{AgeBuckets: []uint64{128, 1000, 5000}}
	l, err := Open(dir, e.opts(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.LastSurvey(); ok || l.Snapshot().Survey != nil {
		t.Fatal("a survey before any ran")
	}
	net := newFakeNet(l)
	for n := uint64(testHead - 127); n <= testHead; n++ {
		net.advertise(n, ids10()...)
	}
	l.Hold([]history.Item{{Hash: synthHeader(testHead - 10).Hash(), Number: testHead - 10, Parts: history.AllParts},
		{Hash: synthHeader(testHead - 2000).Hash(), Number: testHead - 2000, Parts: history.AllParts}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.SurveyOnce(ctx, net, synthHeaders{}, 3); err == nil {
		t.Fatal("a cancelled survey succeeded")
	}
	if _, ok := l.LastSurvey(); ok {
		t.Fatal("a cancelled survey was kept")
	}
	sv, err := l.SurveyOnce(context.Background(), net, synthHeaders{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if s := l.Snapshot().Survey; s == nil || !reflect.DeepEqual(*s, sv) || !sv.At.Equal(e.clk.Now()) {
		t.Fatalf("snapshot survey %+v, want %+v", s, sv)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	off, err := Open(dir, Options{Config: cfg, Clock: e.clk}) // no Head: braid check
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	got, ok := off.LastSurvey()
	if !ok || !got.At.Equal(sv.At) || got.Head != sv.Head || !reflect.DeepEqual(got.Buckets, sv.Buckets) {
		t.Fatalf("persisted survey %+v, want %+v", got, sv)
	}
	av := off.Availability()
	if !av.HeadKnown || av.Head != testHead || av.HeadAt == nil || !av.HeadAt.Equal(epoch) {
		t.Fatalf("availability head %d known %v at %v: want the tip the gateway last saw", av.Head, av.HeadKnown, av.HeadAt)
	}
	if av.Buckets[0].Blocks != 0 || av.Buckets[1].Blocks != 1 || av.Buckets[3].Blocks != 1 {
		t.Fatalf("held blocks by age %+v: want one 0-127 deep and one 1000-4999", av.Buckets)
	}
	var out bytes.Buffer
	if err := got.WriteText(&out); err != nil || !strings.Contains(out.String(), "surveyed 2026-01-01T00:00:00Z at head 10000") {
		t.Fatalf("survey text %q %v", out.String(), err)
	}
	out.Reset()
	if err := av.WriteText(&out); err != nil || !strings.Contains(out.String(), "head 10000, as the gateway last saw it at 2026-01-01T00:00:00Z") {
		t.Fatalf("availability text %q %v", out.String(), err)
	}
}

// TestRunSurveys: Run surveys the network within a minute of starting and
// then every SurveyInterval, on the injected clock.
func TestRunSurveys(t *testing.T) {
	e := newEnv(t, Config{AuditInterval: -1, SampleInterval: -1, RepairInterval: -1, SurveyInterval: time.Hour, SurveyBlocks: 2})
	net := newFakeNet(e.l)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.l.Run(ctx, Tasks{Network: net, Headers: synthHeaders{}}) }()
	await.Until(t, "Run waiting", func() bool { return e.clk.Waiters() > 0 })
	e.clk.Advance(time.Minute)
	await.Until(t, "a first survey", func() bool { _, ok := e.l.LastSurvey(); return ok })
	first, _ := e.l.LastSurvey()
	await.Until(t, "Run waiting again", func() bool { return e.clk.Waiters() > 0 })
	e.clk.Advance(59 * time.Minute)
	if sv, _ := e.l.LastSurvey(); !sv.At.Equal(first.At) {
		t.Fatalf("surveyed again after 59 minutes (%s, then %s)", first.At, sv.At)
	}
	e.clk.Advance(time.Minute)
	await.Until(t, "a second survey", func() bool { sv, _ := e.l.LastSurvey(); return sv.At.After(first.At) })
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}
