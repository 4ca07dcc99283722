package report

import (
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
)

func TestHistoryHolder(t *testing.T) {
	for _, c := range []struct {
		name   string
		peers  config.Peers
		holder bool
		note   string
	}{
		{"off", config.Peers{}, false, "providers only"},
		{"on, alone, keeps nothing", config.Peers{Enabled: true}, false, "no bootstrap peers and keep is none"},
		{"keeps", config.Peers{Enabled: true, Keep: "pre-merge"}, true, "this gateway keeps pre-merge"},
		{"joins", config.Peers{Enabled: true, Bootstrap: []string{"/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWX"}}, true, "1 bootstrap peer(s) may hold it"},
		{"keeps and joins", config.Peers{Enabled: true, Keep: "all", Bootstrap: []string{"/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWX"}}, true, "keeps all, and 1 bootstrap"},
	} {
		n := &config.Network{Name: "main", ChainID: 1, Peers: c.peers,
			Upstreams: []config.Upstream{{Name: "a", URL: "https://a.example", Operator: "a"}}}
		r, err := Build(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.History.Holder != c.holder || !strings.Contains(r.History.Note, c.note) {
			t.Errorf("%s: %+v, want holder %v and %q", c.name, r.History, c.holder, c.note)
		}
		var b strings.Builder
		if err := New([]*Network{r}).WriteText(&b); err != nil || !strings.Contains(b.String(), "history") {
			t.Errorf("%s: text report has no history line: %s", c.name, b.String())
		}
	}
}
