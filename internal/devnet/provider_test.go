package devnet

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// demoRefs are hashes of a mined block and one of its token transfers.
type demoRefs struct {
	block   common.Hash
	number  hexutil.Uint64
	tokenTx common.Hash
}

// latestRefs reads the latest block and its last transaction (a token
// transfer: each round sends ETH first, tokens last).
func latestRefs(t *testing.T, d *Devnet) demoRefs {
	t.Helper()
	var block struct {
		Hash         common.Hash    `json:"hash"`
		Number       hexutil.Uint64 `json:"number"`
		Transactions []common.Hash  `json:"transactions"`
	}
	if err := json.Unmarshal(mustHonest(t, d, "eth_getBlockByNumber", "latest", false), &block); err != nil {
		t.Fatal(err)
	}
	if len(block.Transactions) == 0 {
		t.Fatal("latest block has no transactions")
	}
	return demoRefs{block.Hash, block.Number, block.Transactions[len(block.Transactions)-1]}
}

func TestProviderAnswersLikeTheChain(t *testing.T) {
	d := newTestDevnet(t, 3)
	p := d.Providers()[0]
	ref := latestRefs(t, d)
	user := d.UserAccount().Address
	revert := map[string]any{"from": user, "to": d.Token(),
		"data": hexutil.Bytes(d.token.pack("transfer", common.Address{}, UserTokens))}

	tests := []struct {
		method  string
		params  []any
		wantErr int // 0: a result
	}{
		{"eth_chainId", nil, 0},
		{"net_version", nil, 0},
		{"eth_blockNumber", nil, 0},
		{"eth_getBalance", []any{user, "latest"}, 0},
		{"eth_getTransactionCount", []any{Recipients[0], "0x1"}, 0},
		{"eth_getCode", []any{d.Token(), "latest"}, 0},
		{"eth_getStorageAt", []any{d.Token(), "0x2", "latest"}, 0},
		{"eth_call", []any{balanceOfCall(d, user), "latest"}, 0},
		{"eth_call", []any{balanceOfCall(d, user), map[string]any{"blockHash": ref.block}}, 0},
		{"eth_estimateGas", []any{revert}, 3},
		{"eth_getBlockByNumber", []any{ref.number, true}, 0},
		{"eth_getBlockByNumber", []any{"0xffff", false}, 0}, // null
		{"eth_getBlockByHash", []any{ref.block, false}, 0},
		{"eth_getBlockReceipts", []any{ref.number}, 0},
		{"eth_getTransactionByHash", []any{ref.tokenTx}, 0},
		{"eth_getTransactionByHash", []any{common.Hash{1}}, 0}, // null
		{"eth_getTransactionReceipt", []any{ref.tokenTx}, 0},
		{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "address": d.Token()}}, 0},
		{"eth_getProof", []any{user, []string{}, "latest"}, 0},
		{"eth_feeHistory", []any{"0x2", "latest", []float64{50}}, 0},
		{"eth_call", []any{revert, "latest"}, 3},
		{"eth_noSuchMethod", nil, -32601},
		{"eth_getBalance", []any{"0xnothex"}, -32602},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			got, gotErr := call(t, p, tt.method, tt.params...)
			want, wantErr := honest(t, d, tt.method, tt.params...)
			if tt.wantErr != 0 {
				if gotErr == nil || gotErr.Code != tt.wantErr {
					t.Fatalf("error = %v, want code %d", gotErr, tt.wantErr)
				}
				if wantErr == nil || gotErr.Code != wantErr.Code || gotErr.Message != wantErr.Message ||
					!reflect.DeepEqual(gotErr.Data, wantErr.Data) {
					t.Fatalf("error = %+v, chain says %+v", gotErr, wantErr)
				}
				if tt.wantErr == 3 {
					if data, _ := gotErr.Data.(string); !strings.HasPrefix(data, "0x08c379a0") {
						t.Errorf("revert data = %v, want an Error(string) payload", gotErr.Data)
					}
				}
				return
			}
			if gotErr != nil || wantErr != nil {
				t.Fatalf("error %v, chain error %v", gotErr, wantErr)
			}
			if string(got) != string(want) {
				t.Errorf("result differs from the chain's\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestProviderWire(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[0]
	tests := []struct {
		name string
		body string
		want string // exact answer; "" for an empty body
	}{
		{"number id kept as written", `{"jsonrpc":"2.0","id":1e2,"method":"eth_chainId"}`,
			`{"jsonrpc":"2.0","id":1e2,"result":"0x539"}`},
		{"huge id", `{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"eth_chainId"}`,
			`{"jsonrpc":"2.0","id":123456789012345678901234567890,"result":"0x539"}`},
		{"string id", `{"jsonrpc":"2.0","id":"a\u00e9b","method":"eth_chainId","params":[]}`,
			`{"jsonrpc":"2.0","id":"a\u00e9b","result":"0x539"}`},
		{"null id is answered", `{"jsonrpc":"2.0","id":null,"method":"eth_chainId","params":null}`,
			`{"jsonrpc":"2.0","id":null,"result":"0x539"}`},
		{"null result kept", `{"jsonrpc":"2.0","id":2,"method":"eth_getTransactionByHash","params":["0x0000000000000000000000000000000000000000000000000000000000000001"]}`,
			`{"jsonrpc":"2.0","id":2,"result":null}`},
		{"notification", `{"jsonrpc":"2.0","method":"eth_chainId"}`, ``},
		{"batch with a notification and a bad member",
			`[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","method":"eth_chainId"},42,{"jsonrpc":"2.0","id":"x","method":"eth_noSuchMethod"}]`,
			`[{"jsonrpc":"2.0","id":1,"result":"0x539"},{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request"}},{"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"the method eth_noSuchMethod does not exist/is not available"}}]`},
		{"batch of notifications", `[{"jsonrpc":"2.0","method":"eth_chainId"}]`, ``},
		{"empty batch", `[]`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"empty batch"}}`},
		{"parse error", `{"jsonrpc":`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`},
		{"no version", `{"id":1,"method":"eth_chainId"}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request"}}`},
		{"object params", `{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":{}}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"non-array args"}}`},
		{"subscriptions need a socket", `{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"notifications not supported"}}`},
		{"admin is not public", `{"jsonrpc":"2.0","id":1,"method":"admin_nodeInfo"}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"the method admin_nodeInfo does not exist/is not available"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b, err := post(t, p.URL, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %d", resp.StatusCode)
			}
			if string(b) != tt.want {
				t.Errorf("answer\n got %s\nwant %s", b, tt.want)
			}
		})
	}

	resp, err := http.Get(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: HTTP %d, want 405", resp.StatusCode)
	}
}
