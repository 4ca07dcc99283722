package beacon_test

import (
	"bytes"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ctypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/beacon"
	"github.com/braidrpc/braid/internal/beaconsim"
	"github.com/braidrpc/braid/internal/clock"
)

// waitTimeout bounds every wait for a condition (real time; the machine is
// slow and shared, so it is generous).
const waitTimeout = 30 * time.Second

// harness is a simulated beacon chain on loopback with a light client.
type harness struct {
	t      testing.TB
	clk    *clock.Fake
	sim    *beaconsim.Sim
	apis   []*beaconsim.API
	urls   []string
	blocks []*ctypes.Header
	roots  []common.Hash // beacon roots of the fed blocks
	logs   *syncBuffer
	reg    *prometheus.Registry
	client *beacon.Client
}

type options struct {
	apis      int
	startSlot uint64
	dataDir   string
	wrap      func(i int, h http.Handler) http.Handler
}

func newHarness(t testing.TB, o options) *harness {
	t.Helper()
	if o.apis == 0 {
		o.apis = 1
	}
	h := &harness{t: t, clk: clock.NewFake(time.Unix(1_700_000_000, 0)), logs: new(syncBuffer), reg: prometheus.NewRegistry()}
	sim, err := beaconsim.New(beaconsim.Config{Clock: h.clk, StartSlot: o.startSlot})
	if err != nil {
		t.Fatal(err)
	}
	h.sim = sim
	for i := range o.apis {
		api := sim.NewAPI()
		var handler http.Handler = api
		if o.wrap != nil {
			handler = o.wrap(i, handler)
		}
		srv := httptest.NewServer(handler)
		t.Cleanup(srv.Close)
		h.apis, h.urls = append(h.apis, api), append(h.urls, srv.URL)
	}
	h.feed() // the anchor: the first checkpoint
	return h
}

func (h *harness) network() beacon.Network {
	return beacon.NetworkFromChainConfig("sim", h.sim.ChainConfig(), h.sim.SlotDuration())
}

// config is a client configuration for every API, from the anchor.
func (h *harness) config() beacon.Config {
	cp, err := h.sim.Checkpoint()
	if err != nil {
		h.t.Fatal(err)
	}
	cfg := beacon.Config{
		Network:    h.network(),
		Checkpoint: cp,
		Clock:      h.clk,
		Logger:     slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer: h.reg,
	}
	for _, u := range h.urls {
		cfg.APIs = append(cfg.APIs, beacon.Endpoint{URL: u})
	}
	return cfg
}

// start makes and starts a client; it is closed when the test ends.
func (h *harness) start(cfg beacon.Config) *beacon.Client {
	h.t.Helper()
	c, err := beacon.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	h.client = c
	return c
}

// feed adds the next execution block to the simulated chain.
func (h *harness) feed() beaconsim.Head {
	h.t.Helper()
	parent := common.Hash{}
	if n := len(h.blocks); n > 0 {
		parent = h.blocks[n-1].Hash()
	}
	n := uint64(len(h.blocks) + 1000)
	b := &ctypes.Header{ParentHash: parent, Number: new(big.Int).SetUint64(n), GasLimit: 30_000_000, Time: uint64(h.clk.Now().Unix()), BaseFee: big.NewInt(7), Extra: []byte("devnet")}
	head, err := h.sim.AddBlock(b)
	if err != nil {
		h.t.Fatal(err)
	}
	h.blocks, h.roots = append(h.blocks, b), append(h.roots, head.Root)
	return head
}

// nextSlot moves the clock to the next slot.
func (h *harness) nextSlot() { h.clk.Advance(h.sim.SlotDuration()) }

// progress waits for cond, the client serving fed, like await.Until, but
// moves the injected clock a second forward between polls: goroutines
// that wait on the clock (stream reconnects, quarantines) then run
// whenever they reached their waits, with no ordering assumed between
// them and the test. It never moves the clock past fed's slot time plus
// max_head_age less a slot: the client refuses an older head on arrival
// and a served one turns stale, so a clock moved on at every poll for as
// long as a loaded machine took the client to reconnect and verify made
// cond impossible, and the wait ran into its real-time bound
// (TestCheckpointPersistsAcrossRestart failed so). Every wait on the
// clock the client has here (the reconnect back-off, at most 30 s) ends
// before that point.
func (h *harness) progress(what string, fed beaconsim.Head, cond func() bool) {
	h.t.Helper()
	last := h.sim.SlotTime(fed.Slot).Add(beacon.DefaultMaxHeadAge - h.sim.SlotDuration())
	await.Until(h.t, what, func() bool {
		if cond() {
			return true
		}
		if step := min(time.Second, last.Sub(h.clk.Now())); step > 0 {
			h.clk.Advance(step)
		}
		return false
	})
}

// serves reports whether the client's fresh head is the fed block.
func serves(c *beacon.Client, fed beaconsim.Head) func() bool {
	return func() bool {
		got, err := c.Head()
		return err == nil && got.BlockHash == fed.BlockHash
	}
}

// waitHead waits until the client serves the fed head.
func (h *harness) waitHead(c *beacon.Client, want beaconsim.Head) beacon.Head {
	h.t.Helper()
	var got beacon.Head
	await.Until(h.t, "head at slot "+itoa(want.Slot), func() bool {
		var err error
		got, err = c.Head()
		return err == nil && got.BlockHash == want.BlockHash
	})
	return got
}

func itoa(n uint64) string { return big.NewInt(0).SetUint64(n).String() }

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// gauge returns a gauge of the registry by name and endpoint label (-1 if
// absent).
func (h *harness) gauge(name, endpoint string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "endpoint" && l.GetValue() == endpoint {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}
