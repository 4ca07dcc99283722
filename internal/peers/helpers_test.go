package peers

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/history/historytest"
	"github.com/braidrpc/braid/internal/verify"
)

var (
	chainOnce sync.Once
	chainVal  *historytest.Chain
	chainErr  error
)

// testChain is a devnet chain with every transaction type, shared by the
// package's tests.
func testChain(t testing.TB) *historytest.Chain {
	t.Helper()
	chainOnce.Do(func() { chainVal, chainErr = historytest.New(context.Background()) })
	if chainErr != nil {
		t.Fatal(chainErr)
	}
	return chainVal
}

func TestMain(m *testing.M) {
	code := m.Run()
	if chainVal != nil {
		chainVal.Devnet.Close()
	}
	os.Exit(code)
}

// busyBlock is the devnet block with the most transactions.
func busyBlock(t testing.TB) *historytest.Block {
	var best *historytest.Block
	for _, b := range testChain(t).Blocks {
		if best == nil || len(b.Body.Transactions) > len(best.Body.Transactions) {
			best = b
		}
	}
	return best
}

// testLogger discards, or logs to stderr with BRAID_TEST_LOG set.
func testLogger() *slog.Logger {
	if os.Getenv("BRAID_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// loopback are Options every test node starts from: TCP on 127.0.0.1 and
// nothing dialled outside 127.0.0.0/8.
func loopback(t testing.TB) Options {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		Key:        key,
		Listen:     []string{"/ip4/127.0.0.1/tcp/0"},
		DialRanges: []string{"127.0.0.0/8"},
		Logger:     testLogger(),
		Provide:    ProvideOptions{Retry: 200 * time.Millisecond},
	}
}

// startNode starts a node, closed when the test ends.
func startNode(t testing.TB, o Options) *Node {
	t.Helper()
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// cluster starts count nodes, the first one the others' bootstrap peer;
// edit, if set, adjusts each node's Options. It waits until every node has
// a peer in its DHT routing table.
func cluster(t testing.TB, count int, edit func(i int, o *Options)) []*Node {
	t.Helper()
	nodes := make([]*Node, count)
	for i := range count {
		o := loopback(t)
		if i > 0 {
			o.Bootstrap = nodes[0].Addrs()
		}
		if edit != nil {
			edit(i, &o)
		}
		nodes[i] = startNode(t, o)
	}
	for _, n := range nodes {
		await.Within(t, peerWait, "a routing table peer", func() bool { return n.dht.RoutingTable().Size() > 0 })
	}
	return nodes
}

// openStore opens a history store in a temporary directory.
func openStore(t testing.TB) *history.Store {
	t.Helper()
	s, err := history.Open(t.TempDir(), history.Options{MaxBytes: 256 << 20, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// storeBlock puts a whole devnet block in s.
func storeBlock(t testing.TB, s *history.Store, b *historytest.Block) {
	t.Helper()
	if err := s.PutBlockRLP(b.Header, b.BodyRLP, b.StorageRLP, verify.ReceiptsStorage, history.Proven); err != nil {
		t.Fatal(err)
	}
}

// keys are the three keys of a block.
func keys(b *historytest.Block) []Key {
	return []Key{{Header, b.Hash()}, {Body, b.Hash()}, {Receipts, b.Hash()}}
}

// peerWait bounds every wait for peers (a generous bound: the machine is
// shared and slow, and DHTs take a while).
const peerWait = 60 * time.Second

// waitProvided waits until n has announced want keys.
func waitProvided(t testing.TB, n *Node, want int) {
	t.Helper()
	await.Within(t, peerWait, "keys announced", func() bool { return n.Status().Provided >= want })
}

// waitHolders waits until n finds want holders of key in the DHT.
func waitHolders(t testing.TB, n *Node, key Key, want int) {
	t.Helper()
	await.Within(t, peerWait, "holders found", func() bool {
		hs, err := n.FindHolders(context.Background(), key)
		return err == nil && len(hs) >= want
	})
}

// checkFor is the check of a devnet block's content of kind k.
func checkFor(b *historytest.Block, k Kind) Check {
	switch k {
	case Header:
		return CheckHeader(b.Hash())
	case Body:
		return CheckBody(b.Header)
	}
	return CheckReceipts(b.Header, b.Body.Transactions)
}

// wantBytes is the content of kind k a holder of b serves.
func wantBytes(b *historytest.Block, k Kind) []byte {
	switch k {
	case Header:
		return b.HeaderRLP
	case Body:
		return b.BodyRLP
	}
	return b.StorageRLP
}

// prefer makes n ask p before peers it knows nothing of (a verified
// delivery with a tiny latency in n's tally), and other before p's.
func prefer(n *Node, p peer.ID, others ...peer.ID) {
	n.tally.Delivered(Transfer{Peer: p, Direction: In, Result: Verified, Latency: time.Nanosecond, At: time.Now()})
	for _, o := range others {
		n.tally.Delivered(Transfer{Peer: o, Direction: In, Result: Verified, Latency: time.Hour, At: time.Now()})
	}
}

// ask connects from to to and sends one raw request, returning the
// response: the way any peer, not only a braid node, reaches a node.
func ask(from, to *Node, key Key) (Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := from.host.Connect(ctx, peer.AddrInfo{ID: to.ID(), Addrs: to.host.Addrs()}); err != nil {
		return Response{}, err
	}
	s, err := from.host.NewStream(ctx, to.ID(), ContentProtocol)
	if err != nil {
		return Response{}, err
	}
	defer s.Reset()
	_ = s.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := s.Write(AppendRequest(nil, key)); err != nil {
		return Response{}, err
	}
	_ = s.CloseWrite()
	return ReadResponse(s, key.Kind, nil)
}

// rawHost is a bare libp2p host on loopback with no resource limits: an
// attacker that is not a braid node and keeps to none of its limits.
func rawHost(t testing.TB) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.ResourceManager(&network.NullResourceManager{}), libp2p.DisableRelay(),
		libp2p.DisableMetrics(), libp2p.ForceReachabilityPrivate())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// metricValue is the value of the metric name with labels in reg (summed
// over the series matching them).
func metricValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue series
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}
