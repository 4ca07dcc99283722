package devnet

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

const chainIDBody = `{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`

func TestFaultDown(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[0]
	mustCall(t, p, "eth_chainId") // leaves a keep-alive connection behind
	p.SetFaults(Faults{Down: true})
	for range 3 {
		if resp, b, err := post(t, p.URL, chainIDBody); err == nil {
			t.Fatalf("down provider answered HTTP %d: %s", resp.StatusCode, b)
		}
	}
	if other := d.Providers()[1]; string(mustCall(t, other, "eth_chainId")) != `"0x539"` {
		t.Error("another provider is affected")
	}
	p.SetFaults(Faults{})
	mustCall(t, p, "eth_chainId")
}

func TestFaultHTTPStatus(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[0]
	for _, tt := range []struct {
		status     int
		retryAfter string
	}{
		{http.StatusTooManyRequests, "1"},
		{http.StatusServiceUnavailable, ""},
		{http.StatusInternalServerError, ""},
	} {
		p.SetFaults(Faults{HTTPStatus: tt.status})
		resp, b, err := post(t, p.URL, chainIDBody)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tt.status {
			t.Errorf("HTTP %d, want %d", resp.StatusCode, tt.status)
		}
		if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
			t.Errorf("HTTP %d: Retry-After %q, want %q", tt.status, got, tt.retryAfter)
		}
		if len(b) == 0 || len(b) > 200 || strings.Contains(string(b), "jsonrpc") {
			t.Errorf("HTTP %d: body %q, want a short text", tt.status, b)
		}
	}
	p.SetFaults(Faults{})
	mustCall(t, p, "eth_chainId")
}

func TestFaultLatency(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[0]
	const latency = 120 * time.Millisecond
	p.SetFaults(Faults{LatencyMS: int(latency / time.Millisecond)})
	start := time.Now()
	if got := mustCall(t, p, "eth_chainId"); string(got) != `"0x539"` {
		t.Errorf("eth_chainId = %s", got)
	}
	if took := time.Since(start); took < latency {
		t.Errorf("answered after %s, want at least %s", took, latency)
	}

	// Latency with a status: the status comes late too.
	p.SetFaults(Faults{LatencyMS: 50, HTTPStatus: 503})
	start = time.Now()
	resp, _, err := post(t, p.URL, chainIDBody)
	if err != nil || resp.StatusCode != 503 || time.Since(start) < 50*time.Millisecond {
		t.Errorf("latency+503: %v, %v after %s", resp, err, time.Since(start))
	}
}

func TestFaultErrorRate(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[0]

	p.SetFaults(Faults{ErrorRate: 1})
	for range 20 {
		_, e := call(t, p, "eth_chainId")
		if e == nil || e.Code != -32603 || e.Message != "internal error (injected)" {
			t.Fatalf("error_rate 1: got %v, want the injected -32603", e)
		}
	}
	// In a batch, every member fails on its own.
	_, b, err := post(t, p.URL, `[`+chainIDBody+`,`+chainIDBody+`]`)
	if err != nil || strings.Count(string(b), "-32603") != 2 {
		t.Errorf("batch with error_rate 1: %s (%v)", b, err)
	}

	p.SetFaults(Faults{ErrorRate: 0})
	for range 20 {
		if _, e := call(t, p, "eth_chainId"); e != nil {
			t.Fatalf("error_rate 0: got %v", e)
		}
	}
	before := p.Requests()
	mustCall(t, p, "eth_chainId")
	if p.Requests() != before+1 {
		t.Errorf("Requests() = %d after one call, want %d", p.Requests(), before+1)
	}
}

func TestFaultsCombineAndClear(t *testing.T) {
	d := newTestDevnet(t, 2)
	p := d.Providers()[0]
	user := d.UserAccount().Address
	want := mustHonest(t, d, "eth_getBalance", user, "latest")

	p.SetFaults(Faults{LatencyMS: 10, LagBlocks: 1, Lie: true})
	if got := mustCall(t, p, "eth_getBalance", user, "latest"); string(got) == string(want) {
		t.Errorf("lying, lagging provider told the truth: %s", got)
	}
	if got := p.Faults(); got != (Faults{LatencyMS: 10, LagBlocks: 1, Lie: true}) {
		t.Errorf("Faults() = %+v", got)
	}
	p.SetFaults(Faults{})
	if !p.Faults().IsZero() {
		t.Errorf("Faults() after clear = %+v", p.Faults())
	}
	if got := mustCall(t, p, "eth_getBalance", user, "latest"); string(got) != string(want) {
		t.Errorf("cleared provider: %s, want %s", got, want)
	}
}

func TestFaultsValidate(t *testing.T) {
	tests := []struct {
		f    Faults
		want string // "" valid
	}{
		{Faults{}, ""},
		{Faults{Down: true, LatencyMS: 100, ErrorRate: 0.5, LagBlocks: 3, HTTPStatus: 429, Lie: true}, ""},
		{Faults{ErrorRate: 1}, ""},
		{Faults{HTTPStatus: 599}, ""},
		{Faults{LatencyMS: -1}, "latency_ms must not be negative, got -1"},
		{Faults{ErrorRate: 2}, "error_rate must be between 0 and 1, got 2"},
		{Faults{ErrorRate: -0.1}, "error_rate must be between 0 and 1, got -0.1"},
		{Faults{ErrorRate: math.NaN()}, "error_rate must be between 0 and 1, got NaN"},
		{Faults{HTTPStatus: 200}, "http_status must be an error status between 400 and 599, got 200"},
		{Faults{HTTPStatus: 600}, "http_status must be an error status between 400 and 599, got 600"},
	}
	for _, tt := range tests {
		err := tt.f.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v", tt.f, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("%+v: error %v, want %q", tt.f, err, tt.want)
		}
	}
}
