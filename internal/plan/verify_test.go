package plan

import (
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

func TestStrictVerifyPolicy(t *testing.T) {
	off := false
	strict := config.Verify{Mode: config.VerifyStrict, AllowUnverified: []string{"debug_*", "eth_estimateGas"}}
	noEVM := strict
	noEVM.EVM.Enabled = &off
	for _, tt := range []struct {
		v              config.Verify
		method, params string
		verify         bool
		code           int // refused with this code; 0: served
		msg            string
	}{
		{strict, "eth_getBalance", `["0x0000000000000000000000000000000000000001","latest"]`, true, 0, ""},
		{strict, "eth_getLogs", `[{}]`, true, 0, ""},
		{strict, "eth_chainId", `[]`, false, 0, ""},
		{strict, "eth_sendRawTransaction", `["0x01"]`, false, 0, ""},
		{strict, "eth_gasPrice", `[]`, false, 0, ""},
		{strict, "eth_call", `[{"to":"0x0000000000000000000000000000000000000001"},"latest"]`, true, 0, ""},
		{strict, "eth_estimateGas", `[{"to":"0x0000000000000000000000000000000000000001"}]`, true, 0, ""},
		{strict, "eth_createAccessList", `[{"to":"0x0000000000000000000000000000000000000001"}]`, true, 0, ""},
		{noEVM, "eth_call", `[{"to":"0x0000000000000000000000000000000000000001"},"latest"]`, false, jsonrpc.CodeUnverifiable,
			"eth_call is refused: eth_call is answered by braid's local EVM, and the local EVM is off (verify.evm.enabled: false)"},
		{noEVM, "eth_estimateGas", `[{"to":"0x0000000000000000000000000000000000000001"}]`, false, 0, ""}, // allowed unverified
		{strict, "debug_traceTransaction", `["0x00"]`, false, 0, ""},
		{strict, "eth_newFilter", `[{}]`, false, 0, ""}, // braid keeps filters, fed by its verified stream
		{strict, "eth_subscribe", `["newHeads"]`, false, 0, ""},
		{strict, "eth_syncing", `[]`, false, jsonrpc.CodeUnverifiable, "eth_syncing is refused: it is a node's own sync state"},
		{strict, "eth_getUncleCountByBlockHash", `["0x0000000000000000000000000000000000000000000000000000000000000000"]`, false,
			jsonrpc.CodeUnverifiable, "eth_getUncleCountByBlockHash is refused: braid cannot check its answer"},
		{strict, "trace_block", `["latest"]`, false, jsonrpc.CodeMethodNotFound, "the method trace_block does not exist/is not available"},
		{strict, "eth_foo", `[]`, false, jsonrpc.CodeMethodNotFound, "the method eth_foo does not exist/is not available"},
	} {
		p := NewPlanner(config.Methods{}, nil).WithVerify(tt.v)
		pl, err := p.Plan(&jsonrpc.Request{Method: tt.method, Params: []byte(tt.params)})
		switch {
		case tt.code != 0:
			if err == nil || err.Code != tt.code || !strings.HasPrefix(err.Message, tt.msg) {
				t.Errorf("%s: err %v, want %d %q", tt.method, err, tt.code, tt.msg)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.method, err)
		case pl.Verify != tt.verify:
			t.Errorf("%s: Verify %v, want %v", tt.method, pl.Verify, tt.verify)
		}
	}
	offPlanner := NewPlanner(config.Methods{}, nil).WithVerify(config.Verify{Mode: config.VerifyOff})
	if pl, err := offPlanner.Plan(&jsonrpc.Request{Method: "eth_call", Params: []byte(`[{}]`)}); err != nil || pl.Verify {
		t.Errorf("off: %v %v", pl, err)
	}
	if pl, err := offPlanner.Plan(&jsonrpc.Request{Method: "trace_block", Params: []byte(`[]`)}); err != nil || pl.Verify {
		t.Errorf("off forwards unknown methods: %v %v", pl, err)
	}
	if !ServedUnchecked(config.Verify{AllowUnverified: []string{"eth_call"}, EVM: config.EVM{Enabled: &off}}, "eth_call") ||
		ServedUnchecked(config.Verify{AllowUnverified: []string{"eth_call"}}, "eth_call") ||
		ServedUnchecked(config.Verify{}, "eth_getBalance") || !ServedUnchecked(config.Verify{}, "eth_gasPrice") {
		t.Error("ServedUnchecked")
	}
}

// TestMethodProofs: /status's table lists every method braid knows once,
// in the class strict mode serves it in, with a reason for each refusal;
// without a chain configuration the EVM's methods are refused, saying so.
func TestMethodProofs(t *testing.T) {
	p := NewPlanner(config.Methods{}, nil).WithVerify(config.Verify{Mode: config.VerifyStrict, AllowUnverified: []string{"debug_*"}})
	mp := p.Proofs()
	seen := map[string]string{}
	add := func(class string, names []string) {
		for _, n := range names {
			if seen[n] != "" {
				t.Errorf("%s listed as %s and %s", n, seen[n], class)
			}
			seen[n] = class
		}
	}
	add("proven", mp.Proven)
	add("derived", mp.Derived)
	add("quorum_only", mp.QuorumOnly)
	for n, why := range mp.Refused {
		add("refused", []string{n})
		if why == "" {
			t.Errorf("%s refused without a reason", n)
		}
	}
	for name := range methods {
		if seen[name] == "" {
			t.Errorf("%s missing", name)
		}
	}
	for m, want := range map[string]string{"eth_call": "proven", "eth_getLogs": "proven", "eth_blockNumber": "derived",
		"eth_blobBaseFee": "derived", "eth_gasPrice": "quorum_only", "debug_*": "quorum_only", "eth_syncing": "refused"} {
		if seen[m] != want {
			t.Errorf("%s: %s, want %s", m, seen[m], want)
		}
	}
	p.WithoutEVM("there is no chain configuration for chain id 99 (set verify.evm.chain_config)")
	if why := p.Proofs().Refused["eth_estimateGas"]; !strings.Contains(why, "chain id 99") {
		t.Errorf("without a chain configuration: %q", why)
	}
	if NewPlanner(config.Methods{}, nil).Proofs() != nil {
		t.Error("a planner that is not strict lists proofs")
	}
}
