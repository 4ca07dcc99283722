package devnet

import (
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
)

// waitFor bounds every wait for a WebSocket answer or notification. It is
// a deadline against hangs, never a timing assertion.
const waitFor = 10 * time.Second

// dialWS connects go-ethereum's client to a provider's WebSocket endpoint.
func dialWS(t *testing.T, p *Provider) *rpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	c, err := rpc.DialContext(ctx, p.WSURL)
	if err != nil {
		t.Fatalf("dial %s: %v", p.WSURL, err)
	}
	t.Cleanup(c.Close)
	return c
}

// next receives one item from a subscription, failing the test if the
// subscription ends or nothing arrives within waitFor.
func next[T any](t *testing.T, ch <-chan T, errc <-chan error) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case err := <-errc:
		t.Fatalf("subscription ended: %v", err)
	case <-time.After(waitFor):
		t.Fatalf("no notification within %s", waitFor)
	}
	panic("unreachable")
}

// head is the part of a newHeads notification the tests look at.
type head struct {
	Hash   common.Hash    `json:"hash"`
	Number hexutil.Uint64 `json:"number"`
}

// rawWS is a bare WebSocket client, to see a provider's messages byte for
// byte and in the order they were sent.
type rawWS struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialRaw(t *testing.T, p *Provider) *rawWS {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, p.WSURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", p.WSURL, err)
	}
	conn.SetReadLimit(2 * maxBody)
	t.Cleanup(func() { conn.CloseNow() })
	return &rawWS{t: t, conn: conn}
}

func (r *rawWS) write(msg string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.t.Context(), waitFor)
	defer cancel()
	if err := r.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *rawWS) read() []byte {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.t.Context(), waitFor)
	defer cancel()
	_, msg, err := r.conn.Read(ctx)
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return msg
}

// wsMessage is any message a provider sends over WebSocket.
type wsMessage struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
	Method string          `json:"method"`
	Params struct {
		Subscription string          `json:"subscription"`
		Result       json.RawMessage `json:"result"`
	} `json:"params"`
}

func (r *rawWS) readMessage() wsMessage {
	r.t.Helper()
	raw := r.read()
	var m wsMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		r.t.Fatalf("bad message %s: %v", raw, err)
	}
	return m
}

// answer writes a request and reads its answer, which must come next.
func (r *rawWS) answer(req string) wsMessage {
	r.t.Helper()
	r.write(req)
	m := r.readMessage()
	if m.Method != "" {
		r.t.Fatalf("got a %s notification, want the answer to %s", m.Method, req)
	}
	return m
}

func TestWSCallsMatchHTTP(t *testing.T) {
	d := newTestDevnet(t, 3)
	p := d.Providers()[0]
	c := dialWS(t, p)
	ref := latestRefs(t, d)
	user := d.UserAccount().Address
	revert := map[string]any{"from": user, "to": d.Token(),
		"data": hexutil.Bytes(d.token.pack("transfer", common.Address{}, UserTokens))}

	calls := []struct {
		method string
		params []any
	}{
		{"eth_chainId", nil},
		{"eth_blockNumber", nil},
		{"eth_getBalance", []any{user, "latest"}},
		{"eth_call", []any{balanceOfCall(d, user), "latest"}},
		{"eth_call", []any{revert, "latest"}}, // reverts: code 3 with data
		{"eth_getBlockByHash", []any{ref.block, true}},
		{"eth_getTransactionReceipt", []any{ref.tokenTx}},
		{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "address": d.Token()}}},
		{"eth_getBlockByNumber", []any{"0xffff", false}}, // null
		{"eth_getBalance", []any{"0x12"}},                // invalid params
		{"admin_nodeInfo", nil},                          // not served
	}
	before := p.Requests()
	for _, tc := range calls {
		httpRes, httpErr := call(t, p, tc.method, tc.params...)
		var wsRes json.RawMessage
		var wsErr *rpcError
		if err := c.CallContext(t.Context(), &wsRes, tc.method, tc.params...); err != nil {
			wsErr = toRPCError(err)
		}
		if string(wsRes) != string(httpRes) || !reflect.DeepEqual(wsErr, httpErr) {
			t.Errorf("%s over ws = %s, %v; over HTTP = %s, %v", tc.method, wsRes, wsErr, httpRes, httpErr)
		}
	}
	if got, want := p.Requests()-before, uint64(2*len(calls)); got != want {
		t.Errorf("Requests grew by %d for %d calls over each transport, want %d", got, len(calls), want)
	}

	t.Run("batch", func(t *testing.T) {
		batch := make([]rpc.BatchElem, len(calls))
		for i, tc := range calls {
			batch[i] = rpc.BatchElem{Method: tc.method, Args: tc.params, Result: new(json.RawMessage)}
		}
		if err := c.BatchCallContext(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
		for i, tc := range calls {
			httpRes, httpErr := call(t, p, tc.method, tc.params...)
			var wsErr *rpcError
			if batch[i].Error != nil {
				wsErr = toRPCError(batch[i].Error)
			}
			if got := *batch[i].Result.(*json.RawMessage); string(got) != string(httpRes) || !reflect.DeepEqual(wsErr, httpErr) {
				t.Errorf("batch member %s over ws = %s, %v; over HTTP = %s, %v", tc.method, got, wsErr, httpRes, httpErr)
			}
		}
	})

	t.Run("bytes", func(t *testing.T) {
		r := dialRaw(t, p)
		for _, body := range []string{
			`{"jsonrpc":"2.0","id":1e2,"method":"eth_chainId"}`,
			`[{"jsonrpc":"2.0","id":"a","method":"eth_getBalance","params":["` + user.Hex() + `","latest"]},` +
				`{"jsonrpc":"2.0","method":"eth_blockNumber"},` +
				`{"jsonrpc":"2.0","id":null,"method":"nope_nope"},{"bad":1}]`,
			`[]`,
			`{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":`, // truncated
		} {
			_, want, err := post(t, p.URL, body)
			if err != nil {
				t.Fatal(err)
			}
			r.write(body)
			if got := r.read(); string(got) != string(want) {
				t.Errorf("ws answer to %s:\n%s\nHTTP answer:\n%s", body, got, want)
			}
		}
	})
}

func TestWSNewHeads(t *testing.T) {
	d := newTestDevnet(t, 0)
	ec := ethclient.NewClient(dialWS(t, d.Providers()[0]))
	heads := make(chan *types.Header)
	sub, err := ec.SubscribeNewHead(t.Context(), heads)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for range 3 {
		want, err := d.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// The whole header comes through: its hash recomputes.
		if got := next(t, heads, sub.Err()); got.Hash() != want {
			t.Fatalf("newHeads gave block %d %s, want %s", got.Number, got.Hash(), want)
		}
	}
}

func TestWSLogs(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[1]
	ec := ethclient.NewClient(dialWS(t, p))
	logs := make(chan types.Log)
	q := ethereum.FilterQuery{Addresses: []common.Address{d.Token()}, Topics: [][]common.Hash{{transferTopic()}}}
	sub, err := ec.SubscribeFilterLogs(t.Context(), q, logs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for range 3 {
		block, err := d.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var want []types.Log
		res := mustCall(t, p, "eth_getLogs", map[string]any{"blockHash": block, "address": d.Token(), "topics": []any{transferTopic()}})
		if err := json.Unmarshal(res, &want); err != nil || len(want) == 0 {
			t.Fatalf("block %s has no Transfer logs (%v)", block, err)
		}
		for _, w := range want {
			got := next(t, logs, sub.Err())
			if got.BlockHash != block || got.TxHash != w.TxHash || got.Index != w.Index || got.Topics[0] != transferTopic() {
				t.Errorf("log %+v, want %+v", got, w)
			}
		}
	}
}

func TestWSPendingTransactions(t *testing.T) {
	d := newTestDevnet(t, 0)
	c := dialWS(t, d.Providers()[0])
	hashes := make(chan common.Hash)
	sub, err := c.EthSubscribe(t.Context(), hashes, "newPendingTransactions")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	ec := ethclient.NewClient(c)
	tx := userTransfer(t, d, ec)
	if err := ec.SendTransaction(t.Context(), tx); err != nil {
		t.Fatal(err)
	}
	if got := next(t, hashes, sub.Err()); got != tx.Hash() {
		t.Errorf("newPendingTransactions gave %s, want %s", got, tx.Hash())
	}
	d.Commit()
}

// userTransfer signs a small ETH transfer from the user account.
func userTransfer(t *testing.T, d *Devnet, ec *ethclient.Client) *types.Transaction {
	t.Helper()
	user := d.UserAccount().Address
	nonce, err := ec.PendingNonceAt(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ec.HeaderByNumber(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tip := big.NewInt(params.GWei)
	return types.MustSignNewTx(d.UserPrivateKey(), types.LatestSignerForChainID(big.NewInt(int64(d.ChainID()))),
		&types.DynamicFeeTx{
			ChainID:   big.NewInt(int64(d.ChainID())),
			Nonce:     nonce,
			GasTipCap: tip,
			GasFeeCap: new(big.Int).Add(new(big.Int).Mul(h.BaseFee, big.NewInt(2)), tip),
			Gas:       21_000,
			To:        &Recipients[3],
			Value:     big.NewInt(1),
		})
}

var subIDPattern = regexp.MustCompile(`^"0x[0-9a-f]{32}"$`)

func TestWSSubscriptionCalls(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[0]
	r := dialRaw(t, p)

	a := r.answer(`{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}`)
	if a.Error != nil || !subIDPattern.Match(a.Result) {
		t.Fatalf("eth_subscribe = %s, %v; want an id of 32 hex digits", a.Result, a.Error)
	}
	if a := r.answer(`{"jsonrpc":"2.0","id":2,"method":"eth_unsubscribe","params":[` + string(a.Result) + `]}`); string(a.Result) != "true" {
		t.Errorf("eth_unsubscribe = %s, %v; want true", a.Result, a.Error)
	}
	for _, tc := range []struct {
		req  string
		code int
		text string
	}{
		{`{"jsonrpc":"2.0","id":3,"method":"eth_unsubscribe","params":[` + string(a.Result) + `]}`, -32000, "subscription not found"},
		{`{"jsonrpc":"2.0","id":4,"method":"eth_unsubscribe","params":["0x0123456789abcdef0123456789abcdef"]}`, -32000, "subscription not found"},
		{`{"jsonrpc":"2.0","id":5,"method":"eth_subscribe","params":["syncing"]}`, -32602, `"syncing"`},
		{`{"jsonrpc":"2.0","id":6,"method":"eth_subscribe","params":[]}`, -32602, "kind"},
		{`{"jsonrpc":"2.0","id":7,"method":"eth_subscribe","params":["newHeads",{}]}`, -32602, "arguments"},
	} {
		a := r.answer(tc.req)
		if a.Error == nil || a.Error.Code != tc.code || !strings.Contains(a.Error.Message, tc.text) {
			t.Errorf("%s = %s, %v; want code %d with %q", tc.req, a.Result, a.Error, tc.code, tc.text)
		}
	}

	// A subscription in a batch: the batch's answer comes before its
	// first notification, and only live subscriptions notify.
	r.write(`[{"jsonrpc":"2.0","id":8,"method":"eth_subscribe","params":["newHeads"]},{"jsonrpc":"2.0","id":9,"method":"eth_chainId"}]`)
	var batch []wsMessage
	if err := json.Unmarshal(r.read(), &batch); err != nil || len(batch) != 2 || !subIDPattern.Match(batch[0].Result) {
		t.Fatalf("batch answer %+v (%v)", batch, err)
	}
	live := strings.Trim(string(batch[0].Result), `"`)
	for range 2 {
		block, err := d.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		m := r.readMessage()
		var h head
		if err := json.Unmarshal(m.Params.Result, &h); err != nil || m.Method != "eth_subscription" ||
			m.Params.Subscription != live || h.Hash != block {
			t.Fatalf("got %+v, want a newHeads notification of %s for %s", m, block, live)
		}
	}
}

func TestWSRefusedByFaults(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[0]
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		p.SetFaults(Faults{HTTPStatus: status})
		ctx, cancel := context.WithTimeout(t.Context(), waitFor)
		conn, resp, err := websocket.Dial(ctx, p.WSURL, nil)
		cancel()
		if err == nil {
			conn.CloseNow()
			t.Fatalf("http_status %d: the upgrade succeeded", status)
		}
		if resp == nil || resp.StatusCode != status {
			t.Fatalf("http_status %d: dial got %v (%v)", status, resp, err)
		}
		if status == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "1" {
			t.Errorf("429 without Retry-After: 1")
		}
		if c, err := rpc.DialContext(t.Context(), p.WSURL); err == nil {
			c.Close()
			t.Errorf("http_status %d: go-ethereum's client connected", status)
		}
	}
	p.SetFaults(Faults{})
	var n hexutil.Uint64
	if err := dialWS(t, p).CallContext(t.Context(), &n, "eth_blockNumber"); err != nil {
		t.Errorf("after clearing faults: %v", err)
	}
}

func TestWSDown(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[0]
	c := dialWS(t, p)
	heads := make(chan head)
	sub, err := c.EthSubscribe(t.Context(), heads, "newHeads")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	r := dialRaw(t, p)

	p.SetFaults(Faults{Down: true})
	select {
	case err := <-sub.Err():
		if err == nil {
			t.Error("the subscription ended without an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an open subscription did not see the provider go down within 5s")
	}
	// No close handshake: the raw client sees the connection drop.
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	_, _, err = r.conn.Read(ctx)
	cancel()
	if err == nil || websocket.CloseStatus(err) != -1 {
		t.Errorf("read on a dropped connection = %v, want an error without a close frame", err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), waitFor)
	if c2, err := rpc.DialContext(ctx, p.WSURL); err == nil {
		c2.Close()
		t.Error("dialing a down provider succeeded")
	}
	cancel()

	p.SetFaults(Faults{})
	c3 := dialWS(t, p)
	sub3, err := c3.EthSubscribe(t.Context(), heads, "newHeads")
	if err != nil {
		t.Fatal(err)
	}
	defer sub3.Unsubscribe()
	block, err := d.Step(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if h := next(t, heads, sub3.Err()); h.Hash != block {
		t.Errorf("after recovery newHeads gave %s, want %s", h.Hash, block)
	}
}
