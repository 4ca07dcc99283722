package operator

import (
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/upstream"
)

func TestLieCostsAStrikeAndQuarantinesPastTheLimit(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	var ups []*upstream.Upstream
	for _, c := range []config.Upstream{
		{Name: "a1", Operator: "liar", URL: "http://127.0.0.1:1"},
		{Name: "a2", Operator: "liar", URL: "http://127.0.0.1:2"},
		{Name: "b", Operator: "honest", URL: "http://127.0.0.1:3"},
	} {
		ups = append(ups, upstream.New(c, upstream.Options{Network: "test", Clock: fc}))
	}
	s := New(Options{Network: "test", Strikes: config.Strikes{Max: 2, Window: time.Minute, Quarantine: time.Hour},
		Upstreams: ups, Clock: fc})
	var mu sync.Mutex
	var told []bool
	s.OnStrike(func(op string, _ time.Time, q bool) {
		mu.Lock()
		told = append(told, q)
		mu.Unlock()
	})

	s.Lie("liar", ups[0], "its answer failed verification")
	if ups[0].Health().Snapshot("").Failures != 1 {
		t.Fatal("the lying upstream's score did not count the lie")
	}
	if s.Strikes("liar") != 1 || len(s.Quarantined()) != 0 {
		t.Fatalf("one lie: %d strikes, quarantined %v", s.Strikes("liar"), s.Quarantined())
	}
	s.Lie("liar", nil, "its answer lost a dispute")
	if _, ok := s.Quarantined()["liar"]; !ok {
		t.Fatal("two lies of a limit of two did not quarantine the operator")
	}
	for _, u := range ups[:2] {
		if _, _, ok := u.Suspended(); !ok {
			t.Fatalf("%s of the quarantined operator is still in use", u.Name)
		}
	}
	if _, _, ok := ups[2].Suspended(); ok {
		t.Fatal("the honest operator's upstream was suspended")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(told) != 2 || told[0] || !told[1] {
		t.Fatalf("strike hook told %v, want [false true]", told)
	}
}

func TestAdoptSuspendsOnce(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	u := upstream.New(config.Upstream{Name: "a", Operator: "op", URL: "http://127.0.0.1:1"}, upstream.Options{Clock: fc})
	s := New(Options{Network: "test", Strikes: config.Strikes{Max: 3, Window: time.Minute, Quarantine: time.Hour},
		Upstreams: []*upstream.Upstream{u}, Clock: fc})
	until := fc.Now().Add(time.Hour)
	if !s.Adopt("op", until) || s.Adopt("op", until) {
		t.Fatal("Adopt is news once")
	}
	if _, _, ok := u.Suspended(); !ok {
		t.Fatal("an adopted quarantine did not suspend the operator's upstream")
	}
}
