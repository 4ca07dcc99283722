package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

func cachingFor(t *testing.T, p *Planner, method, params string, tip block.Tip) (*Plan, Caching) {
	t.Helper()
	pl, err := p.Plan(&jsonrpc.Request{Method: method, Params: json.RawMessage(params)})
	if err != nil {
		t.Fatalf("plan %s %s: %v", method, params, err)
	}
	pin := pl.Pin(tip, 5)
	return pl, pl.Caching(tip, pin)
}

func TestCaching(t *testing.T) {
	hash := `"` + common.HexToHash("0x1234").Hex() + `"`
	latest := "@" + testTip.Latest.Hash.Hex()
	safe := "@" + testTip.Safe.Hash.Hex()
	fin := "@" + testTip.Finalized.Hash.Hex()
	tests := []struct {
		name, method, params string
		keys                 []string // without the method prefix; nil: not cacheable
		followsTip           bool
	}{
		{"block by hash", "eth_getBlockByHash", `[` + hash + `, false]`, []string{`[` + hash + `,false]`}, false},
		{"finalized block by number", "eth_getBlockByNumber", `["0x10",false]`, []string{`["0x10",false]`}, false},
		{"block at the finalized tag", "eth_getBlockByNumber", `["finalized",true]`, []string{`["0x40",true]` + fin}, true},
		{"block above finalized by number", "eth_getBlockByNumber", `["0x50",false]`, []string{`["0x50",false]` + latest}, true},
		{"latest block", "eth_getBlockByNumber", `["latest",false]`, []string{`["0x64",false]` + latest}, true},
		{"safe block", "eth_getBlockByNumber", `["safe",false]`, []string{`["0x60",false]` + safe}, true},
		{"pending block", "eth_getBlockByNumber", `["pending",false]`, nil, false},
		{"earliest", "eth_getBlockByNumber", `["earliest",false]`, []string{`["earliest",false]`}, false},
		{"balance at latest is keyed by its hash", "eth_getBalance", `[` + pinAddr + `]`,
			[]string{`[` + pinAddr + `,` + latestObj + `]` + latest}, true},
		{"balance by block hash", "eth_getBalance", `[` + pinAddr + `,` + hash + `]`, []string{`[` + pinAddr + `,` + hash + `]`}, false},
		{"balance by EIP-1898 hash", "eth_getBalance", `[` + pinAddr + `,` + safeObj + `]`, []string{`[` + pinAddr + `,` + safeObj + `]`}, false},
		{"call at an old block", "eth_call", `[{"to":` + pinAddr + `},"0x1"]`, []string{`[{"to":` + pinAddr + `},"0x1"]`}, false},
		{"tx by hash: final or tip, by the answer", "eth_getTransactionByHash", `[` + hash + `]`,
			[]string{`[` + hash + `]`, `[` + hash + `]` + latest}, true},
		{"gas price per tip block", "eth_gasPrice", `[]`, []string{`[]` + latest}, true},
		{"finalized log range", "eth_getLogs", `[{"fromBlock":"0x1","toBlock":"0x20"}]`,
			[]string{`[{"fromBlock":"0x1","toBlock":"0x20"}]`}, true},
		{"log range to latest", "eth_getLogs", `[{"fromBlock":"0x1"}]`,
			[]string{`[{"fromBlock":"0x1","toBlock":"0x64"}]` + latest}, true},
		{"logs of a block hash", "eth_getLogs", `[{"blockHash":` + hash + `}]`, []string{`[{"blockHash":` + hash + `}]` + latest}, true},
		{"pending logs", "eth_getLogs", `[{"fromBlock":"pending"}]`, nil, false},
		{"syncing is about the node", "eth_syncing", `[]`, nil, false},
		{"peer count", "net_peerCount", `[]`, nil, false},
		{"block number is local", "eth_blockNumber", `[]`, nil, false},
		{"writes", "eth_sendRawTransaction", `["0x00"]`, nil, false},
		{"filters", "eth_getFilterChanges", `["0x1"]`, nil, false},
		{"unknown methods", "debug_traceTransaction", `[` + hash + `]`, nil, false},
	}
	p := NewPlanner(config.Methods{}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := cachingFor(t, p, tt.method, tt.params, testTip)
			if tt.keys == nil {
				if c.Cacheable() {
					t.Fatalf("cacheable with keys %q, want not", c.Keys)
				}
				return
			}
			want := make([]string, len(tt.keys))
			for i, k := range tt.keys {
				want[i] = tt.method + "|q1u|" + k
			}
			if strings.Join(c.Keys, "\n") != strings.Join(want, "\n") {
				t.Errorf("keys\n%s\nwant\n%s", strings.Join(c.Keys, "\n"), strings.Join(want, "\n"))
			}
			if c.FollowsTip != tt.followsTip {
				t.Errorf("FollowsTip = %v, want %v", c.FollowsTip, tt.followsTip)
			}
		})
	}
}

func TestCachingNeedsAKnownTip(t *testing.T) {
	_, c := cachingFor(t, NewPlanner(config.Methods{}, nil), "eth_getBlockByHash", `["`+common.HexToHash("0x1").Hex()+`",false]`, block.Tip{})
	if c.Cacheable() {
		t.Fatal("cacheable before the tip is known")
	}
}

func TestCachingKeySeparatesTrustPolicies(t *testing.T) {
	params := `["0x10",false]`
	_, plain := cachingFor(t, NewPlanner(config.Methods{}, nil), "eth_getBlockByNumber", params, testTip)
	qp, err := NewQuorumPolicy(config.Quorum{K: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, quorum := cachingFor(t, NewPlanner(config.Methods{}, qp), "eth_getBlockByNumber", params, testTip)
	_, strict := cachingFor(t, NewPlanner(config.Methods{}, nil).WithVerify(config.Verify{Mode: config.VerifyStrict}),
		"eth_getBlockByNumber", params, testTip)
	if plain.Keys[0] == quorum.Keys[0] || plain.Keys[0] == strict.Keys[0] || quorum.Keys[0] == strict.Keys[0] {
		t.Fatalf("keys shared across trust policies: %q %q %q", plain.Keys[0], quorum.Keys[0], strict.Keys[0])
	}
}

func TestCachingWhitespaceDoesNotSplitEntries(t *testing.T) {
	p := NewPlanner(config.Methods{}, nil)
	_, a := cachingFor(t, p, "eth_getBlockByNumber", `["0x10",false]`, testTip)
	_, b := cachingFor(t, p, "eth_getBlockByNumber", "[ \"0x10\",\n false ]", testTip)
	if a.Keys[0] != b.Keys[0] {
		t.Fatalf("%q != %q", a.Keys[0], b.Keys[0])
	}
}

func TestAdmit(t *testing.T) {
	p := NewPlanner(config.Methods{}, nil)
	hash := `"` + common.HexToHash("0x1234").Hex() + `"`
	latestBlock := `{"number":"0x64","hash":"` + testTip.Latest.Hash.Hex() + `"}`
	otherBlock := `{"number":"0x64","hash":"` + common.HexToHash("0xdead").Hex() + `"}`
	tests := []struct {
		name, method, params, result string
		want                         Lifetime
		wantKey                      int // index into Keys
	}{
		{"null is never kept", "eth_getBlockByHash", `[` + hash + `,false]`, `null`, NoCache, 0},
		{"block by hash", "eth_getBlockByHash", `[` + hash + `,false]`, `{"hash":` + hash + `}`, Final, 0},
		{"the pinned block", "eth_getBlockByNumber", `["latest",false]`, latestBlock, TipBound, 0},
		{"a block of another branch", "eth_getBlockByNumber", `["latest",false]`, otherBlock, NoCache, 0},
		{"pending transaction", "eth_getTransactionByHash", `[` + hash + `]`, `{"hash":` + hash + `,"blockNumber":null}`, NoCache, 0},
		{"final transaction", "eth_getTransactionByHash", `[` + hash + `]`, `{"hash":` + hash + `,"blockNumber":"0x40"}`, Final, 0},
		{"recent transaction", "eth_getTransactionReceipt", `[` + hash + `]`, `{"transactionHash":` + hash + `,"blockNumber":"0x41"}`, TipBound, 1},
		{"empty logs are an answer", "eth_getLogs", `[{"fromBlock":"0x1","toBlock":"0x2"}]`, `[]`, Final, 0},
		{"gas price", "eth_gasPrice", `[]`, `"0x1"`, TipBound, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := cachingFor(t, p, tt.method, tt.params, testTip)
			key, life := c.Admit(json.RawMessage(tt.result), testTip)
			if life != tt.want {
				t.Fatalf("lifetime %v, want %v", life, tt.want)
			}
			if life != NoCache && key != c.Keys[tt.wantKey] {
				t.Fatalf("key %q, want %q", key, c.Keys[tt.wantKey])
			}
		})
	}
}

func FuzzCaching(f *testing.F) {
	f.Add("eth_getBlockByNumber", `["latest",true]`, `{"hash":"0x01"}`)
	f.Add("eth_getTransactionReceipt", `["0x`+strings.Repeat("1", 64)+`"]`, `{"blockNumber":"0xffffffffffffffffff"}`)
	f.Add("eth_getLogs", `[{"fromBlock":"safe","toBlock":"finalized"}]`, `[]`)
	f.Add("eth_getBalance", `["0x0000000000000000000000000000000000000001",{"blockHash":"0x1"}]`, `"0x0"`)
	p := NewPlanner(config.Methods{}, nil)
	f.Fuzz(func(t *testing.T, method, params, result string) {
		pl, err := p.Plan(&jsonrpc.Request{Method: method, Params: json.RawMessage(params)})
		if err != nil {
			return
		}
		c := pl.Caching(testTip, pl.Pin(testTip, 5))
		key, life := c.Admit(json.RawMessage(result), testTip)
		if life != NoCache && !strings.HasPrefix(key, method+"|") {
			t.Fatalf("key %q does not name the method", key)
		}
	})
}
