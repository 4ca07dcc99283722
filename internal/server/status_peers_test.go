package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestStatusPeersWithoutPeers: /status/peers on a network without a peers
// section is a 404 that says so; an unknown network is a 404 naming the
// networks served; only GET is routed.
func TestStatusPeersWithoutPeers(t *testing.T) {
	b := startBraid(t, nil, mainnet(newFake(t, "a", 1)))
	for _, c := range []struct{ q, want string }{
		{"", `network \"mainnet\" has no peers section enabled`},
		{"?network=mainnet", `network \"mainnet\" has no peers section enabled`},
		{"?network=nope", `no network \"nope\"`},
	} {
		status, body := doRequest(t, http.MethodGet, b.URL+"/status/peers"+c.q, "")
		if status != http.StatusNotFound || !strings.Contains(body, c.want) {
			t.Errorf("GET /status/peers%s: %d %s, want 404 with %s", c.q, status, body, c.want)
		}
	}
	if status, _ := doRequest(t, http.MethodPost, b.URL+"/status/peers", "{}"); status == http.StatusOK {
		t.Errorf("POST /status/peers answered 200")
	}
}
