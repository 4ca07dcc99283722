package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/history/historytest"
)

// benchGateway is newHistoryGateway for a benchmark: the answer cache off,
// so every read takes the path measured.
func benchGateway(b *testing.B, dn *devnet.Devnet, peersOn bool, boot []string) (string, func()) {
	b.Helper()
	cfg := config.Default()
	cfg.Cache.Backend = config.CacheOff
	nc := config.Network{Name: "devnet", ChainID: dn.ChainID(), Upstreams: dn.Upstreams(),
		Head: config.Head{PollInterval: 50 * time.Millisecond}}
	if peersOn {
		nc.Peers = config.Peers{Enabled: true, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DialRanges: []string{"127.0.0.0/8"},
			Bootstrap: boot, Store: config.PeerStore{Path: b.TempDir(), MaxBytes: 64 << 20},
			Fill: config.PeerFill{BytesPerSecond: 64 << 20, Idle: 50 * time.Millisecond}}
	}
	cfg.Networks = []config.Network{nc}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	gw, url := serveGateway(b, cfg, len(dn.Providers()))
	if peersOn && len(boot) > 0 && !await.Poll(30*time.Second, func() bool {
		return gw.Status().Networks[0].History.Node.RoutingTable > 0
	}) {
		b.Fatal("the gateway did not join its bootstrap peer")
	}
	return url, gw.Close
}

// historytestBlocks reads the chain's head number as a slice length.
func historytestBlocks(dn *devnet.Devnet) []struct{} {
	var n hexutil.Uint64
	_ = dn.RPC().CallContext(context.Background(), &n, "eth_blockNumber")
	return make([]struct{}, n+1)
}

// timedReceipts reads a block's receipts through braid once and returns
// how long it took and where the answer came from.
func timedReceipts(b *testing.B, url string, number uint64) (time.Duration, string) {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockReceipts", "params": []any{hexutil.Uint64(number)}})
	start := time.Now()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if bytes.Contains(raw, []byte(`"error"`)) {
		b.Fatalf("block %d: %s", number, raw)
	}
	return d, resp.Header.Get("Braid-Source")
}

// BenchmarkHistoryRead measures one old block's receipts
// (eth_getBlockReceipts, the devnet's busiest blocks, answer cache off)
// read through braid: from an unpruned provider, from braid's own history
// store (every provider pruned it), and from a peer (a fresh gateway each
// round, so every read is a DHT search, a transfer and verification).
func BenchmarkHistoryRead(b *testing.B) {
	ctx := context.Background()
	chain, err := historytest.New(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { chain.Devnet.Close() })
	dn := chain.Devnet
	var old []uint64
	for _, bl := range chain.Blocks[1 : len(chain.Blocks)-1] {
		if len(bl.Body.Transactions) > 0 {
			old = append(old, bl.Number())
		}
	}
	provider, _ := benchGateway(b, dn, false, nil)
	keeperCfgURL, keeperAddrs := benchKeeper(b, dn)
	report := func(b *testing.B, lat []time.Duration) {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
	b.Run("provider", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			d, _ := timedReceipts(b, provider, old[i%len(old)])
			lat = append(lat, d)
		}
		report(b, lat)
	})
	for _, p := range dn.Providers() {
		p.SetFaults(devnet.Faults{PruneBelow: chain.Head().Number()})
	}
	b.Cleanup(func() {
		for _, p := range dn.Providers() {
			p.SetFaults(devnet.Faults{})
		}
	})
	b.Run("store", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			d, src := timedReceipts(b, keeperCfgURL, old[i%len(old)])
			if src != "store" {
				b.Fatalf("source %q", src)
			}
			lat = append(lat, d)
		}
		report(b, lat)
	})
	b.Run("peer", func(b *testing.B) {
		var lat []time.Duration
		var reader string
		closeReader := func() {}
		for i := 0; b.Loop(); i++ {
			if i%len(old) == 0 {
				// A fresh reader each round (the last one closed, so
				// they do not pile up), so every read is from a peer.
				b.StopTimer()
				closeReader()
				reader, closeReader = benchGateway(b, dn, true, keeperAddrs)
				b.StartTimer()
			}
			d, src := timedReceipts(b, reader, old[i%len(old)])
			if src != "peer" {
				b.Fatalf("source %q", src)
			}
			lat = append(lat, d)
		}
		report(b, lat)
	})
}

// benchKeeper starts the gateway that keeps every block and returns its
// URL and peer addresses.
func benchKeeper(b *testing.B, dn *devnet.Devnet) (string, []string) {
	cfg := config.Default()
	cfg.Cache.Backend = config.CacheOff
	cfg.Networks = []config.Network{{Name: "devnet", ChainID: dn.ChainID(), Upstreams: dn.Upstreams(),
		Head: config.Head{PollInterval: 50 * time.Millisecond},
		Peers: config.Peers{Enabled: true, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DialRanges: []string{"127.0.0.0/8"},
			Store: config.PeerStore{Path: b.TempDir(), MaxBytes: 64 << 20}, Keep: "all",
			Fill: config.PeerFill{BytesPerSecond: 64 << 20, Idle: 50 * time.Millisecond}}}}
	cfg.ApplyDefaults()
	gw, url := serveGateway(b, cfg, len(dn.Providers()))
	head := uint64(len(historytestBlocks(dn)) - 1)
	if !await.Poll(60*time.Second, func() bool {
		st := gw.Status().Networks[0]
		return st.History.Fill != nil && st.History.Fill.Next > head
	}) {
		b.Fatal("history not filled")
	}
	return url, gw.Networks()[0].PeerAddrs()
}
