package plan

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

const (
	addr = `"0x52908400098527886e0f7030069857d2e4169ee7"`
	hash = `"0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b"`
)

func req(method, params string) *jsonrpc.Request {
	r := &jsonrpc.Request{ID: json.RawMessage("1"), Method: method}
	if params != "" {
		r.Params = json.RawMessage(params)
	}
	return r
}

func hexOf(nDigits int) string { return `"0x` + strings.Repeat("a", nDigits) + `"` }

func TestPlanUnknownMethodForwardedUnchecked(t *testing.T) {
	p := NewPlanner(config.Methods{}, nil)
	for _, params := range []string{"", `{"by":"name"}`, `[1,"x",{}]`, `[]`} {
		r := req("debug_traceTransaction", params)
		pl, err := p.Plan(r)
		if err != nil {
			t.Fatalf("%s: %v", params, err)
		}
		if pl.Kind != Forward || pl.Spec != nil || pl.Method != "debug_traceTransaction" || pl.Args != nil {
			t.Errorf("%s: plan %+v", params, pl)
		}
		if string(pl.Params) != params {
			t.Errorf("params = %q, want %q unchanged", pl.Params, params)
		}
	}
}

func TestPlanPolicy(t *testing.T) {
	tests := []struct {
		name    string
		policy  config.Methods
		allowed []string
		refused []string
	}{
		{"no policy forwards everything", config.Methods{},
			[]string{"eth_chainId", "debug_traceTransaction", "txpool_content", "eth_simulateV1", "anything"}, nil},
		{"allow list", config.Methods{Allow: []string{"eth_chainId", "eth_getBalance"}},
			[]string{"eth_chainId", "eth_getBalance"}, []string{"eth_call", "eth_chainIdX", "ETH_CHAINID", "debug_x"}},
		{"allow prefix", config.Methods{Allow: []string{"eth_*", "net_version"}},
			[]string{"eth_call", "eth_", "eth_getLogs", "net_version"}, []string{"net_listening", "debug_x", "eth", "Eth_call"}},
		{"deny prefix", config.Methods{Deny: []string{"debug_*", "txpool_*"}},
			[]string{"eth_call", "trace_block", "debugx"}, []string{"debug_traceTransaction", "debug_", "txpool_content"}},
		{"deny exact", config.Methods{Deny: []string{"eth_sendRawTransaction"}},
			[]string{"eth_sendRawTransactionSync", "eth_sendRawTransactionX"}, []string{"eth_sendRawTransaction"}},
		{"deny ignores case", config.Methods{Deny: []string{"debug_*", "eth_sendRawTransaction"}},
			[]string{"eth_call"}, []string{"Debug_traceTransaction", "DEBUG_traceCall", "eth_SendRawTransaction"}},
		{"deny wins over allow", config.Methods{Allow: []string{"debug_*", "eth_chainId"}, Deny: []string{"debug_traceCall"}},
			[]string{"debug_traceTransaction", "eth_chainId"}, []string{"debug_traceCall", "eth_blockNumber"}},
		{"deny wins over an exact allow", config.Methods{Allow: []string{"eth_call"}, Deny: []string{"eth_*"}},
			nil, []string{"eth_call"}},
		{"deny everything", config.Methods{Deny: []string{"*"}},
			nil, []string{"eth_chainId", "x"}},
		{"allow everything", config.Methods{Allow: []string{"*"}},
			[]string{"eth_chainId", "x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPlanner(tt.policy, nil)
			for _, m := range tt.allowed {
				if _, err := p.Plan(req(m, "")); err != nil && err.Code == jsonrpc.CodeMethodNotFound {
					t.Errorf("%s refused: %s", m, err.Message)
				}
			}
			for _, m := range tt.refused {
				pl, err := p.Plan(req(m, ""))
				if err == nil {
					t.Errorf("%s allowed: %+v", m, pl)
					continue
				}
				want := fmt.Sprintf("the method %s is not allowed on this endpoint", m)
				if err.Code != jsonrpc.CodeMethodNotFound || err.Message != want {
					t.Errorf("%s: got %d %q, want %d %q", m, err.Code, err.Message, jsonrpc.CodeMethodNotFound, want)
				}
			}
		})
	}
}

// TestPlanNodePrivateMethods: methods that use or change a node's own keys
// or administration are refused by default, with a message that says how
// to allow them; methods.allow must name them (or their group), a broad
// pattern is not enough; deny still wins.
func TestPlanNodePrivateMethods(t *testing.T) {
	private := []string{
		"admin_peers", "admin_addPeer", "admin_startHTTP", "personal_unlockAccount", "personal_sign",
		"miner_setEtherbase", "engine_newPayloadV4", "engine_forkchoiceUpdatedV3", "clique_propose", "les_serverInfo",
		"eth_sign", "eth_signTransaction", "eth_signTypedData", "eth_signTypedData_v4", "eth_sendTransaction", "eth_resend",
		"debug_setHead", "debug_setGCPercent", "debug_setBlockProfileRate", "debug_startCPUProfile",
		"debug_writeMemProfile", "debug_chaindbCompact", "debug_freeOSMemory", "debug_verbosity",
		"Admin_peers", "ETH_SIGN", "debug_SETHEAD",
	}
	public := []string{
		"eth_accounts", "eth_sendRawTransaction", "eth_call", "eth_simulateV1", "debug_traceTransaction",
		"debug_traceCall", "debug_getBadBlocks", "debug_getRawBlock", "txpool_content", "net_version",
	}
	p := NewPlanner(config.Methods{}, nil)
	for _, m := range private {
		_, err := p.Plan(req(m, ""))
		want := "the method " + m + " is not available on this endpoint: it uses or changes a node's own keys or administration; an operator can allow it in methods.allow"
		if err == nil || err.Code != jsonrpc.CodeMethodNotFound || err.Message != want {
			t.Errorf("%s: got %v, want -32601 %q", m, err, want)
		}
	}
	for _, m := range public {
		if _, err := p.Plan(req(m, "")); err != nil && err.Code == jsonrpc.CodeMethodNotFound {
			t.Errorf("%s refused: %s", m, err.Message)
		}
	}

	for _, tt := range []struct {
		allow   []string
		allowed []string
		refused []string
	}{
		{[]string{"admin_peers", "eth_sign"}, []string{"admin_peers", "eth_sign"}, []string{"admin_addPeer", "eth_signTransaction", "Admin_peers"}},
		{[]string{"admin_*", "eth_sign*", "debug_setHead*"}, []string{"admin_addPeer", "eth_signTypedData_v4", "debug_setHead"}, []string{"personal_sign", "debug_setGCPercent"}},
		{[]string{"*"}, []string{"eth_call", "debug_traceCall"}, []string{"admin_peers", "eth_sendTransaction"}},
		{[]string{"eth_*", "debug_*"}, []string{"eth_call", "debug_traceCall"}, []string{"eth_sign", "eth_sendTransaction", "debug_setHead"}},
		{[]string{"eth_s*"}, []string{"eth_sendRawTransaction"}, []string{"eth_sign", "eth_sendTransaction"}},
	} {
		p := NewPlanner(config.Methods{Allow: tt.allow}, nil)
		for _, m := range tt.allowed {
			if _, err := p.Plan(req(m, "")); err != nil && err.Code == jsonrpc.CodeMethodNotFound {
				t.Errorf("allow %v: %s refused: %s", tt.allow, m, err.Message)
			}
		}
		for _, m := range tt.refused {
			if _, err := p.Plan(req(m, "")); err == nil || err.Code != jsonrpc.CodeMethodNotFound {
				t.Errorf("allow %v: %s not refused (%v)", tt.allow, m, err)
			}
		}
	}
	// Deny wins over an explicit allow.
	p = NewPlanner(config.Methods{Allow: []string{"admin_peers"}, Deny: []string{"admin_*"}}, nil)
	if _, err := p.Plan(req("admin_peers", "")); err == nil || !strings.Contains(err.Message, "not allowed") {
		t.Errorf("deny did not win: %v", err)
	}
}

// TestPlanParams checks each param kind through a method that uses it.
func TestPlanParams(t *testing.T) {
	tests := []struct {
		method string
		params string
		err    string // substring of the -32602 message; "" when accepted
	}{
		// Address (eth_getBalance param 0).
		{"eth_getBalance", `[` + addr + `]`, ""},
		{"eth_getBalance", `[` + addr + `,"latest"]`, ""},
		{"eth_getBalance", `["0X52908400098527886E0F7030069857D2E4169EE7"]`, ""},
		{"eth_getBalance", `[` + hexOf(38) + `]`, "param 0 (address): expected 20 bytes, got 19"},
		{"eth_getBalance", `[` + hexOf(42) + `]`, "param 0 (address): expected 20 bytes, got 21"},
		{"eth_getBalance", `[` + hexOf(39) + `]`, "odd number of hex digits"},
		{"eth_getBalance", `["0x"]`, "expected 20 bytes, got 0"},
		{"eth_getBalance", `["52908400098527886e0f7030069857d2e4169ee7"]`, "0x-prefixed"},
		{"eth_getBalance", `["0x52908400098527886e0f7030069857d2e4169eeg"]`, "invalid hex digit 'g'"},
		{"eth_getBalance", `[1]`, "expected a hex string"},
		{"eth_getBalance", `[{}]`, "expected a hex string"},

		// Hash (eth_getTransactionByHash param 0).
		{"eth_getTransactionByHash", `[` + hash + `]`, ""},
		{"eth_getTransactionByHash", `[` + hexOf(62) + `]`, "param 0 (hash): expected 32 bytes, got 31"},
		{"eth_getTransactionByHash", `[` + hexOf(66) + `]`, "expected 32 bytes, got 33"},
		{"eth_getTransactionByHash", `[` + addr + `]`, "expected 32 bytes, got 20"},

		// Quantity (eth_getTransactionByBlockHashAndIndex param 1).
		{"eth_getTransactionByBlockHashAndIndex", `[` + hash + `,"0x0"]`, ""},
		{"eth_getTransactionByBlockHashAndIndex", `[` + hash + `,"0x1f"]`, ""},
		{"eth_getTransactionByBlockHashAndIndex", `[` + hash + `,"0x0001"]`, ""}, // leading zeros allowed
		{"eth_getTransactionByBlockHashAndIndex", `[` + hash + `,"0XAB"]`, ""},
		{"eth_getTransactionByBlockHashAndIndex", `[` + hash + `,` + hexOf(64) + `]`, ""},
		{"eth_getTransactionByBlockHashAndIndex", `[` + hash + `,` + hexOf(65) + `]`, "param 1 (quantity): hex number longer than 256 bits"},
		{"eth_getTransactionByBlockHashAndIndex", `[` + hash + `,"0x"]`, "0x-prefixed hex number"},
		{"eth_getTransactionByBlockHashAndIndex", `[` + hash + `,"0xg"]`, "invalid hex digit"},
		{"eth_getTransactionByBlockHashAndIndex", `[` + hash + `,"1"]`, "0x-prefixed hex number"},
		{"eth_getTransactionByBlockHashAndIndex", `[` + hash + `,1]`, "expected a hex string"},
		{"eth_getFilterChanges", `["0x1"]`, ""},
		{"eth_getFilterChanges", `[""]`, "param 0 (quantity)"},

		// Data (eth_sendRawTransaction param 0).
		{"eth_sendRawTransaction", `["0x02f8"]`, ""},
		{"eth_sendRawTransaction", `["0x"]`, ""},
		{"eth_sendRawTransaction", `["0x02f"]`, "param 0 (data): odd number of hex digits"},
		{"eth_sendRawTransaction", `["0xzz"]`, "invalid hex digit"},
		{"eth_sendRawTransaction", `["02f8"]`, "0x-prefixed"},
		{"eth_sendRawTransaction", `[null]`, "expected a hex string"},

		// Bool (eth_getBlockByNumber param 1).
		{"eth_getBlockByNumber", `["latest",true]`, ""},
		{"eth_getBlockByNumber", `["latest",false]`, ""},
		{"eth_getBlockByNumber", `["latest","true"]`, "param 1 (bool): expected true or false"},
		{"eth_getBlockByNumber", `["latest",1]`, "expected true or false"},

		// Object (eth_call param 0) and Array (eth_getProof param 1).
		{"eth_call", `[{}]`, ""},
		{"eth_call", `[{"to":` + addr + `},"latest",{},{}]`, ""},
		{"eth_call", `[[]]`, "param 0 (object): expected a JSON object"},
		{"eth_call", `["x"]`, "expected a JSON object"},
		{"eth_getProof", `[` + addr + `,[],"latest"]`, ""},
		{"eth_getProof", `[` + addr + `,{}]`, "param 1 (array): expected a JSON array"},

		// BlockNumber (eth_getBlockByNumber param 0): no hashes, no objects.
		{"eth_getBlockByNumber", `["latest"]`, ""},
		{"eth_getBlockByNumber", `["earliest"]`, ""},
		{"eth_getBlockByNumber", `["pending"]`, ""},
		{"eth_getBlockByNumber", `["safe"]`, ""},
		{"eth_getBlockByNumber", `["finalized"]`, ""},
		{"eth_getBlockByNumber", `["l\u0061test"]`, ""},
		{"eth_getBlockByNumber", `["0x0"]`, ""},
		{"eth_getBlockByNumber", `["0x10d4f"]`, ""},
		{"eth_getBlockByNumber", `["Latest"]`, "param 0 (block number): expected a block number or one of"},
		{"eth_getBlockByNumber", `["latest "]`, "expected a block number"},
		{"eth_getBlockByNumber", `[""]`, "expected a block number"},
		{"eth_getBlockByNumber", `["0x"]`, "expected a block number"},
		{"eth_getBlockByNumber", `[1]`, "expected a block number"},
		{"eth_getBlockByNumber", `[` + hexOf(65) + `]`, "expected a block number"},
		{"eth_getBlockByNumber", `[{"blockNumber":"0x1"}]`, "expected a block number"},

		// Block (eth_getBalance param 1): numbers, tags, hashes, EIP-1898.
		{"eth_getBalance", `[` + addr + `,"safe"]`, ""},
		{"eth_getBalance", `[` + addr + `,"0x1"]`, ""},
		{"eth_getBalance", `[` + addr + `,` + hash + `]`, ""},
		{"eth_getBalance", `[` + addr + `,"0x"]`, "param 1 (block): expected a block number, a tag, a block hash"},
		{"eth_getBalance", `[` + addr + `,"head"]`, "expected a block number, a tag, a block hash"},
		{"eth_getBalance", `[` + addr + `,` + hexOf(65) + `]`, "expected a block number, a tag, a block hash"},
		{"eth_getBalance", `[` + addr + `,true]`, "expected a block number, a tag, a block hash"},
		{"eth_getBalance", `[` + addr + `,[]]`, "expected a block number, a tag, a block hash"},
		{"eth_getBalance", `[` + addr + `,{"blockHash":` + hash + `}]`, ""},
		{"eth_getBalance", `[` + addr + `,{"blockHash":` + hash + `,"requireCanonical":true}]`, ""},
		{"eth_getBalance", `[` + addr + `,{"blockHash":` + hash + `,"requireCanonical":false}]`, ""},
		{"eth_getBalance", `[` + addr + `,{"blockNumber":"0x1"}]`, ""},
		{"eth_getBalance", `[` + addr + `,{"blockNumber":"finalized"}]`, ""},
		{"eth_getBalance", `[` + addr + `,{"blockNumber":"0x1","requireCanonical":true}]`, ""},
		{"eth_getBalance", `[` + addr + `,{"blockHash":null,"blockNumber":"0x1"}]`, ""},
		{"eth_getBalance", `[` + addr + `,{"blockHash":` + hash + `,"blockNumber":null,"requireCanonical":null}]`, ""},
		{"eth_getBalance", `[` + addr + `,{"blockHash":` + hash + `,"blockNumber":"0x1"}]`, "block object: give blockHash or blockNumber, not both"},
		{"eth_getBalance", `[` + addr + `,{}]`, "block object: needs blockHash or blockNumber"},
		{"eth_getBalance", `[` + addr + `,{"requireCanonical":true}]`, "block object: needs blockHash or blockNumber"},
		{"eth_getBalance", `[` + addr + `,{"blockHash":null}]`, "block object: needs blockHash or blockNumber"},
		{"eth_getBalance", `[` + addr + `,{"blockHash":` + hash + `,"requireCanonical":"yes"}]`, "requireCanonical must be true or false"},
		{"eth_getBalance", `[` + addr + `,{"blockHash":` + hash + `,"requireCanonical":1}]`, "requireCanonical must be true or false"},
		{"eth_getBalance", `[` + addr + `,{"blockNumber":"0x1","requireCanonical":"yes"}]`, "requireCanonical must be true or false"},
		{"eth_getBalance", `[` + addr + `,{"blockNumber":"latest","requireCanonical":"yes"}]`, "requireCanonical must be true or false"},
		{"eth_getBalance", `[` + addr + `,{"blockHash":"0x01"}]`, "block object: blockHash: expected 32 bytes, got 1"},
		{"eth_getBalance", `[` + addr + `,{"blockHash":"latest"}]`, "block object: blockHash"},
		{"eth_getBalance", `[` + addr + `,{"blockNumber":"0x"}]`, "block object: blockNumber"},
		{"eth_getBalance", `[` + addr + `,{"blockNumber":1}]`, "block object: blockNumber"},
		{"eth_getBalance", `[` + addr + `,{"blockNumber":` + hash + `,"x":1}]`, ""}, // 64 digits is a quantity
		{"eth_getBlockReceipts", `[` + hash + `]`, ""},
		{"eth_getBlockReceipts", `[{"blockHash":` + hash + `}]`, ""},

		// Slot (eth_getStorageAt param 1): a quantity or up to 32 bytes of hex.
		{"eth_getStorageAt", `[` + addr + `,"0x0"]`, ""},
		{"eth_getStorageAt", `[` + addr + `,"0x0","latest"]`, ""},
		{"eth_getStorageAt", `[` + addr + `,"0x00000000000000000000000000000000000000000000000000000000000000ff"]`, ""},
		{"eth_getStorageAt", `[` + addr + `,` + hexOf(64) + `,` + hash + `]`, ""},
		{"eth_getStorageAt", `[` + addr + `,"0x"]`, ""}, // slot 0, as go-ethereum reads it
		{"eth_getStorageAt", `[` + addr + `,` + hexOf(65) + `]`, "param 1 (storage slot): expected at most 32 bytes, got 33"},
		{"eth_getStorageAt", `[` + addr + `,"0xzz"]`, "param 1 (storage slot): invalid hex digit"},
		{"eth_getStorageAt", `[` + addr + `,0]`, "param 1 (storage slot): expected a hex string"},

		// Any (eth_subscribe).
		{"eth_subscribe", `["newHeads"]`, ""},
		{"eth_subscribe", `["logs",{"address":` + addr + `}]`, ""},
		{"eth_subscribe", `[1,[true]]`, ""},

		// Counts.
		{"eth_getBalance", ``, "eth_getBalance needs at least 1 params, got 0"},
		{"eth_getBalance", `[]`, "eth_getBalance needs at least 1 params, got 0"},
		{"eth_getBalance", `null`, "eth_getBalance needs at least 1 params, got 0"},
		{"eth_getStorageAt", `[` + addr + `]`, "eth_getStorageAt needs at least 2 params, got 1"},
		{"eth_getBalance", `[` + addr + `,"latest",1]`, "eth_getBalance takes at most 2 params, got 3"},
		{"eth_chainId", `[]`, ""},
		{"eth_chainId", `["x"]`, "eth_chainId takes at most 0 params, got 1"},
		{"eth_call", `[{},"latest",{},{},{}]`, "eth_call takes at most 4 params, got 5"},

		// By-name params for a known method.
		{"eth_getBalance", `{"address":` + addr + `}`, "invalid params: eth_getBalance: params must be an array"},
		{"eth_chainId", `{}`, "params must be an array"},

		// Explicit null: absent when optional, checked when required.
		{"eth_getBalance", `[` + addr + `,null]`, ""},
		{"eth_getBlockByNumber", `["0x1",null]`, ""},
		{"eth_call", `[{},null,null,null]`, ""},
		{"eth_getBalance", `[null]`, "param 0 (address): expected a hex string"},
		{"eth_call", `[null]`, "param 0 (object): expected a JSON object"},
		{"eth_getBlockByNumber", `[null]`, "param 0 (block number)"},
		{"eth_subscribe", `[null]`, ""}, // Any
	}
	p := NewPlanner(config.Methods{}, nil)
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.params, func(t *testing.T) {
			r := req(tt.method, tt.params)
			pl, err := p.Plan(r)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("accepted, want %q", tt.err)
				}
				if err.Code != jsonrpc.CodeInvalidParams || !strings.Contains(err.Message, tt.err) {
					t.Fatalf("got %d %q, want %d containing %q", err.Code, err.Message, jsonrpc.CodeInvalidParams, tt.err)
				}
				if !strings.HasPrefix(err.Message, "invalid params: "+tt.method) {
					t.Errorf("message %q does not name the method", err.Message)
				}
				return
			}
			if err != nil {
				t.Fatalf("rejected: %d %s", err.Code, err.Message)
			}
			spec := Lookup(tt.method)
			if pl.Spec != spec || pl.Kind != spec.Kind || pl.Method != tt.method {
				t.Errorf("plan %+v", pl)
			}
			if string(pl.Params) != tt.params {
				t.Errorf("params changed: %q", pl.Params)
			}
			want, _ := r.ParamList()
			if len(pl.Args) != len(want) {
				t.Fatalf("args %q, want %q", pl.Args, want)
			}
			for i := range want {
				if string(pl.Args[i]) != string(want[i]) {
					t.Errorf("arg %d = %s, want %s", i, pl.Args[i], want[i])
				}
			}
		})
	}
}

func TestMethodTable(t *testing.T) {
	tests := []struct {
		method     string
		kind       Kind
		blockParam int
	}{
		{"eth_chainId", Local, -1},
		{"web3_clientVersion", Local, -1},
		{"net_version", Static, -1},
		{"eth_sendRawTransaction", Write, -1},
		{"eth_newFilter", FilterInstall, -1},
		{"eth_newBlockFilter", FilterInstall, -1},
		{"eth_getFilterChanges", FilterUse, -1},
		{"eth_uninstallFilter", FilterUse, -1},
		{"eth_subscribe", Subscribe, -1},
		{"eth_unsubscribe", Subscribe, -1},
		{"eth_getBalance", Forward, 1},
		{"eth_getStorageAt", Forward, 2},
		{"eth_call", Forward, 1},
		{"eth_getBlockByNumber", Forward, 0},
		{"eth_getLogs", Forward, -1},
		{"eth_feeHistory", Forward, 1},
		{"eth_getBlockReceipts", Forward, 0},
		{"eth_getBlockByHash", Forward, -1},
	}
	p := NewPlanner(config.Methods{}, nil)
	for _, tt := range tests {
		spec := Lookup(tt.method)
		if spec == nil {
			t.Errorf("%s: not in the table", tt.method)
			continue
		}
		if spec.Kind != tt.kind {
			t.Errorf("%s: kind %s, want %s", tt.method, spec.Kind, tt.kind)
		}
		if spec.BlockParam != tt.blockParam {
			t.Errorf("%s: block param %d, want %d", tt.method, spec.BlockParam, tt.blockParam)
		}
		// The plan carries the same kind for a call with no params where
		// none are required.
		if spec.Required == 0 {
			if pl, err := p.Plan(req(tt.method, "")); err != nil || pl.Kind != tt.kind {
				t.Errorf("%s: plan %+v, %v", tt.method, pl, err)
			}
		}
	}
	if Lookup("eth_simulateV1") != nil || Lookup("ETH_CHAINID") != nil {
		t.Error("Lookup knows a method it should not")
	}
}

// TestMethodTableConsistent checks every entry of the table.
func TestMethodTableConsistent(t *testing.T) {
	if len(methods) < 30 {
		t.Fatalf("only %d methods", len(methods))
	}
	for name, m := range methods {
		if m.Name != name {
			t.Errorf("%s: entry named %s", name, m.Name)
		}
		if m.Required < 0 || m.Required > len(m.Params) {
			t.Errorf("%s: %d required of %d params", name, m.Required, len(m.Params))
		}
		want := slices.IndexFunc(m.Params, func(p Param) bool { return p == Block || p == BlockNumber })
		if m.BlockParam != want {
			t.Errorf("%s: BlockParam %d, want %d", name, m.BlockParam, want)
		}
		if m.Kind.String() == "unknown" {
			t.Errorf("%s: kind %d has no name", name, m.Kind)
		}
		for i, p := range m.Params {
			if p != Any && p.String() == "value" {
				t.Errorf("%s: param %d kind %d has no name", name, i, p)
			}
		}
	}
}

func TestKindAndParamStrings(t *testing.T) {
	kinds := map[Kind]string{Forward: "forward", Local: "local", Static: "static", Write: "write",
		FilterInstall: "filter_install", FilterUse: "filter_use", Subscribe: "subscribe", Kind(99): "unknown"}
	for k, want := range kinds {
		if k.String() != want {
			t.Errorf("Kind(%d) = %q, want %q", k, k.String(), want)
		}
	}
	params := map[Param]string{Any: "value", Address: "address", Hash: "hash", Quantity: "quantity", Data: "data",
		Bool: "bool", Object: "object", Array: "array", Block: "block", BlockNumber: "block number", Slot: "storage slot"}
	for p, want := range params {
		if p.String() != want {
			t.Errorf("Param(%d) = %q, want %q", p, p.String(), want)
		}
	}
}

// TestPlanFromDecode runs the planner on what the decoder produces, the way
// the server chains them.
func TestPlanFromDecode(t *testing.T) {
	body := `[{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[` + addr + `, "latest"]},
	          {"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":null},
	          {"jsonrpc":"2.0","id":3,"method":"eth_getBlockByNumber","params":[ "0x1" , false ]}]`
	msg, errResp := jsonrpc.Decode([]byte(body), 0)
	if errResp != nil {
		t.Fatal(errResp.Error)
	}
	p := NewPlanner(config.Methods{}, nil)
	wantErr := []bool{false, true, false}
	for i, m := range msg.Members {
		_, err := p.Plan(m.Req)
		if (err != nil) != wantErr[i] {
			t.Errorf("member %d: err %v", i, err)
		}
	}
}

func FuzzPlan(f *testing.F) {
	names := make([]string, 0, len(methods)+1)
	for name := range methods {
		names = append(names, name)
	}
	slices.Sort(names)
	names = append(names, "debug_traceTransaction") // not in the table

	for i, params := range []string{
		`[]`, `[` + addr + `,"latest"]`, `[` + addr + `,{"blockHash":` + hash + `,"requireCanonical":true}]`,
		`[{"blockNumber":"latest","requireCanonical":"x"}]`, `[null,null,null,null]`, `["0x","0x0",""]`,
		`[{"to":` + addr + `},{"blockNumber":null}]`, `[1e400, -0, "\u0030x1"]`, `[[[]],{"":{}}]`,
		`["\ud800", "0x` + strings.Repeat("f", 64) + `"]`,
	} {
		f.Add(uint8(i*7), []byte(params))
	}
	p := NewPlanner(config.Methods{Deny: []string{"admin_*"}}, nil)
	f.Fuzz(func(t *testing.T, which uint8, params []byte) {
		if !json.Valid(params) || !strings.HasPrefix(strings.TrimLeft(string(params), " \t\r\n"), "[") {
			t.Skip()
		}
		method := names[int(which)%len(names)]
		r := &jsonrpc.Request{ID: json.RawMessage("1"), Method: method, Params: params}
		pl, err := p.Plan(r)
		spec := Lookup(method)
		if err != nil {
			if err.Code != jsonrpc.CodeInvalidParams || spec == nil {
				t.Fatalf("%s %s: %d %s", method, params, err.Code, err.Message)
			}
			if out := jsonrpc.ErrorResponse(r.ID, err).AppendJSON(nil); !json.Valid(out) {
				t.Fatalf("invalid JSON answer %q", out)
			}
			return
		}
		if pl.Spec != spec || pl.Method != method || string(pl.Params) != string(params) {
			t.Fatalf("plan %+v", pl)
		}
		if spec == nil {
			if pl.Kind != Forward || pl.Args != nil {
				t.Fatalf("unknown method planned %+v", pl)
			}
			return
		}
		if pl.Kind != spec.Kind || len(pl.Args) < spec.Required || len(pl.Args) > len(spec.Params) {
			t.Fatalf("%s: %d args for %d..%d", method, len(pl.Args), spec.Required, len(spec.Params))
		}
	})
}
