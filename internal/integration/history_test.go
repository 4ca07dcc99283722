package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/history/historytest"
)

// historyGateway is one braid gateway with peers on, over the shared chain.
type historyGateway struct {
	gw  *gateway.Gateway
	url string
}

// newHistoryGateway starts a gateway over dn whose history store lives in
// dir, keeping keep, bootstrapping from boot; each of edits changes the
// configuration before its defaults are applied.
func newHistoryGateway(t *testing.T, dn *devnet.Devnet, dir, keep string, boot []string, edits ...func(*config.Config)) *historyGateway {
	t.Helper()
	cfg := config.Default()
	cfg.Networks = []config.Network{{Name: "devnet", ChainID: dn.ChainID(), Upstreams: dn.Upstreams(),
		Head: config.Head{PollInterval: 50 * time.Millisecond},
		Peers: config.Peers{Enabled: true, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DialRanges: []string{"127.0.0.0/8"},
			Bootstrap: boot, Store: config.PeerStore{Path: dir, MaxBytes: 64 << 20}, Keep: keep,
			Fill: config.PeerFill{BytesPerSecond: 64 << 20, Idle: 50 * time.Millisecond}}}}
	for _, edit := range edits {
		edit(cfg)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	gw, url := serveGateway(t, cfg, len(dn.Providers()))
	return &historyGateway{gw: gw, url: url}
}

// historyAnswer is one call's answer with the Braid-Source header.
type historyAnswer struct {
	Result json.RawMessage
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	Source string
}

func postHistory(t *testing.T, url, method string, params ...any) historyAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a historyAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("%s: %s: %v", method, b, err)
	}
	a.Source = resp.Header.Get("Braid-Source")
	return a
}

// sameJSON compares two JSON values member for member.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// waitFilled waits until a gateway's filler has stored every block up to
// head.
func waitFilled(t *testing.T, g *historyGateway, head uint64) {
	t.Helper()
	await.Within(t, 60*time.Second, fmt.Sprintf("history filled to block %d", head), func() bool {
		st := g.gw.Status().Networks[0]
		return st.History != nil && st.History.Fill != nil && st.History.Fill.Next > head
	})
}

// historyCalls are every history method's calls about block b.
func historyCalls(b *historytest.Block) [][]any {
	num := hexutil.Uint64(b.Number())
	hash := b.Hash()
	calls := [][]any{
		{"eth_getBlockByNumber", num, false}, {"eth_getBlockByNumber", num, true},
		{"eth_getBlockByHash", hash, false}, {"eth_getBlockByHash", hash, true},
		{"eth_getBlockTransactionCountByNumber", num}, {"eth_getBlockTransactionCountByHash", hash},
		{"eth_getBlockReceipts", num}, {"eth_getBlockReceipts", hash},
		{"eth_getLogs", map[string]any{"fromBlock": num, "toBlock": num}},
		{"eth_getLogs", map[string]any{"blockHash": hash}},
		{"eth_getTransactionByBlockNumberAndIndex", num, hexutil.Uint64(len(b.Body.Transactions))},
	}
	for i, tx := range b.Body.Transactions {
		calls = append(calls, []any{"eth_getTransactionByHash", tx.Hash()}, []any{"eth_getTransactionReceipt", tx.Hash()},
			[]any{"eth_getTransactionByBlockNumberAndIndex", num, hexutil.Uint64(i)},
			[]any{"eth_getTransactionByBlockHashAndIndex", hash, hexutil.Uint64(i)})
	}
	return calls
}

// txLookupsFirst is calls with the lookups by transaction hash first.
func txLookupsFirst(calls [][]any) [][]any {
	byHash := func(c []any) bool {
		return c[0] == "eth_getTransactionByHash" || c[0] == "eth_getTransactionReceipt"
	}
	out := make([][]any, 0, len(calls))
	for _, c := range calls {
		if byHash(c) {
			out = append(out, c)
		}
	}
	for _, c := range calls {
		if !byHash(c) {
			out = append(out, c)
		}
	}
	return out
}

// TestHistoryPeers runs five gateways on loopback over one devnet whose
// provider then prunes everything but the newest blocks: the one gateway
// that kept everything serves the others through the DHT, and every old
// block, transaction, receipt and log range answered through any gateway
// equals what the unpruned chain answers; the last reader looks
// transactions up by hash before reading their blocks, so connected peers
// tell it where they are. A second read of the same
// block comes from the reader's own store.
func TestHistoryPeers(t *testing.T) {
	ctx := context.Background()
	chain, err := historytest.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Devnet.Close() })
	dn := chain.Devnet
	head := chain.Head().Number()

	keeper := newHistoryGateway(t, dn, t.TempDir(), "all", nil)
	waitFilled(t, keeper, head)
	boot := keeper.gw.Networks()[0].PeerAddrs()
	gws := []*historyGateway{keeper}
	for range 4 {
		gws = append(gws, newHistoryGateway(t, dn, t.TempDir(), "none", boot))
	}
	// The unpruned answers, straight from the chain.
	want := map[string]json.RawMessage{}
	var calls [][]any
	for _, b := range chain.Blocks[:len(chain.Blocks)-1] {
		for _, c := range historyCalls(b) {
			var raw json.RawMessage
			if err := dn.RPC().CallContext(ctx, &raw, c[0].(string), c[1:]...); err != nil {
				t.Fatalf("%v: %v", c, err)
			}
			key := fmt.Sprint(c)
			want[key] = raw
			calls = append(calls, c)
		}
	}
	// A range over every old block.
	rangeCall := []any{"eth_getLogs", map[string]any{"fromBlock": "0x0", "toBlock": hexutil.Uint64(head - 1)}}
	var raw json.RawMessage
	if err := dn.RPC().CallContext(ctx, &raw, "eth_getLogs", rangeCall[1]); err != nil {
		t.Fatal(err)
	}
	want[fmt.Sprint(rangeCall)] = raw
	calls = append(calls, rangeCall)

	for _, p := range dn.Providers() {
		p.SetFaults(devnet.Faults{PruneBelow: head})
	}
	for i, g := range gws {
		order := calls
		if i == len(gws)-1 {
			// The last reader looks transactions up by hash before it has
			// read their blocks: a peer must say where they are.
			order = txLookupsFirst(calls)
		}
		for _, c := range order {
			got := postHistory(t, g.url, c[0].(string), c[1:]...)
			if got.Error != nil || !sameJSON(got.Result, want[fmt.Sprint(c)]) {
				t.Fatalf("gateway %d: %v = %s (error %+v, source %q), want %s", i, c, got.Result, got.Error, got.Source, want[fmt.Sprint(c)])
			}
			if i > 0 && got.Source == "provider" && c[0] != "eth_getTransactionByBlockNumberAndIndex" {
				// Every old call is history the provider no longer has
				// (a transaction index past the end is answered null by
				// the store or a peer too).
				t.Errorf("gateway %d: %v came from the provider", i, c)
			}
		}
	}
	// The readers fetched from the keeper, and keep what they fetched.
	for i, g := range gws[1:] {
		st := g.gw.Status().Networks[0]
		if st.History.Answers.Peer == 0 || st.History.Store.Bodies == 0 {
			t.Errorf("gateway %d: answers %+v, store %+v: nothing came from a peer", i+1, st.History.Answers, st.History.Store)
		}
	}
	// A block read before, asked in a form not cached yet: from the store.
	old := chain.Blocks[1]
	if got := postHistory(t, gws[1].url, "eth_getBlockReceipts", map[string]any{"blockNumber": hexutil.Uint64(old.Number())}); got.Source != "store" ||
		!sameJSON(got.Result, want[fmt.Sprint([]any{"eth_getBlockReceipts", hexutil.Uint64(old.Number())})]) {
		t.Errorf("a block read before: Braid-Source %q, %s", got.Source, got.Result)
	}
}
