package gateway

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/braidrpc/braid/internal/config"
)

// TestCentralizationGauges: the coefficients scraped from the registry are
// the report's, and the require section shows as braid_centralization_required
// only for what it requires, so an alert can compare the two.
func TestCentralizationGauges(t *testing.T) {
	cfg := config.Default()
	net := func(name string, chainID uint64, ops int, k int, req config.Require) config.Network {
		n := config.Network{Name: name, ChainID: chainID, Quorum: config.Quorum{K: k}, Require: req}
		for i := range ops {
			n.Upstreams = append(n.Upstreams, config.Upstream{Name: fmt.Sprintf("%s-u%d", name, i),
				Operator: fmt.Sprintf("op%d", i), URL: fmt.Sprintf("http://127.0.0.1:1/%s/%d", name, i)})
		}
		return n
	}
	cfg.Networks = []config.Network{
		net("mainnet", 1, 3, 2, config.Require{Availability: 2, Integrity: 3}),
		net("devnet", 1337, 1, 0, config.Require{}),
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	g, err := New(cfg, Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	got := map[string]float64{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()+labelString(m.GetLabel())] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{}
	for _, n := range g.Centralization().Networks {
		want["braid_centralization_availability{network="+n.Name+"}"] = float64(n.Availability.Min)
		want["braid_centralization_integrity{network="+n.Name+"}"] = float64(n.Integrity.Value)
		want["braid_centralization_hhi{network="+n.Name+"}"] = n.HHI
	}
	want["braid_centralization_required{coefficient=availability,network=mainnet}"] = 2
	want["braid_centralization_required{coefficient=integrity,network=mainnet}"] = 3
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && strings.HasPrefix(k, "braid_centralization_required") {
			t.Errorf("unexpected %s", k)
		}
	}
	// The mainnet figures are the ones its config gives: 3 operators, k=2.
	if got["braid_centralization_availability{network=mainnet}"] < 1 || got["braid_centralization_integrity{network=mainnet}"] != 2 {
		t.Errorf("mainnet coefficients: %v", got)
	}
}

func labelString(ls []*dto.LabelPair) string {
	if len(ls) == 0 {
		return ""
	}
	s := "{"
	for i, l := range ls {
		if i > 0 {
			s += ","
		}
		s += l.GetName() + "=" + l.GetValue()
	}
	return s + "}"
}
