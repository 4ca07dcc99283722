package ledger

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/history/historytest"
	"github.com/braidrpc/braid/internal/peers"
	"github.com/braidrpc/braid/internal/verify"
)

var (
	chainOnce sync.Once
	chainVal  *historytest.Chain
	chainErr  error
)

// devChain is a devnet chain with every kind of transaction, shared by
// the package's loopback tests.
func devChain(t testing.TB) *historytest.Chain {
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

// chainHeaders is braid's trusted path over the devnet chain.
type chainHeaders struct{ c *historytest.Chain }

func (h chainHeaders) Header(_ context.Context, n uint64) (*types.Header, error) {
	if n >= uint64(len(h.c.Blocks)) {
		return nil, errors.New("no such block")
	}
	return h.c.Blocks[n].Header, nil
}

// gateway is one loopback node: its peer node, ledger and store.
type gateway struct {
	node  *peers.Node
	l     *Ledger
	store *history.Store
	rec   *recorder
}

// recorder is a peers.Ledger that notes the order in which requests are
// admitted and hands everything to the ledger.
type recorder struct {
	*Ledger
	mu       sync.Mutex
	admitted []peer.ID
}

func (r *recorder) Admit(ctx context.Context, in peers.Inbound) (func(), error) {
	done, err := r.Ledger.Admit(ctx, in)
	if err == nil {
		r.mu.Lock()
		r.admitted = append(r.admitted, in.Peer)
		r.mu.Unlock()
	}
	return done, err
}

func (r *recorder) order() []peer.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.admitted)
}

// dropping is a Holder that has dropped some blocks but still announces
// them: a false advertiser.
type dropping struct {
	*history.Store
	gone map[common.Hash]bool
}

func (d dropping) HeaderRLP(h common.Hash) ([]byte, bool) {
	if d.gone[h] {
		return nil, false
	}
	return d.Store.HeaderRLP(h)
}

func (d dropping) BodyRLP(h common.Hash) ([]byte, bool) {
	if d.gone[h] {
		return nil, false
	}
	return d.Store.BodyRLP(h)
}

func (d dropping) ReceiptsRLP(h common.Hash) ([]byte, bool) {
	if d.gone[h] {
		return nil, false
	}
	return d.Store.ReceiptsRLP(h)
}

// setup tunes one gateway before it starts: its ledger's config, a
// directory to persist it in, blocks to store and to drop.
type setup struct {
	cfg    Config
	clk    clock.Clock // the ledger's; nil: the real clock
	dir    string
	key    crypto.PrivKey
	blocks []*historytest.Block
	drop   []*historytest.Block
	// maxBytes, if set, bounds the store (LRU, not the ledger's Keeper):
	// a gateway that evicts.
	maxBytes int64
}

// loopbackHead puts every devnet block 1,000 below the tip: old content.
func loopbackHead(c *historytest.Chain) func() (uint64, bool) {
	return func() (uint64, bool) { return c.Head().Number() + 1000, true }
}

// startGateway starts one gateway, bootstrapping from boot (if any).
func startGateway(t *testing.T, c *historytest.Chain, s setup, boot []string) *gateway {
	t.Helper()
	g := &gateway{}
	opts := Options{Config: s.cfg, Clock: s.clk, Head: loopbackHead(c), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var err error
	if s.dir != "" {
		g.l, err = Open(s.dir, opts)
	} else {
		g.l, err = New(opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	g.rec = &recorder{Ledger: g.l}
	so := history.Options{MaxBytes: 64 << 20, Keeper: g.l.Keeper(), Notify: g.l.OnStored}
	if s.maxBytes != 0 {
		so.MaxBytes, so.Keeper = s.maxBytes, history.LRU{}
	}
	g.store, err = history.Open(t.TempDir(), so)
	if err != nil {
		t.Fatal(err)
	}
	gone := map[common.Hash]bool{}
	for _, b := range append(slices.Clone(s.blocks), s.drop...) {
		if err := g.store.PutBlockRLP(b.Header, b.BodyRLP, b.StorageRLP, verify.ReceiptsStorage, history.Proven); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range s.drop {
		gone[b.Hash()] = true
	}
	key := s.key
	if key == nil {
		key, _, err = crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
	}
	g.node, err = peers.New(peers.Options{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DialRanges: []string{"127.0.0.0/8"},
		Bootstrap: boot, Holder: dropping{g.store, gone}, Ledger: g.rec, Ranker: g.l, Head: loopbackHead(c),
		Limits: peers.Limits{AdmitTimeout: time.Minute}, Provide: peers.ProvideOptions{Retry: 200 * time.Millisecond},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range append(slices.Clone(s.blocks), s.drop...) {
		g.node.Provide(blockKeys(b)...)
	}
	t.Cleanup(func() { g.close() })
	return g
}

func (g *gateway) close() {
	g.node.Close()
	g.l.Close()
	g.store.Close()
}

// cluster starts five gateways, the first the others' bootstrap peer,
// and waits until each has a DHT peer.
func cluster(t *testing.T, c *historytest.Chain, setups [5]setup) []*gateway {
	t.Helper()
	gs := make([]*gateway, 5)
	for i, s := range setups {
		var boot []string
		if i > 0 {
			boot = gs[0].node.Addrs()
		}
		gs[i] = startGateway(t, c, s, boot)
	}
	for _, g := range gs {
		await.Until(t, "a DHT peer", func() bool { return g.node.Status().RoutingTable > 0 })
	}
	return gs
}

func blockKeys(b *historytest.Block) []peers.Key {
	return []peers.Key{{Kind: peers.Header, Hash: b.Hash()}, {Kind: peers.Body, Hash: b.Hash()}, {Kind: peers.Receipts, Hash: b.Hash()}}
}

// waitHolders waits until g finds want holders of key.
func waitHolders(t *testing.T, g *gateway, key peers.Key, want int) {
	t.Helper()
	await.Until(t, "holders in the DHT", func() bool {
		hs, err := g.node.FindHolders(context.Background(), key)
		return err == nil && len(hs) >= want
	})
}

// fetchHeader fetches b's header through g, checked.
func fetchHeader(t *testing.T, g *gateway, b *historytest.Block) peers.Transfer {
	t.Helper()
	_, tr, err := g.node.Fetch(context.Background(), peers.Key{Kind: peers.Header, Hash: b.Hash()},
		peers.Age{Number: b.Number(), Known: true}, peers.CheckHeader(b.Hash()))
	if err != nil {
		t.Fatalf("fetch of block %d: %v", b.Number(), err)
	}
	return tr
}

// fetchHeaderFrom fetches b's header through g, served by server, and
// waits until server's ledger has charged g for it: the server records a
// serve after its reply is written, so the fetch can return before the
// charge is in the server's ledger.
func fetchHeaderFrom(t *testing.T, g, server *gateway, b *historytest.Block) peers.Transfer {
	t.Helper()
	before := servedTo(server, g.node.ID())
	tr := fetchHeader(t, g, b)
	if tr.Peer != server.node.ID() {
		t.Fatalf("block %d fetched from %s, want %s", b.Number(), tr.Peer, server.node.ID())
	}
	await.Until(t, "the serve charged in the server's ledger", func() bool { return servedTo(server, g.node.ID()) > before })
	return tr
}

// servedTo counts the transfers g's ledger has charged p for.
func servedTo(g *gateway, p peer.ID) int64 {
	a, _ := g.l.Peer(p)
	var n int64
	for _, f := range a.Served {
		n += f.Transfers
	}
	return n
}

// The gateway's own parts are what the ledger's tasks take.
var (
	_ Network        = (*peers.Node)(nil)
	_ Holdings       = (*history.Store)(nil)
	_ peers.Ledger   = (*Ledger)(nil)
	_ peers.Ranker   = (*Ledger)(nil)
	_ history.Keeper = Keeper{}
)
