package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/beaconsim"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/server"
)

// beaconSlot is the simulated slot in these tests: short, so that a test
// crosses epochs (finality) in seconds. Blocks are mined one per slot.
const beaconSlot = 50 * time.Millisecond

// beaconChain is a devnet whose every head a simulated sync committee
// signs, served by two beacon APIs (b1, b2) on loopback.
type beaconChain struct {
	dn   *devnet.Devnet
	sim  *beaconsim.Sim
	apis []*beaconsim.API
	urls []string
	cp   common.Hash // the anchor: the light client's checkpoint
}

// newBeaconChain starts a manual devnet and the simulator following it;
// simClock (nil: the wall clock) times the simulated slots.
func newBeaconChain(t *testing.T, providers int, simClock clock.Clock) *beaconChain {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dn, err := devnet.New(ctx, devnet.Options{Providers: providers})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := beaconsim.New(beaconsim.Config{SlotDuration: beaconSlot, Clock: simClock})
	if err != nil {
		t.Fatal(err)
	}
	c := &beaconChain{dn: dn, sim: sim}
	for i := range 2 {
		// Each API sits under a secret path and wants its own secret key:
		// braid must send each key only to its API and show neither.
		api := sim.NewAPI()
		prefix, key := fmt.Sprintf("/key/SECRET-PATH-b%d", i+1), fmt.Sprintf("SECRET-KEY-b%d", i+1)
		srv := httptest.NewServer(http.StripPrefix(prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Api-Key") != key {
				http.Error(w, "wrong key", http.StatusUnauthorized)
				return
			}
			api.ServeHTTP(w, r)
		})))
		t.Cleanup(srv.Close)
		c.apis, c.urls = append(c.apis, api), append(c.urls, srv.URL+prefix)
	}
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- sim.Follow(ctx, dn.RPC(), func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		<-done
		dn.Close()
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("the simulator does not follow the devnet: %v", err)
	case <-time.After(60 * time.Second): // 512 BLS keys to make, under -race on a busy machine
		t.Fatal("the simulator did not start following the devnet")
	}
	if c.cp, err = sim.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if simClock == nil {
		c.mine(t, dn) // a signed head for braid to start from
	}
	return c
}

// testHeadAge is max_head_age in tests that are not about a stale head:
// the simulator's slots run on the wall clock, and a loaded machine can
// take seconds between a signed head and the reads a test makes of it.
// TestBeaconStaleHeadNotReady sets its own.
const testHeadAge = 2 * time.Minute

// trust is the trust section that makes braid follow the simulator.
func (c *beaconChain) trust(dataDir string) config.Trust {
	tr := config.Trust{Source: config.TrustBeacon, BeaconChain: c.sim.BeaconChain(), Checkpoint: c.cp.Hex(),
		MaxHeadAge: testHeadAge, CheckpointMaxAge: config.DefaultCheckpointMaxAge, DataDir: dataDir}
	for i, u := range c.urls {
		tr.BeaconAPIs = append(tr.BeaconAPIs, config.BeaconAPI{Name: fmt.Sprintf("b%d", i+1), URL: u,
			Headers: map[string]string{"X-Api-Key": fmt.Sprintf("SECRET-KEY-b%d", i+1)}})
	}
	return tr
}

// mine commits one block in a slot of its own (waiting for the simulated
// clock to leave the last block's slot, so heads never run ahead of it)
// and returns its hash once the simulator has signed it.
func (c *beaconChain) mine(t *testing.T, dn *devnet.Devnet) common.Hash {
	t.Helper()
	last, err := c.sim.Head()
	if err != nil {
		t.Fatal(err)
	}
	await.Within(t, 30*time.Second, "the next slot", func() bool { return c.sim.CurrentSlot() > last.Slot })
	var h common.Hash
	if dn == c.dn {
		h = dn.Commit()
		await.Within(t, 30*time.Second, "the simulator signs the block", func() bool {
			head, err := c.sim.Head()
			return err == nil && head.BlockHash == h
		})
	} else {
		h = dn.Commit() // another chain: the committee never signs it
	}
	return h
}

// mineUntilServed mines blocks until gw serves one: a light client that
// subscribed to the events after a block was announced learns of the next.
func (c *beaconChain) mineUntilServed(t *testing.T, gw *gateway.Gateway) common.Hash {
	t.Helper()
	for range 10 {
		h := c.mine(t, c.dn)
		if await.Poll(5*time.Second, func() bool { return served(gw) == h }) {
			return h
		}
	}
	t.Fatal("braid serves none of 10 signed heads")
	return common.Hash{}
}

// beaconGateway serves braid over the given upstreams with trust: beacon.
// Each of mods may change the network's configuration first.
func beaconGateway(t testing.TB, c *beaconChain, ups []config.Upstream, tr config.Trust, strict bool, mods ...func(*config.Network)) (*gateway.Gateway, string) {
	t.Helper()
	cfg := config.Default()
	cfg.Cache.Backend = config.CacheOff
	nc := config.Network{Name: "devnet", ChainID: c.dn.ChainID(), Upstreams: ups, Trust: tr,
		Head: config.Head{PollInterval: 50 * time.Millisecond}}
	if strict {
		nc.Verify.Mode = config.VerifyStrict
	}
	for _, mod := range mods {
		mod(&nc)
	}
	cfg.Networks = []config.Network{nc}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	gw, err := gateway.New(cfg, gateway.Options{Logger: log, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	// The tip comes with the light client's first head: tests wait for it
	// themselves, so start does not.
	gw.Start(context.Background(), time.Second)
	srv := httptest.NewServer(server.New(gw, server.Options{Limits: cfg.Limits, Logger: log, Gatherer: reg}))
	t.Cleanup(srv.Close)
	return gw, srv.URL
}

// served is braid's served latest block hash (zero while none).
func served(gw *gateway.Gateway) common.Hash {
	tip := gw.Networks()[0].Heads().Tip()
	if !tip.Known {
		return common.Hash{}
	}
	return tip.Latest.Hash
}

// readyz returns /readyz's status code and body.
func readyz(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func beaconStatus(t *testing.T, url string) *gateway.BeaconStatus {
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
	if st.Networks[0].Trust != config.TrustBeacon || st.Networks[0].Beacon == nil {
		t.Fatalf("/status has no beacon section: trust %q", st.Networks[0].Trust)
	}
	return st.Networks[0].Beacon
}

// TestBeaconTipFollowsTheSyncCommittee: every devnet head the committee
// signs becomes braid's served tip; with API b1 forging signatures it is
// quarantined and b2 carries on; heads with too few signers are refused.
func TestBeaconTipFollowsTheSyncCommittee(t *testing.T) {
	c := newBeaconChain(t, 2, nil)
	gw, url := beaconGateway(t, c, c.dn.Upstreams(), c.trust(""), true)
	braid, err := rpc.DialHTTP(url)
	if err != nil {
		t.Fatal(err)
	}
	defer braid.Close()
	c.mineUntilServed(t, gw)
	for i := range 5 {
		h := c.mine(t, c.dn)
		await.Within(t, 30*time.Second, fmt.Sprintf("braid serves head %d", i), func() bool { return served(gw) == h })
		var blk struct{ Hash common.Hash }
		if err := braid.Call(&blk, "eth_getBlockByNumber", "latest", false); err != nil || blk.Hash != h {
			t.Fatalf("latest block = %s, %v; want %s", blk.Hash, err, h)
		}
	}
	if code, body := readyz(t, url); code != http.StatusOK {
		t.Fatalf("/readyz %d: %s", code, body)
	}
	// Ready: what strict mode takes on the operators' word is answered
	// again (it is refused only while no signed head is served).
	for _, method := range []string{"eth_maxPriorityFeePerGas", "eth_gasPrice"} {
		var fee hexutil.Big
		if err := braid.Call(&fee, method); err != nil {
			t.Errorf("%s on a served signed head: %v", method, err)
		}
	}
	if st := beaconStatus(t, url); st.Serving == nil || st.Serving.Signers != 512 || !st.Ready {
		t.Fatalf("beacon status %+v", st)
	}
	for _, path := range []string{"/status", "/readyz", "/metrics", "/status/centralization"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "SECRET") {
			t.Errorf("%s shows a beacon API's path or key", path)
		}
	}

	c.apis[0].SetFaults(beaconsim.Faults{Forge: true})
	for i := range 3 {
		h := c.mine(t, c.dn)
		await.Within(t, 30*time.Second, fmt.Sprintf("braid serves head %d with b1 forging", i), func() bool { return served(gw) == h })
	}
	await.Within(t, 30*time.Second, "b1 quarantined", func() bool {
		st := beaconStatus(t, url)
		return len(st.Endpoints) == 2 && st.Endpoints[0].Quarantined && !st.Endpoints[1].Quarantined
	})

	for _, a := range c.apis {
		a.SetFaults(beaconsim.Faults{Signers: 300})
	}
	before := served(gw)
	refused := c.mine(t, c.dn)
	await.Within(t, 30*time.Second, "too few signers noted", func() bool {
		return strings.Contains(beaconStatus(t, url).Endpoints[1].LastError, "300 signers")
	})
	if got := served(gw); got == refused || got != before {
		t.Fatalf("served %s after a head signed by 300 of 512 (before %s)", got, before)
	}
	c.apis[1].SetFaults(beaconsim.Faults{})
	h := c.mine(t, c.dn)
	await.Within(t, 30*time.Second, "braid serves the next fully signed head", func() bool { return served(gw) == h })
}

// TestBeaconStaleHeadNotReady: when no beacon API brings a new head, the
// signed head turns older than max_head_age and braid is not ready, with
// the reason, while operators go on reporting newer blocks: braid never
// falls back to them.
func TestBeaconStaleHeadNotReady(t *testing.T) {
	c := newBeaconChain(t, 2, nil)
	tr := c.trust("")
	tr.MaxHeadAge = 5 * time.Second
	gw, url := beaconGateway(t, c, c.dn.Upstreams(), tr, true)
	h := c.mineUntilServed(t, gw)
	c.apis[0].SetFaults(beaconsim.Faults{Stale: true})
	c.apis[1].SetFaults(beaconsim.Faults{Down: true})
	for range 3 {
		c.dn.Commit() // operators move on; the committee's head does not reach braid
	}
	var body string
	await.Within(t, 30*time.Second, "/readyz fails", func() bool {
		var code int
		code, body = readyz(t, url)
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(body, "stale head") || !strings.Contains(body, "max_head_age") {
		t.Errorf("/readyz does not say the head is stale: %s", body)
	}
	if got := served(gw); got != h {
		t.Fatalf("served %s, want the last signed head %s: braid fell back to the operators", got, h)
	}
	var bal hexutil.Big
	if err := dial(t, url).Call(&bal, "eth_getBalance", c.dn.UserAccount().Address, "latest"); err == nil ||
		!strings.Contains(err.Error(), "stale head") {
		t.Errorf("a read while the head is stale answered %v, %v: want a refusal naming the stale head", &bal, err)
	}
	if st := beaconStatus(t, url); st.Ready || !strings.Contains(st.Reason, "stale head") {
		t.Errorf("beacon status ready=%v reason %q", st.Ready, st.Reason)
	}
	if m := metricsText(t, url); !strings.Contains(m, `braid_beacon_not_ready{network="devnet",reason="stale_head"} 1`) {
		t.Errorf("/metrics does not say the head is stale:\n%s", grepLines(m, "braid_beacon_"))
	}
	c.apis[0].SetFaults(beaconsim.Faults{})
	c.apis[1].SetFaults(beaconsim.Faults{})
	h = c.mine(t, c.dn)
	await.Within(t, 30*time.Second, "ready again on a fresh head", func() bool {
		code, _ := readyz(t, url)
		return served(gw) == h && code == http.StatusOK
	})
}

// fork starts another devnet of three providers, closed when the test
// ends, and steps both chains three times: the fork's blocks hold
// transfers only it has, and the committee signs only c's.
func (c *beaconChain) fork(t *testing.T) *devnet.Devnet {
	t.Helper()
	fork, err := devnet.New(context.Background(), devnet.Options{Providers: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fork.Close() })
	for range 3 {
		if _, err := fork.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.mine(t, c.dn)
	}
	return fork
}

// TestBeaconEveryProviderOnAFork: every provider agrees on a chain the
// sync committee never signed (another devnet with other transactions).
// Under verify: strict + trust: beacon no answer comes from that fork:
// braid is not ready and refuses. With one honest provider added, braid
// serves the signed chain through it alone.
func TestBeaconEveryProviderOnAFork(t *testing.T) {
	c := newBeaconChain(t, 1, nil)
	fork := c.fork(t)
	ctx := context.Background()
	forkHead, _ := ethclient.NewClient(fork.RPC()).HeaderByNumber(ctx, nil)
	signed, _ := c.sim.Head()
	if forkHead.Hash() == signed.BlockHash {
		t.Fatal("the fork is not a fork")
	}
	forkBlock, err := ethclient.NewClient(fork.RPC()).BlockByHash(ctx, forkHead.Hash())
	if err != nil || len(forkBlock.Transactions()) == 0 {
		t.Fatalf("fork head has no transactions: %v", err)
	}
	tx := forkBlock.Transactions()[0]
	user, err := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
	if err != nil {
		t.Fatal(err)
	}
	forkBalance, _ := ethclient.NewClient(fork.RPC()).BalanceAt(ctx, user, nil)
	trueBalance, _ := ethclient.NewClient(c.dn.RPC()).BalanceAt(ctx, user, nil)
	if forkBalance.Cmp(trueBalance) == 0 {
		t.Fatal("the fork's balance equals the signed chain's")
	}

	gw, url := beaconGateway(t, c, fork.Upstreams(), c.trust(""), true, func(nc *config.Network) {
		// Served on the operators' word: still never from their chain.
		nc.Verify.AllowUnverified = []string{"eth_getBlockTransactionCountByHash", "eth_syncing"}
	})
	braid := ethclient.NewClient(dial(t, url))
	for range 3 {
		if _, err := fork.Step(ctx); err != nil {
			t.Fatal(err)
		}
		c.mine(t, c.dn)
	}
	await.Within(t, 30*time.Second, "/readyz says why", func() bool {
		code, body := readyz(t, url)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "no provider gave its header")
	})
	if got := served(gw); got != (common.Hash{}) {
		t.Fatalf("braid serves %s from providers on a fork", got)
	}
	if h, err := braid.HeaderByNumber(ctx, nil); err == nil {
		t.Fatalf("latest header %s answered from the fork", h.Hash())
	}
	if b, err := braid.BalanceAt(ctx, user, nil); err == nil {
		t.Fatalf("balance %s answered (fork %s)", b, forkBalance)
	}
	if n, err := braid.BlockNumber(ctx); err == nil {
		t.Fatalf("block number %d answered from the fork", n)
	}
	askFork(t, dial(t, url), forkBlock, user)

	honest := append(fork.Upstreams(), c.dn.Upstreams()[0])
	honest[len(honest)-1].Name, honest[len(honest)-1].Operator = "honest", "honest-op"
	gw2, url2 := beaconGateway(t, c, honest, c.trust(""), true)
	h := c.mineUntilServed(t, gw2) // through the honest provider alone
	braid2 := ethclient.NewClient(dial(t, url2))
	got, err := braid2.HeaderByNumber(ctx, nil)
	if err != nil || got.Hash() != h {
		t.Fatalf("latest header = %v, %v; want %s", got, err, h)
	}
	bal, err := braid2.BalanceAt(ctx, user, nil)
	if err != nil || bal.Cmp(trueBalance) != 0 {
		t.Fatalf("balance = %v, %v; want the signed chain's %s (fork: %s)", bal, err, trueBalance, forkBalance)
	}
}

// askFork asks braid, whose every provider is on a fork the sync
// committee never signed, every kind of read about that fork: its head by
// hash and number, its transaction and receipt, logs, state, proofs, the
// fee suggestions (the operators' word even in strict mode) and methods
// allowed unverified. Every one is refused, as no trusted block exists;
// none answers from the fork.
func askFork(t *testing.T, braid *rpc.Client, forkBlock *types.Block, user common.Address) {
	t.Helper()
	h, tx := forkBlock.Hash(), forkBlock.Transactions()[0].Hash()
	for _, c := range []struct {
		method string
		args   []any
	}{
		{"eth_getBlockByHash", []any{h, false}},
		{"eth_getBlockByNumber", []any{hexutil.Uint64(forkBlock.NumberU64()), false}},
		{"eth_getBlockReceipts", []any{h}},
		{"eth_getTransactionByHash", []any{tx}},
		{"eth_getTransactionReceipt", []any{tx}},
		{"eth_getTransactionByBlockHashAndIndex", []any{h, "0x0"}},
		{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "toBlock": "latest"}}},
		{"eth_getLogs", []any{map[string]any{"blockHash": h}}},
		{"eth_getBalance", []any{user, map[string]any{"blockHash": h}}},
		{"eth_getTransactionCount", []any{user, "pending"}},
		{"eth_getProof", []any{user, []any{}, "latest"}},
		{"eth_gasPrice", nil},
		{"eth_maxPriorityFeePerGas", nil},
		{"eth_feeHistory", []any{"0x2", "latest", []any{}}},
		{"eth_blobBaseFee", nil},
		{"eth_getBlockTransactionCountByHash", []any{h}}, // allowed unverified
		{"eth_syncing", nil},                             // allowed unverified
	} {
		var res json.RawMessage
		if err := braid.Call(&res, c.method, c.args...); err == nil {
			t.Errorf("%s%v answered %s from providers on a fork", c.method, c.args, res)
		} else if !strings.Contains(err.Error(), "no trusted block") {
			t.Errorf("%s%v refused with %q: want the reason that no trusted block exists", c.method, c.args, err)
		}
	}
}

func dial(t *testing.T, url string) *rpc.Client {
	t.Helper()
	c, err := rpc.DialHTTP(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestBeaconCheckpointAcrossRestart: braid keeps the last finalized
// checkpoint in trust.data_dir; restarted without a configured checkpoint
// it starts from the saved one and follows the chain again.
func TestBeaconCheckpointAcrossRestart(t *testing.T) {
	c := newBeaconChain(t, 1, nil)
	dir := t.TempDir()
	gw, _ := beaconGateway(t, c, c.dn.Upstreams(), c.trust(dir), true)
	c.mineUntilServed(t, gw)
	path := filepath.Join(dir, "beacon-devnet-checkpoint.json")
	var saved struct {
		Root common.Hash `json:"root"`
		Slot uint64      `json:"slot"`
	}
	// One block per epoch: finality trails the head by two epochs.
	for i, epoch := 0, c.sim.CurrentSlot()/32+1; ; i, epoch = i+1, epoch+1 {
		await.Within(t, 30*time.Second, "the next epoch", func() bool { return c.sim.CurrentSlot() >= epoch*32 })
		c.mine(t, c.dn)
		data, err := os.ReadFile(path)
		if err == nil && json.Unmarshal(data, &saved) == nil && saved.Root != c.cp {
			break
		}
		if i == 12 {
			t.Fatalf("no checkpoint past the anchor saved after %d epochs (%s: %v)", i+1, path, err)
		}
	}
	gw.Close()
	data, err := os.ReadFile(path) // what the first run left: it may have saved a newer one meanwhile
	if err != nil || json.Unmarshal(data, &saved) != nil {
		t.Fatalf("saved checkpoint: %v", err)
	}

	tr := c.trust(dir)
	tr.Checkpoint = "" // only the saved one
	gw2, url2 := beaconGateway(t, c, c.dn.Upstreams(), tr, true)
	h := c.mineUntilServed(t, gw2)
	st := beaconStatus(t, url2)
	if st.Checkpoint.Source != "saved" || st.Checkpoint.Root != saved.Root || st.Serving == nil || st.Serving.BlockHash != h {
		t.Fatalf("restarted from checkpoint %+v serving %+v; want the saved %s", st.Checkpoint, st.Serving, saved.Root)
	}
}

// TestBeaconCheckpointTooOld: a configured checkpoint older than
// checkpoint_max_age is refused with a message that says so; braid stays
// not ready and refuses reads.
func TestBeaconCheckpointTooOld(t *testing.T) {
	old := clock.NewFake(time.Now().Add(-15 * 24 * time.Hour))
	c := newBeaconChain(t, 1, old) // the anchor's slot is 15 days ago
	_, url := beaconGateway(t, c, c.dn.Upstreams(), c.trust(""), true)
	var body string
	await.Within(t, 30*time.Second, "/readyz refuses the checkpoint", func() bool {
		var code int
		code, body = readyz(t, url)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "checkpoint too old")
	})
	for _, want := range []string{"configured checkpoint " + c.cp.Hex(), "days old, over checkpoint_max_age 14.0 days", "trust.checkpoint"} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz lacks %q: %s", want, body)
		}
	}
	var n hexutil.Uint64
	if err := dial(t, url).Call(&n, "eth_blockNumber"); err == nil || !strings.Contains(err.Error(), "checkpoint too old") {
		t.Errorf("eth_blockNumber with a refused checkpoint: %v, %v", n, err)
	}
	if m := metricsText(t, url); !strings.Contains(m, `braid_beacon_not_ready{network="devnet",reason="checkpoint_too_old"} 1`) ||
		!strings.Contains(m, `braid_beacon_ready{network="devnet"} 0`) {
		t.Errorf("/metrics does not say the checkpoint was refused:\n%s", grepLines(m, "braid_beacon_"))
	}
}

// metricsText is /metrics.
func metricsText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
