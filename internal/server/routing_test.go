package server_test

// Batches fanned out concurrently through the HTTP front. (Failover,
// quarantine and timeouts are the executor's: internal/gateway's
// routing_test.go.)

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
)

// TestBatchConcurrent: a batch of 100 members gets 100 answers with the
// exact ids, in order, and the members run concurrently: the upstream
// holds every member's call unanswered until several are waiting at
// once, which members run one after the other would never reach.
func TestBatchConcurrent(t *testing.T) {
	f := newFake(t, "slow", 1)
	spec := mainnet(f)
	cfg := braidConfig(t, nil, spec)
	// Every member must reach the upstream (100 calls, several held at
	// once): nothing is kept or merged.
	cfg.Cache.Backend = config.CacheOff
	b := startBraidConfig(t, cfg, spec)
	release := f.Hold("eth_getBalance")
	t.Cleanup(release)

	ids := make([]string, 100)
	var req, want strings.Builder
	req.WriteString("[")
	want.WriteString("[")
	for i := range ids {
		switch i % 4 {
		case 0:
			ids[i] = strconv.Itoa(i)
		case 1:
			ids[i] = `"id-` + strconv.Itoa(i) + `"`
		case 2:
			ids[i] = strconv.Itoa(i) + "e0"
		case 3:
			ids[i] = "1234567890123456789012345678901234567890" + strconv.Itoa(i)
		}
		if i > 0 {
			req.WriteString(",")
			want.WriteString(",")
		}
		// One address each: identical reads at one tip would be merged.
		fmt.Fprintf(&req, `{"jsonrpc":"2.0","id":%s,"method":"eth_getBalance","params":["0x%040x","latest"]}`, ids[i], i+1)
		fmt.Fprintf(&want, `{"jsonrpc":"2.0","id":%s,"result":"0xde0b6b3a7640000"}`, ids[i])
	}
	req.WriteString("]")
	want.WriteString("]")

	type answer struct {
		status int
		body   string
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := http.Post(b.URL+"/", "application/json", strings.NewReader(req.String()))
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		done <- answer{res.StatusCode, string(body), err}
	}()
	const together = 8
	// A bound on a hang, not a timing.
	if !await.Poll(10*time.Second, func() bool { return f.Held() >= together }) {
		t.Fatalf("at most %d member(s) waiting at the upstream at once: members do not run concurrently", f.Held())
	}
	release()
	a := <-done
	if a.err != nil || a.status != http.StatusOK {
		t.Fatalf("HTTP %d %s %v", a.status, a.body, a.err)
	}
	got := a.body
	var answers []rpcAnswer
	if err := json.Unmarshal([]byte(got), &answers); err != nil {
		t.Fatalf("answer is not an array: %v", err)
	}
	if len(answers) != 100 {
		t.Fatalf("%d answers, want 100", len(answers))
	}
	for i, a := range answers {
		if string(a.ID) != ids[i] {
			t.Errorf("answer %d: id %s, want %s", i, a.ID, ids[i])
		}
	}
	if got != want.String() {
		t.Errorf("batch answer differs\ngot  %.400s\nwant %.400s", got, want.String())
	}
	if n := f.Calls("eth_getBalance"); n != 100 {
		t.Errorf("upstream got %d calls, want 100", n)
	}
}
