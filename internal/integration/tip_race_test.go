package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/devnet"
)

// raceFronts stand in front of every provider and make each one's next
// head poll straddle a new block, deterministically: the poll's batch
// [latest, safe, finalized] is answered member by member, and a block is
// mined after "latest" was read and before "safe" was. A node serving a
// batch while a block arrives answers exactly that (on the devnet, as on
// any chain where safe follows the head, the safe block is then newer than
// the latest block of the same answer). Once its racy poll is answered, a
// front holds that provider's later head polls, so braid keeps that view.
type raceFronts struct {
	armed   atomic.Bool
	release chan struct{} // closed once the block is mined
	hold    chan struct{} // closed at the end of the test
	mu      sync.Mutex
	reached map[string]bool // providers whose racy poll read "latest"
	raced   map[string]bool
}

func newRaceFronts() *raceFronts {
	return &raceFronts{release: make(chan struct{}), hold: make(chan struct{}),
		reached: map[string]bool{}, raced: map[string]bool{}}
}

func (f *raceFronts) front(t testing.TB, p *devnet.Provider) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		if !f.armed.Load() || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) || !bytes.Contains(body, []byte(`"safe"`)) {
			f.forward(w, r.Context(), p.URL, body)
			return
		}
		f.mu.Lock()
		again := f.raced[p.Name]
		f.raced[p.Name] = true
		f.mu.Unlock()
		if again {
			select { // keep braid's view of this provider as the racy poll left it
			case <-f.hold:
			case <-r.Context().Done():
			}
			http.Error(w, "held", http.StatusServiceUnavailable)
			return
		}
		var members []json.RawMessage
		if err := json.Unmarshal(body, &members); err != nil || len(members) < 2 {
			f.forward(w, r.Context(), p.URL, body)
			return
		}
		first, err := post(r.Context(), p.URL, mustJSON([]json.RawMessage{members[0]}))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		f.mu.Lock()
		f.reached[p.Name] = true
		f.mu.Unlock()
		select {
		case <-f.release:
		case <-r.Context().Done():
			return
		}
		rest, err := post(r.Context(), p.URL, mustJSON(members[1:]))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		var a, b []json.RawMessage
		if json.Unmarshal(first, &a) != nil || json.Unmarshal(rest, &b) != nil {
			http.Error(w, "bad provider answer", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(mustJSON(append(a, b...)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (f *raceFronts) reachedAll(n int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reached) == n
}

func (f *raceFronts) forward(w http.ResponseWriter, ctx context.Context, url string, body []byte) {
	out, err := post(ctx, url, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

func post(ctx context.Context, url string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	return io.ReadAll(res.Body)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestTipIsServedOnlyWhenUpstreamsCanServeIt: when every provider's head
// poll straddles a new block (latest N, safe N+1 in one answer), braid
// must not serve a tip that no upstream is eligible to answer at: every
// healthy provider holds both blocks, so a read of "latest" must succeed.
//
// The chaos scenarios met this race now and then under load (all
// providers' polls run in step, so they straddle the same block): the
// head tracker counted every block an upstream's report names, safe
// included, as held for the latest tip, while the router asked only
// upstreams whose reported latest block reached the tip. The router now
// goes by the highest block an upstream reported.
func TestTipIsServedOnlyWhenUpstreamsCanServeIt(t *testing.T) {
	f := newRaceFronts()
	s := newLiveStackWith(t, liveOptions{hedge: true, manual: true,
		front: func(p *devnet.Provider) string { return f.front(t, p) }})
	t.Cleanup(func() { close(f.hold) }) // before the stack's own cleanups
	ctx := context.Background()

	var head hexutil.Uint64
	if err := s.dn.RPC().CallContext(ctx, &head, "eth_blockNumber"); err != nil {
		t.Fatal(err)
	}
	if !await.Poll(liveTipWait, func() bool { return s.tip().Latest.Number == uint64(head) }) {
		t.Fatalf("tip %d, chain head %d", s.tip().Latest.Number, head)
	}
	var balance json.RawMessage
	if err := s.rpc.CallContext(ctx, &balance, "eth_getBalance", s.user, "latest"); err != nil {
		t.Fatalf("before the race: %v", err)
	}

	f.armed.Store(true)
	if !await.Poll(10*time.Second, func() bool { return f.reachedAll(liveProviders) }) {
		t.Fatal("not every provider was polled after arming")
	}
	s.dn.Commit() // block N+1 arrives between "latest" and "safe"
	close(f.release)
	next := uint64(head) + 1
	if !await.Poll(5*time.Second, func() bool { return s.tip().Latest.Number >= next }) {
		t.Logf("braid did not serve block %d from the racy polls (%s): nothing to check", next, s.snapshot())
		return
	}
	t.Logf("after the racy polls: %s", s.snapshot())
	if err := s.rpc.CallContext(ctx, &balance, "eth_getBalance", s.user, "latest"); err != nil {
		t.Errorf("eth_getBalance(latest) with every provider healthy and holding block %d: %v\n  braid: %s",
			next, err, s.snapshot())
	}
	var block json.RawMessage
	if err := s.rpc.CallContext(ctx, &block, "eth_getBlockByNumber", "latest", false); err != nil {
		t.Errorf("eth_getBlockByNumber(latest): %v", err)
	}
}
