package head

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/upstream"
)

const testChainID = 1

// hash is block n of fork f (fork 0 is the main chain).
func hash(n uint64, f byte) common.Hash {
	var h common.Hash
	h[0] = f + 1
	binary.BigEndian.PutUint64(h[24:], n)
	return h
}

// blk is block n of fork f whose parent is on the same fork.
func blk(n uint64, f byte) block.Block { return child(n, f, f) }

// child is block n of fork f whose parent is block n-1 of fork p.
func child(n uint64, f, p byte) block.Block {
	return block.Block{Number: n, Hash: hash(n, f), ParentHash: hash(n-1, p)}
}

func latest(b block.Block) Heads { return Heads{Latest: b} }

// newUpstreams makes one usable upstream per operator name given (u0, u1,
// …), all verified against one fake node that only answers eth_chainId.
func newUpstreams(t *testing.T, operators ...string) []*upstream.Upstream {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
	}))
	t.Cleanup(srv.Close)
	ups := make([]*upstream.Upstream, len(operators))
	for i, op := range operators {
		u := upstream.New(config.Upstream{Name: fmt.Sprintf("u%d", i), Operator: op, URL: srv.URL}, upstream.Options{Network: "test"})
		t.Cleanup(u.Close)
		if err := u.Verify(context.Background(), testChainID); err != nil || !u.Usable() {
			t.Fatalf("verify %s: %v", u.Name, err)
		}
		ups[i] = u
	}
	return ups
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// count returns how many log lines contain all of parts.
func (b *logBuffer) count(parts ...string) int {
	n := 0
	for _, line := range strings.Split(b.String(), "\n") {
		all := line != ""
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// metricValue reads one series from reg; 0 if absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// fakeNode is an HTTP JSON-RPC provider answering eth_chainId and
// eth_getBlockByNumber for the tags latest, safe and finalized.
type fakeNode struct {
	mu          sync.Mutex
	refuseBatch bool
	answers     map[string]string // tag → raw result, or "error" for an error answer
	requests    []string          // one entry per HTTP request: "batch" or the tag asked
	block       chan struct{}     // if set, block requests until closed or cancelled
	entered     chan struct{}     // receives when a request starts blocking
}

func newFakeNode(t *testing.T) (*fakeNode, *httptest.Server) {
	n := &fakeNode{answers: map[string]string{}}
	srv := httptest.NewServer(n)
	t.Cleanup(srv.Close)
	return n, srv
}

func blockJSONText(b block.Block) string {
	raw, _ := json.Marshal(b)
	// A real block has many more members; they must be ignored.
	return strings.Replace(string(raw), "{", `{"miner":"0x0000000000000000000000000000000000000000","transactions":[],`, 1)
}

func (n *fakeNode) set(tag, result string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.answers[tag] = result
}

func (n *fakeNode) log() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.requests...)
}

type fakeReq struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func (n *fakeNode) answer(req fakeReq) string {
	switch req.Method {
	case "eth_chainId":
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":"0x1"}`, req.ID)
	case "eth_getBlockByNumber":
		var tag string
		_ = json.Unmarshal(req.Params[0], &tag)
		n.mu.Lock()
		res, ok := n.answers[tag]
		n.mu.Unlock()
		if !ok || res == "error" {
			return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-39001,"message":"unknown block"}}`, req.ID)
		}
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, res)
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"method not found"}}`, req.ID)
}

func (n *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	body = bytes.TrimSpace(body)
	n.mu.Lock()
	block, entered := n.block, n.entered
	refuse := n.refuseBatch
	n.mu.Unlock()
	if len(body) > 0 && body[0] == '[' {
		n.mu.Lock()
		n.requests = append(n.requests, "batch")
		n.mu.Unlock()
		if !hold(r, block, entered) {
			return
		}
		if refuse {
			io.WriteString(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch requests are not supported"}}`)
			return
		}
		var reqs []fakeReq
		_ = json.Unmarshal(body, &reqs)
		out := make([]string, len(reqs))
		for i, req := range reqs {
			out[i] = n.answer(req)
		}
		io.WriteString(w, "["+strings.Join(out, ",")+"]")
		return
	}
	var req fakeReq
	_ = json.Unmarshal(body, &req)
	if req.Method == "eth_getBlockByNumber" {
		var tag string
		_ = json.Unmarshal(req.Params[0], &tag)
		n.mu.Lock()
		n.requests = append(n.requests, tag)
		n.mu.Unlock()
		if !hold(r, block, entered) {
			return
		}
	}
	io.WriteString(w, n.answer(req))
}

// hold blocks a request while block is open; false if it was cancelled.
func hold(r *http.Request, block, entered chan struct{}) bool {
	if block == nil {
		return true
	}
	entered <- struct{}{}
	select {
	case <-block:
		return true
	case <-r.Context().Done():
		return false
	}
}
