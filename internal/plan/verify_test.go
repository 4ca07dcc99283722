package plan

import (
	"testing"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

func TestStrictVerifyPolicy(t *testing.T) {
	p := NewPlanner(config.Methods{}, nil).WithVerify(config.Verify{Mode: config.VerifyStrict, AllowUnverified: []string{"debug_*", "eth_estimateGas"}})
	for _, tt := range []struct {
		method, params string
		verify         bool
		refused        bool
	}{
		{"eth_getBalance", `["0x0000000000000000000000000000000000000001","latest"]`, true, false},
		{"eth_getLogs", `[{}]`, true, false},
		{"eth_chainId", `[]`, false, false},
		{"eth_sendRawTransaction", `["0x01"]`, false, false},
		{"eth_gasPrice", `[]`, false, false},
		{"eth_call", `[{"to":"0x0000000000000000000000000000000000000001"},"latest"]`, false, true},
		{"eth_estimateGas", `[{"to":"0x0000000000000000000000000000000000000001"}]`, false, false},
		{"debug_traceTransaction", `["0x00"]`, false, false},
		{"eth_newFilter", `[{}]`, false, false}, // braid keeps filters, fed by its verified stream
		{"eth_subscribe", `["newHeads"]`, false, false},
		{"trace_block", `["latest"]`, false, true},
	} {
		pl, err := p.Plan(&jsonrpc.Request{Method: tt.method, Params: []byte(tt.params)})
		switch {
		case tt.refused:
			if err == nil || err.Code != jsonrpc.CodeUnverifiable {
				t.Errorf("%s: err %v, want -32046", tt.method, err)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.method, err)
		case pl.Verify != tt.verify:
			t.Errorf("%s: Verify %v, want %v", tt.method, pl.Verify, tt.verify)
		}
	}
	off := NewPlanner(config.Methods{}, nil).WithVerify(config.Verify{Mode: config.VerifyOff})
	if pl, err := off.Plan(&jsonrpc.Request{Method: "eth_call", Params: []byte(`[{}]`)}); err != nil || pl.Verify {
		t.Errorf("off: %v %v", pl, err)
	}
	if !ServedUnchecked(config.Verify{AllowUnverified: []string{"eth_call"}}, "eth_call") || ServedUnchecked(config.Verify{}, "eth_getBalance") {
		t.Error("ServedUnchecked")
	}
}
