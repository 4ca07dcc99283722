package integration

import (
	"context"
	"encoding/json"

	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid"
	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/redistest"
	"github.com/braidrpc/braid/internal/server"
)

// replicaProc is one `braid serve` replica: a gateway behind its own HTTP
// server on loopback.
type replicaProc struct {
	gw   *gateway.Gateway
	reg  *prometheus.Registry
	srv  *httptest.Server
	url  string
	once sync.Once
}

// kill stops the replica the way a crash does: connections cut, listener
// gone, background work stopped.
func (r *replicaProc) kill() {
	r.once.Do(func() {
		r.srv.CloseClientConnections()
		r.srv.Close()
		r.gw.Close()
	})
}

func startReplica(t *testing.T, cfg *config.Config, log *slog.Logger) *replicaProc {
	t.Helper()
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(cfg, gateway.Options{Logger: log, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	gw.Start(context.Background(), 10*time.Second)
	srv := httptest.NewServer(server.New(gw, server.Options{Limits: cfg.Limits, Logger: log, Gatherer: reg}))
	r := &replicaProc{gw: gw, reg: reg, srv: srv, url: srv.URL}
	t.Cleanup(r.kill)
	return r
}

func replicaConfig(t *testing.T, dn *devnet.Devnet, redisURL string) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Redis = config.Redis{URL: redisURL, Prefix: "braid-test", Timeout: 200 * time.Millisecond}
	cfg.Networks = []config.Network{{Name: "devnet", ChainID: dn.ChainID(), Upstreams: dn.Upstreams(),
		Head: config.Head{PollInterval: 50 * time.Millisecond}}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Cache.Backend != config.CacheRedis {
		t.Fatalf("cache backend %q with redis.url set, want redis", cfg.Cache.Backend)
	}
	return cfg
}

// post sends one call to url and returns its result and Braid-Cache
// header.
func postCall(t *testing.T, url, method string, params ...any) (json.RawMessage, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	resp, err := http.Post(url, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("%s to %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *struct{ Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Error != nil {
		t.Fatalf("%s to %s: %v %+v", method, url, err, out.Error)
	}
	return out.Result, resp.Header.Get("Braid-Cache")
}

// replicaStatus reads the replica section of /status.
func replicaStatus(t *testing.T, url string) gateway.ReplicaStatus {
	t.Helper()
	resp, err := http.Get(url + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st gateway.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Replica == nil {
		t.Fatal("/status has no replica section with redis.url set")
	}
	return *st.Replica
}

// expectShared mines a block, reads it by hash through replica a (a miss,
// fetched from a provider) and then through replica b, which must answer
// it from the cache the replicas share.
//
// Sharing is best effort by design: a Redis operation that outlives
// redis.timeout is dropped and marks the link down, and each replica then
// serves from its own memory until a ping finds Redis again. On a loaded
// machine that happens, so an attempt during which either replica counted
// a Redis error proves nothing: it is repeated, with a new block, once
// both links are up again. A miss while Redis was healthy fails the test.
func expectShared(t *testing.T, dn *devnet.Devnet, a, b *replicaProc) {
	t.Helper()
	const attempts = 5
	for attempt := 1; ; attempt++ {
		await.Within(t, 10*time.Second, "both replicas reach redis", func() bool {
			return replicaStatus(t, a.url).Redis == "up" && replicaStatus(t, b.url).Redis == "up"
		})
		errsBefore := redisErrors(t, a) + redisErrors(t, b)
		h := dn.Commit()
		await.Within(t, 10*time.Second, "both replicas serve the new block", func() bool {
			ra, _ := postCall(t, a.url, "eth_getTransactionCount", common.Address{}, map[string]any{"blockHash": h})
			rb, _ := postCall(t, b.url, "eth_getTransactionCount", common.Address{}, map[string]any{"blockHash": h})
			return string(ra) == `"0x0"` && string(rb) == `"0x0"`
		})
		if _, hdr := postCall(t, a.url, "eth_getBlockByHash", h, false); hdr != "miss" {
			t.Fatalf("first read of block %s through replica a: Braid-Cache %q, want miss", h, hdr)
		}
		res, hdr := postCall(t, b.url, "eth_getBlockByHash", h, false)
		if hdr == "hit" {
			if !strings.Contains(string(res), h.Hex()) {
				t.Fatalf("replica b's cached answer is not block %s: %s", h, res)
			}
			return
		}
		errs := redisErrors(t, a) + redisErrors(t, b) - errsBefore
		if errs == 0 {
			t.Fatalf("replica b did not answer block %s from the shared cache, with Redis healthy: Braid-Cache %q", h, hdr)
		}
		if attempt == attempts {
			t.Fatalf("replica b did not answer a block from the shared cache in %d attempts, each meeting Redis errors", attempts)
		}
		t.Logf("attempt %d: replica b missed block %s while the replicas counted %.0f Redis errors: again", attempt, h, errs)
	}
}

// warningsSinceBack counts replica r's 'redis unreachable' warnings
// logged after its last 'redis reachable again' (or since it started).
func warningsSinceBack(text, r string) int {
	n := 0
	for line := range strings.Lines(text) {
		switch {
		case !strings.Contains(line, "replica="+r+" "):
		case strings.Contains(line, `msg="redis reachable again`):
			n = 0
		case strings.Contains(line, `msg="redis unreachable`):
			n++
		}
	}
	return n
}

// redisErrors is r's braid_redis_errors_total: Redis operations that
// failed or timed out.
func redisErrors(t *testing.T, r *replicaProc) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "braid_redis_errors_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// TestReplicasShareThroughRedisAndSurviveItsLoss runs two replicas sharing
// one real redis-server, under load from a client holding both endpoints
// (braid.DialFailover). Stopping Redis mid-run fails no request; when it
// comes back, sharing resumes; killing a replica mid-run fails no request
// either.
func TestReplicasShareThroughRedisAndSurviveItsLoss(t *testing.T) {
	rs := redistest.Start(t)
	ctx := t.Context()
	dn, err := devnet.New(ctx, devnet.Options{Providers: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	for range 2 {
		if _, err := dn.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := replicaConfig(t, dn, rs.URL())
	a := startReplica(t, cfg, log.With("replica", "a"))
	b := startReplica(t, cfg, log.With("replica", "b"))

	// Both replicas see each other, so each takes half of a provider's
	// rate budget.
	await.Within(t, 10*time.Second, "two replicas registered", func() bool {
		return replicaStatus(t, a.url).Replicas == 2 && replicaStatus(t, b.url).Replicas == 2
	})
	expectShared(t, dn, a, b)

	// Load from a client that holds both endpoints.
	c, err := braid.DialFailover(ctx, []string{a.url, b.url}, braid.FailoverOptions{Cooldown: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ec := ethclient.NewClient(c)
	user := dn.Info().Account.Address
	var ok, failed atomic.Int64
	var errMu sync.Mutex
	var errs []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				switch (w + i) % 5 {
				case 0:
					_, err = ec.BlockNumber(ctx)
				case 1:
					_, err = ec.BalanceAt(ctx, user, nil)
				case 2:
					_, err = ec.HeaderByNumber(ctx, big.NewInt(0)) // finalized: a cache hit
				case 3:
					_, err = ec.HeaderByNumber(ctx, nil)
				case 4:
					_, err = ec.ChainID(ctx)
				}
				if err != nil {
					failed.Add(1)
					errMu.Lock()
					if len(errs) < 5 {
						errs = append(errs, err.Error())
					}
					errMu.Unlock()
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	// The chain moves on while the load runs.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
				dn.Commit()
			}
		}
	}()
	finish := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer finish()
	phase := func(name string, d time.Duration) {
		t.Helper()
		before := ok.Load()
		time.Sleep(d)
		if ok.Load() == before {
			t.Fatalf("%s: no request succeeded", name)
		}
		if n := failed.Load(); n > 0 {
			t.Fatalf("%s: %d requests failed, e.g. %q", name, n, errs)
		}
	}

	phase("both replicas and redis", time.Second)

	rs.Stop()
	await.Within(t, 10*time.Second, "both replicas notice redis is gone", func() bool {
		return replicaStatus(t, a.url).Redis == "down" && replicaStatus(t, b.url).Redis == "down"
	})
	phase("redis stopped", 2*time.Second)
	// One warning per outage, not one per failed operation. Under load a
	// Redis operation can time out before the outage too: the link then
	// warned and, once a ping answered, logged that it was back. So what
	// counts is each replica's warnings since it was last back.
	for _, r := range []string{"a", "b"} {
		if n := warningsSinceBack(logs.String(), r); n != 1 {
			t.Errorf("replica %s: %d 'redis unreachable' warnings for one outage, want 1:\n%s", r, n, logs.String())
		}
	}

	rs.Restart()
	await.Within(t, 15*time.Second, "both replicas reconnect", func() bool {
		return replicaStatus(t, a.url).Redis == "up" && replicaStatus(t, b.url).Redis == "up"
	})
	phase("redis back", time.Second)
	expectShared(t, dn, a, b)

	a.kill()
	phase("replica a killed", 2*time.Second)
	await.Within(t, 10*time.Second, "replica b counts itself alone", func() bool {
		return replicaStatus(t, b.url).Replicas == 1
	})
	finish()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed, e.g. %q", n, n+ok.Load(), errs)
	}
	t.Logf("%d requests, none failed", ok.Load())
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
