package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/gateway"
)

// Chaos settings: a devnet producing blocks on its own, and braid tuned so
// that faults are noticed and forgiven within a test's few seconds.
const (
	liveProviders      = 4
	liveBlockTime      = 250 * time.Millisecond
	livePoll           = 100 * time.Millisecond
	liveOpenFor        = 500 * time.Millisecond
	liveWindow         = 5 * time.Second
	liveFailures       = 5
	liveUpTimeout      = 5 * time.Second // above the 2 s injected latency
	liveReqTimeout     = 20 * time.Second
	liveTipWait        = 15 * time.Second
	liveClients        = 16
	liveCallCap        = 400_000          // per load run: a bound, not a target
	liveClientDeadline = 30 * time.Second // above braid's request timeout
	exampleCap         = 8
)

// liveStack is a self-mining devnet with braid in front of it.
type liveStack struct {
	dn  *devnet.Devnet
	gw  *gateway.Gateway
	reg *prometheus.Registry
	url string
	rpc *rpc.Client

	user, token common.Address
}

// newLiveStack starts a devnet of 4 providers mining a block every 250 ms
// with a stream of transactions, and braid configured for it (head polls
// every 100 ms, breaker open for 500 ms after 5 failures in 5 s, 5 s
// upstream timeout, 20 s request timeout, hedging on or off with default
// tuning). It returns once braid serves a tip.
func newLiveStack(t testing.TB, hedge bool) *liveStack {
	t.Helper()
	return newLiveStackWith(t, liveOptions{hedge: hedge})
}

// liveOptions vary newLiveStack.
type liveOptions struct {
	hedge bool
	// front, when set, is given each provider and returns the URL braid
	// is configured with for it (a recording proxy in front of it).
	front func(p *devnet.Provider) string
	// manual: the devnet mines only on Commit or Step, with no
	// transaction stream.
	manual bool
	// providers overrides liveProviders.
	providers int
	// quorum and strikes, when set, are the network's.
	quorum  config.Quorum
	strikes config.Strikes
	// probeShare is the gateway's (0: its default).
	probeShare float64
	// verify is the network's verify section.
	verify config.Verify
	// ws gives braid each provider's WebSocket endpoint too.
	ws bool
	// blockTime overrides liveBlockTime.
	blockTime time.Duration
	// cache turns braid's answer cache on. It is off by default: these
	// scenarios measure what providers' faults do to routing, quorum and
	// verification, and the cache would answer most calls itself.
	cache bool
	// evm gives strict mode's local EVM the devnet's chain configuration
	// (verify.evm.chain_config), so it answers eth_call and its kin.
	evm bool
}

func newLiveStackWith(t testing.TB, opts liveOptions) *liveStack {
	t.Helper()
	ctx := context.Background()
	providers := liveProviders
	if opts.providers > 0 {
		providers = opts.providers
	}
	dnOpts := devnet.Options{Providers: providers, BlockTime: liveBlockTime, TxStream: true, WebSocket: opts.ws}
	if opts.blockTime > 0 {
		dnOpts.BlockTime = opts.blockTime
	}
	if opts.manual {
		dnOpts.BlockTime, dnOpts.TxStream = 0, false
	}
	dn, err := devnet.New(ctx, dnOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })

	cfg := config.Default()
	cfg.Limits.RequestTimeout = liveReqTimeout
	ups := dn.Upstreams()
	for i := range ups {
		ups[i].Timeout = liveUpTimeout
		if opts.front != nil {
			ups[i].URL = opts.front(dn.Provider(ups[i].Name))
		}
	}
	nc := config.Network{
		Name:      "devnet",
		ChainID:   dn.ChainID(),
		Upstreams: ups,
		Head:      config.Head{PollInterval: livePoll},
		Breaker:   config.Breaker{Failures: liveFailures, Window: liveWindow, OpenFor: liveOpenFor},
		Quorum:    opts.quorum,
		Strikes:   opts.strikes,
		Verify:    opts.verify,
	}
	if !opts.hedge {
		off := false
		nc.Hedge.Enabled = &off
	}
	if opts.evm {
		nc.Verify.EVM.ChainConfig = writeChainConfig(t, dn)
	}
	cfg.Networks = []config.Network{nc}
	if !opts.cache {
		cfg.Cache.Backend = config.CacheOff
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	gw, reg, url := serveGatewayWith(t, cfg, providers, opts.probeShare)
	// Enough keep-alive connections for every client: the default two per
	// host would open and close a connection per call under this load.
	transport := &http.Transport{MaxIdleConns: 2 * liveClients, MaxIdleConnsPerHost: 2 * liveClients}
	t.Cleanup(transport.CloseIdleConnections)
	c, err := rpc.DialOptions(ctx, url, rpc.WithHTTPClient(&http.Client{Transport: transport}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s := &liveStack{dn: dn, gw: gw, reg: reg, url: url, rpc: c, user: dn.UserAccount().Address, token: dn.Token()}
	if !await.Poll(liveTipWait, func() bool { return s.tip().Known }) {
		t.Fatalf("braid served no tip within %s", liveTipWait)
	}
	return s
}

// writeChainConfig writes dn's chain configuration as a genesis file
// braid reads (verify.evm.chain_config) and returns its path.
func writeChainConfig(t testing.TB, dn *devnet.Devnet) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"config": dn.ChainConfig()})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "genesis.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tip is braid's served tip.
func (s *liveStack) tip() block.Tip { return s.gw.Networks()[0].Tip() }

// upstreamStatus is one upstream's line of braid's status.
func (s *liveStack) upstreamStatus(name string) gateway.UpstreamStatus {
	for _, u := range s.gw.Status().Networks[0].Upstreams {
		if u.Name == name {
			return u
		}
	}
	return gateway.UpstreamStatus{}
}

// providerRequests is every provider's Requests(), by name.
func (s *liveStack) providerRequests() map[string]uint64 {
	out := map[string]uint64{}
	for _, p := range s.dn.Providers() {
		out[p.Name] = p.Requests()
	}
	return out
}

// routed is braid's count of attempts its router sent each upstream, by
// outcome (braid_upstream_requests_total). Unlike a provider's
// Requests(), it leaves out head polls and chain-id checks: it is the
// client load alone, hedges and failovers included.
func (s *liveStack) routed(t testing.TB) map[string]map[string]float64 {
	t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "braid_upstream_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var up, outcome string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "upstream":
					up = l.GetValue()
				case "outcome":
					outcome = l.GetValue()
				}
			}
			if out[up] == nil {
				out[up] = map[string]float64{}
			}
			out[up][outcome] += m.GetCounter().GetValue()
		}
	}
	return out
}

// routedTotal sums routed attempts over upstreams and outcomes.
func routedTotal(r map[string]map[string]float64) float64 {
	var sum float64
	for _, byOutcome := range r {
		sum += sumOutcomes(byOutcome)
	}
	return sum
}

// sumOutcomes sums one upstream's routed attempts over outcomes.
func sumOutcomes(byOutcome map[string]float64) float64 {
	var sum float64
	for _, v := range byOutcome {
		sum += v
	}
	return sum
}

// counter sums the counter name over the series whose label has value.
func (s *liveStack) counter(t testing.TB, name, label, value string) float64 {
	t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// A load run smaller than this proves nothing (assertClean). How long it
// takes to get there depends on the machine (a loaded one made 93 calls
// in the minute a run was once given, and the test failed): so a run that
// ends (finish) goes on until it is this big, however long that takes.
// That is bounded by the calls themselves, each within liveClientDeadline:
// a run also ends after endLoadCalls, when so few of its answers could be
// checked that assertClean fails it.
const (
	minLoadCalls   = 100
	minLoadChecked = 10
	endLoadCalls   = 10 * minLoadCalls
)

// loadStats is what a load run saw.
type loadStats struct {
	Calls     int64 // calls made
	Forwarded int64 // calls braid must forward (all but eth_blockNumber)
	Errors    int64
	Stale     int64 // answers older than the tip served when the call was sent
	Checked   int64 // answers whose block number was checked

	ErrorExamples []string
	StaleExamples []string
	Latencies     []time.Duration // per call, sorted when the run ends
}

// percentile is the q-quantile (0..1) of the sorted latencies.
func (l *loadStats) percentile(q float64) time.Duration {
	if len(l.Latencies) == 0 {
		return 0
	}
	i := int(q * float64(len(l.Latencies)-1))
	return l.Latencies[i]
}

func (l *loadStats) String() string {
	return fmt.Sprintf("calls=%d forwarded=%d errors=%d stale=%d (of %d checked) latency p50=%s p99=%s max=%s",
		l.Calls, l.Forwarded, l.Errors, l.Stale, l.Checked,
		l.percentile(0.50).Round(time.Microsecond), l.percentile(0.99).Round(time.Microsecond),
		l.percentile(1).Round(time.Microsecond))
}

// assertClean fails the test on any error or stale answer, with examples,
// and on a run too small to prove anything.
func (l *loadStats) assertClean(t testing.TB) {
	t.Helper()
	if l.Calls < minLoadCalls || l.Checked < minLoadChecked {
		t.Errorf("only %d calls (%d checked) were made: the run proved nothing", l.Calls, l.Checked)
	}
	if l.Errors > 0 {
		t.Errorf("%d of %d calls failed; examples:\n  %s", l.Errors, l.Calls, strings.Join(l.ErrorExamples, "\n  "))
	}
	if l.Stale > 0 {
		t.Errorf("%d of %d checked answers were older than the tip served when they were asked; examples:\n  %s",
			l.Stale, l.Checked, strings.Join(l.StaleExamples, "\n  "))
	}
}

// snapshot describes braid's view right now: the served tip and each
// upstream's head, breaker and condition.
func (s *liveStack) snapshot() string {
	ns := s.gw.Status().Networks[0]
	var b strings.Builder
	fmt.Fprintf(&b, "tip=%d", ns.Tip.Latest.Number)
	for _, u := range ns.Upstreams {
		head := "?"
		if u.Head != nil {
			head = fmt.Sprintf("%d(safe %d)", u.Head.Latest.Number, u.Head.Safe.Number)
		}
		fmt.Fprintf(&b, "; %s %s head=%s breaker=%s condition=%s", u.Name, u.State, head, u.Breaker, u.Condition)
	}
	return b.String()
}

// load is a running set of clients sending reads through braid.
type load struct {
	s       *liveStack
	stopped atomic.Bool
	ending  atomic.Bool // finish was called: stop once big enough
	wg      sync.WaitGroup
	n       atomic.Int64
	max     int64

	mu    sync.Mutex
	stats loadStats
}

// startLoad starts clients goroutines each looping a mix of reads through
// braid until stop is called or max calls have been made in all.
func (s *liveStack) startLoad(clients int, max int64) *load {
	l := &load{s: s, max: max}
	for c := range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := c; !l.stopped.Load() && !l.bigEnough(); i++ {
				if l.n.Add(1) > l.max {
					return
				}
				l.one(i)
			}
		}()
	}
	return l
}

// runLoad runs clients for d and until the run is big enough to prove
// anything (or until max calls), and returns the stats.
func (s *liveStack) runLoad(clients int, max int64, d time.Duration) *loadStats {
	l := s.startLoad(clients, max)
	time.Sleep(d)
	return l.finish()
}

// finish lets the run go on until it is big enough to prove anything (or
// has made its max calls), then stops it and returns the stats. A run of
// fixed length made too few calls to count on a loaded machine.
func (l *load) finish() *loadStats {
	l.ending.Store(true)
	l.wg.Wait()
	return l.stop()
}

// bigEnough reports whether a run that is ending has made enough calls:
// minLoadCalls with minLoadChecked checked, or endLoadCalls in all.
func (l *load) bigEnough() bool {
	if !l.ending.Load() {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats.Calls >= minLoadCalls && l.stats.Checked >= minLoadChecked || l.stats.Calls >= endLoadCalls
}

// wait waits until the run has made its max calls, and returns the stats.
func (l *load) wait() *loadStats {
	l.wg.Wait()
	return l.stop()
}

// calls returns how many calls have been completed so far.
func (l *load) calls() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats.Calls
}

// stop ends the run: no new calls start, and the calls in flight are
// waited for and counted (each is bounded by the client's own deadline).
// It returns the stats; calling it again returns them again.
func (l *load) stop() *loadStats {
	l.stopped.Store(true)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.stats.Latencies)
	st := l.stats
	return &st
}

// methods the load cycles through.
var loadMethods = []string{
	"eth_blockNumber",
	"eth_getBlockByNumber",
	"eth_getBalance",
	"eth_call",
	"eth_getTransactionCount",
	"eth_gasPrice",
	"eth_getLogs",
}

// one sends call i of the mix and records what came back. The served tip
// is read just before the call: an answer carrying a block number must not
// be older than it.
func (l *load) one(i int) {
	s := l.s
	user, token := s.user, s.token
	method := loadMethods[i%len(loadMethods)]
	tip := s.tip().Latest.Number
	var params []any
	switch method {
	case "eth_getBlockByNumber":
		params = []any{"latest", false}
	case "eth_getBalance", "eth_getTransactionCount":
		params = []any{user, "latest"}
	case "eth_call":
		params = []any{map[string]any{"to": token, "data": "0x18160ddd"}, "latest"} // totalSupply()
	case "eth_getLogs":
		from := tip - min(tip, 3)
		params = []any{map[string]any{
			"fromBlock": hexutil.EncodeUint64(from), "toBlock": hexutil.EncodeUint64(tip), "address": token,
		}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveClientDeadline)
	defer cancel()
	start := time.Now()
	var out json.RawMessage
	err := s.rpc.CallContext(ctx, &out, method, params...)
	took := time.Since(start)

	var stale string
	checked := false
	if err == nil {
		switch method {
		case "eth_blockNumber":
			checked = true
			var hex string
			n, perr := uint64(0), json.Unmarshal(out, &hex)
			if perr == nil {
				n, perr = hexutil.DecodeUint64(hex)
			}
			if perr != nil || n < tip {
				stale = fmt.Sprintf("eth_blockNumber = %s with the tip at %d when asked", out, tip)
			}
		case "eth_getBlockByNumber":
			checked = true
			var b struct {
				Number *hexutil.Uint64 `json:"number"`
			}
			if json.Unmarshal(out, &b) != nil || b.Number == nil {
				stale = fmt.Sprintf("eth_getBlockByNumber(latest) = %.80s… with the tip at %d when asked", out, tip)
			} else if uint64(*b.Number) < tip {
				stale = fmt.Sprintf("eth_getBlockByNumber(latest).number = %d with the tip at %d when asked", uint64(*b.Number), tip)
			}
		}
	}

	var snapshot string
	if err != nil {
		snapshot = s.snapshot()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := &l.stats
	st.Calls++
	if method != "eth_blockNumber" {
		st.Forwarded++
	}
	st.Latencies = append(st.Latencies, took)
	if checked {
		st.Checked++
	}
	if err != nil {
		st.Errors++
		if len(st.ErrorExamples) < exampleCap {
			st.ErrorExamples = append(st.ErrorExamples, fmt.Sprintf("%s after %s (tip %d when sent): %v\n    braid then: %s",
				method, took.Round(time.Millisecond), tip, err, snapshot))
		}
	}
	if stale != "" {
		st.Stale++
		if len(st.StaleExamples) < exampleCap {
			st.StaleExamples = append(st.StaleExamples, stale)
		}
	}
}
