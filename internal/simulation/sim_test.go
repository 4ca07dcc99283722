package simulation

import (
	"context"
	"reflect"
	"testing"
)

// small is the simulation the default suite runs: 200 peers, bounded in
// steps, stores large enough for the target copies.
var small = Params{Peers: 200, Steps: 240, InitialBlocks: 500, StoreShare: 0.05, Seed: 7}

// tail is the mean share of old blocks retrievable over the last n
// samples.
func tail(r Result, n int) float64 {
	var sum float64
	s := r.Samples[len(r.Samples)-n:]
	for _, x := range s {
		sum += x.Retrievable
	}
	return sum / float64(len(s))
}

// TestRegimesOrdering: once the archival peers are gone, braid's pricing
// with audits keeps more old content retrievable than tit-for-tat, and
// tit-for-tat no less than plain peer-to-peer; braid keeps nearly all of
// it while plain peer-to-peer loses a large share.
func TestRegimesOrdering(t *testing.T) {
	var got [3]float64
	for _, r := range Regimes {
		res, err := Run(context.Background(), small, r)
		if err != nil {
			t.Fatal(err)
		}
		last := res.Samples[len(res.Samples)-1]
		if last.Archival != 0 {
			t.Fatalf("%s: %d archival peers left at the end", r, last.Archival)
		}
		got[r] = tail(res, 5)
		t.Logf("%s: old blocks retrievable %.4f (last 5 samples), lost %.4f, mean holders %.2f", r, got[r], last.Lost, last.MeanHolders)
	}
	if !(got[Braid] >= got[TitForTat] && got[TitForTat] >= got[None]) {
		t.Fatalf("retrievable: none %.4f, tit-for-tat %.4f, braid %.4f: want braid >= tit-for-tat >= none", got[None], got[TitForTat], got[Braid])
	}
	if got[Braid] < 0.95 || got[None] > 0.8 {
		t.Fatalf("retrievable: none %.4f, braid %.4f: want braid to keep nearly all old content and none to lose a large share", got[None], got[Braid])
	}
}

// TestDeterministic: one seed gives one run.
func TestDeterministic(t *testing.T) {
	p := Params{Peers: 60, Steps: 40, InitialBlocks: 300, StoreShare: 0.1, Seed: 3}
	a, err := Run(context.Background(), p, Braid)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(context.Background(), p, Braid)
	a.Elapsed, b.Elapsed = 0, 0
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs of one seed differ:\n%+v\n%+v", a.Samples, b.Samples)
	}
}

// TestValidate: nonsense parameters are refused.
func TestValidate(t *testing.T) {
	for _, p := range []Params{{Peers: 5}, {StoreShare: 2}, {ZipfS: 0.5}, {FreeRiders: 0.5, Liars: 0.5}, {ArchivalLeaveFrom: 0.8, ArchivalLeaveTo: 0.2}, {ProviderDepth: 100}} {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	if _, err := Run(context.Background(), Params{Peers: 5}, None); err == nil {
		t.Error("Run accepted 5 peers")
	}
}
