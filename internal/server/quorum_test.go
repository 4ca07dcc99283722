package server_test

// /status/centralization over a quorum network. (Quorum reads, disputes,
// shortfalls and broadcasts are the executor's: internal/gateway's
// quorum_test.go and broadcast_test.go.)

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gatewaytest"
	"github.com/braidrpc/braid/internal/report"
)

const balanceParams = `["0x0000000000000000000000000000000000000001","latest"]`

func (b *braid) getJSON(path string, v any) {
	b.t.Helper()
	status, body := doRequest(b.t, http.MethodGet, b.URL+path, "")
	if status != http.StatusOK {
		b.t.Fatalf("GET %s: HTTP %d: %s", path, status, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		b.t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

func TestCentralizationEndpoint(t *testing.T) {
	a, c := newFake(t, "a", 1), newFake(t, "c", 1)
	b := startBraidConfig(t, gatewaytest.QuorumConfig(t, config.Quorum{K: 2}, a, c), mainnet(a, c))
	gatewaytest.AwaitHeads(t, b.gw.Network("mainnet"), a, c)
	for range 5 {
		b.call("/", "eth_getBalance", balanceParams)
	}
	var rep report.Report
	b.getJSON("/status/centralization", &rep)
	n := rep.Networks[0]
	if n.Integrity.Value != 2 || n.Availability.Min != 1 || n.Requests != 10 || n.HHI != 5000 {
		t.Fatalf("report %+v", n)
	}
	status, text := doRequest(t, http.MethodGet, b.URL+"/status/centralization?format=text", "")
	if status != http.StatusOK || !strings.Contains(text, "integrity") || strings.Contains(text, "127.0.0.1") {
		t.Fatalf("text report (HTTP %d):\n%s", status, text)
	}
}
