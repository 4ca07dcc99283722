package integration

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/gateway"
)

// fillBenchBlocks is the devnet length BenchmarkHistoryFill fills.
const fillBenchBlocks = 300

// BenchmarkHistoryFill measures a gateway's background fill of a whole
// devnet (keep: all; the bandwidth budget far above what loopback needs):
// first from the providers (headers by the trusted path, bodies and
// receipts through the verified reader), then — every provider having
// pruned all but the head — a second gateway's fill from the first over
// libp2p (bodies and receipts from the peer, verified). It reports blocks/s
// of each and the store's size per block: the bytes it accounts and the
// bytes of its directory on disk (pebble tables and write-ahead log, not
// compacted).
func BenchmarkHistoryFill(b *testing.B) {
	ctx := context.Background()
	dn, err := devnet.New(ctx, devnet.Options{Providers: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dn.Close() })
	for range fillBenchBlocks {
		if _, err := dn.Step(ctx); err != nil {
			b.Fatal(err)
		}
	}
	head := uint64(len(historytestBlocks(dn)) - 1)
	b.ResetTimer()
	for range b.N {
		for _, p := range dn.Providers() {
			p.SetFaults(devnet.Faults{})
		}
		dir := b.TempDir()
		keeper, rate := fillGateway(b, dn, dir, nil, head)
		b.ReportMetric(rate, "blocks/s-providers")
		st := keeper.Status().Networks[0].History.Store
		b.ReportMetric(float64(st.Bytes)/float64(st.Blocks), "accounted-B/block")
		b.ReportMetric(float64(dirBytes(b, dir))/float64(st.Blocks), "disk-B/block")
		for _, p := range dn.Providers() {
			p.SetFaults(devnet.Faults{PruneBelow: head})
		}
		reader, rate := fillGateway(b, dn, b.TempDir(), keeper.Networks()[0].PeerAddrs(), head)
		b.ReportMetric(rate, "blocks/s-peers")
		reader.Close()
		keeper.Close()
	}
}

// fillGateway starts a gateway keeping everything in dir, bootstrapping
// from boot, and waits for its fill to pass head; it returns the gateway
// and the fill's rate in blocks/s from its start (blocks filled before the
// first look at its status are not counted).
func fillGateway(b *testing.B, dn *devnet.Devnet, dir string, boot []string, head uint64) (*gateway.Gateway, float64) {
	b.Helper()
	cfg := config.Default()
	cfg.Cache.Backend = config.CacheOff
	cfg.Networks = []config.Network{{Name: "devnet", ChainID: dn.ChainID(), Upstreams: dn.Upstreams(),
		Head: config.Head{PollInterval: 50 * time.Millisecond},
		Peers: config.Peers{Enabled: true, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DialRanges: []string{"127.0.0.0/8"},
			Bootstrap: boot, Store: config.PeerStore{Path: dir, MaxBytes: 256 << 20}, Keep: "all",
			Fill: config.PeerFill{BytesPerSecond: 1 << 30, Idle: 20 * time.Millisecond}}}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	gw, _ := serveGateway(b, cfg, len(dn.Providers()))
	fill := func() (uint64, uint64) {
		st := gw.Status().Networks[0].History
		if st == nil || st.Fill == nil {
			return 0, 0
		}
		return st.Fill.Next, st.Fill.Blocks
	}
	start := time.Now()
	_, before := fill()
	if !await.Poll(5*time.Minute, func() bool { next, _ := fill(); return next > head }) {
		b.Fatalf("the fill did not reach block %d", head)
	}
	_, after := fill()
	return gw, float64(after-before) / time.Since(start).Seconds()
}

// dirBytes is the size of the files under dir.
func dirBytes(b *testing.B, dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}
