package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/report"
)

// TestDemoTrustBeacon runs `braid demo --trust beacon`: the banner says
// where the tip comes from, braid becomes ready on the simulated sync
// committee's heads, serves them, reports unbounded integrity, and the
// beacon faults control answers.
func TestDemoTrustBeacon(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- demo(ctx, demoOptions{listen: "127.0.0.1:0", providers: 2, blockTime: 200 * time.Millisecond, quorum: 1,
			verify: config.VerifyStrict, trust: config.TrustBeacon}, pw, slog.New(slog.DiscardHandler))
		pw.Close()
	}()
	endpoint := ""
	sc := bufio.NewScanner(pr)
	re := regexp.MustCompile(`endpoint\s+(http://\S+)`)
	var banner strings.Builder
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			endpoint = m[1]
		}
		if strings.Contains(sc.Text(), "/metrics") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	for _, want := range []string{"trust      beacon", "verify strict", "beacon     b1", "beacon     b2", "/demo/beacon/faults"} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, banner.String())
		}
	}
	if endpoint == "" {
		t.Fatal("no endpoint in the banner")
	}

	var st gateway.Status
	await.Within(t, 30*time.Second, "the demo ready on signed heads", func() bool {
		resp, err := http.Get(endpoint + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200 && json.Unmarshal([]byte(get(t, endpoint+"/status")), &st) == nil
	})
	ns := st.Networks[0]
	if ns.Trust != config.TrustBeacon || ns.Beacon == nil || ns.Beacon.Serving == nil || ns.Beacon.Serving.Signers != 512 {
		t.Fatalf("status trust %q beacon %+v", ns.Trust, ns.Beacon)
	}
	if len(ns.Beacon.Endpoints) != 2 {
		t.Errorf("beacon endpoints %+v", ns.Beacon.Endpoints)
	}
	var rep report.Report
	if got := get(t, endpoint+"/status/centralization"); json.Unmarshal([]byte(got), &rep) != nil || !rep.Networks[0].Integrity.Unbounded {
		t.Errorf("centralization report not unbounded under trust beacon:\n%s", got)
	}
	if got := post(t, endpoint+"/demo/beacon/faults", `{"api":"b1","forge":true}`); !strings.Contains(got, `"forge":true`) {
		t.Fatalf("beacon fault: %s", got)
	}
	// The faults take effect: b1 forging is quarantined while b2 carries
	// the signed heads on; b2 frozen too leaves no fresh head (not ready);
	// b2 honest again brings braid back.
	before := ns.Beacon.Serving.Slot
	await.Within(t, 30*time.Second, "b1 quarantined, b2 serving newer heads", func() bool {
		b := demoBeaconStatus(t, endpoint)
		return b != nil && len(b.Endpoints) == 2 && b.Endpoints[0].Quarantined && !b.Endpoints[1].Quarantined &&
			b.Serving != nil && b.Serving.Slot > before && b.Ready
	})
	post(t, endpoint+"/demo/beacon/faults", `{"api":"b2","stale":true}`)
	await.Within(t, 30*time.Second, "not ready on a stale head", func() bool {
		resp, err := http.Get(endpoint + "/readyz")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "stale head")
	})
	post(t, endpoint+"/demo/beacon/faults", `{"api":"b2"}`)
	await.Within(t, 30*time.Second, "ready again", func() bool {
		resp, err := http.Get(endpoint + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if got := get(t, endpoint+"/demo/faults"); !strings.Contains(got, "p1") {
		t.Fatalf("provider faults control gone: %s", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo returned %v on shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not shut down")
	}
}

// demoBeaconStatus is /status's beacon section of the demo's network (nil
// when /status does not decode).
func demoBeaconStatus(t *testing.T, endpoint string) *gateway.BeaconStatus {
	t.Helper()
	var st gateway.Status
	if json.Unmarshal([]byte(get(t, endpoint+"/status")), &st) != nil || len(st.Networks) == 0 {
		return nil
	}
	return st.Networks[0].Beacon
}
