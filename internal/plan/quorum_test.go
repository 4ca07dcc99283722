package plan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

func TestQuorumPolicy(t *testing.T) {
	p, err := NewQuorumPolicy(config.Quorum{K: 2, Methods: map[string]config.MethodQuorum{
		"eth_getLogs":        {K: 3},
		"block":              {IgnoreFields: []string{"totalDifficulty"}},
		"eth_getBlockByHash": {K: 4},
		"state":              {K: 3},
		"eth_getBalance":     {IgnoreFields: []string{"x"}},
		"debug_traceCall":    {},
		"eth_feeHistory":     {K: 2},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method string
		want   Quorum
	}{
		{"eth_call", Quorum{K: 2}},     // network k, eligible
		{"eth_gasPrice", Quorum{K: 1}}, // not eligible
		{"eth_getLogs", Quorum{K: 3}},  // method entry
		{"eth_getBlockByNumber", Quorum{K: 2, Ignore: []string{"totalDifficulty"}}}, // group ignore, network k
		{"eth_getBlockByHash", Quorum{K: 4, Ignore: []string{"totalDifficulty"}}},   // method k, group ignore
		{"eth_getBlockReceipts", Quorum{K: 2, Ignore: []string{"totalDifficulty"}}}, // joined through its group
		{"eth_getCode", Quorum{K: 3}},                           // group k
		{"eth_getBalance", Quorum{K: 2, Ignore: []string{"x"}}}, // method entry: network k
		{"debug_traceCall", Quorum{K: 2}},                       // named: eligible
		{"eth_feeHistory", Quorum{K: 2}},
		{"eth_chainId", Quorum{K: 1}},
	} {
		if got := p.For(tt.method); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("For(%s) = %+v, want %+v", tt.method, got, tt.want)
		}
	}
	if got := p.Methods(); got["eth_call"] != 2 || got["eth_getLogs"] != 3 || got["eth_gasPrice"] != 0 || got["debug_traceCall"] != 2 {
		t.Errorf("Methods() = %v", got)
	}
	var none *QuorumPolicy
	if got := none.For("eth_call"); got.K != 1 {
		t.Errorf("nil policy: %+v", got)
	}
}

func TestQuorumPolicyRejects(t *testing.T) {
	for name, want := range map[string]string{
		"eth_sendRawTransaction": "eth_sendRawTransaction is a write call",
		"eth_newFilter":          "eth_newFilter is a filter_install call",
		"eth_chainId":            "eth_chainId is a local call",
		"write":                  `"write" is not a group quorum applies to`,
	} {
		_, err := NewQuorumPolicy(config.Quorum{K: 2, Methods: map[string]config.MethodQuorum{name: {K: 2}}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", name, err, want)
		}
	}
}

func TestPlanCarriesQuorum(t *testing.T) {
	q, _ := NewQuorumPolicy(config.Quorum{K: 2})
	p := NewPlanner(config.Methods{}, q)
	for method, k := range map[string]int{"eth_getBalance": 2, "eth_blockNumber": 1, "unknown_method": 1} {
		params := `["0x0000000000000000000000000000000000000000","latest"]`
		if method != "eth_getBalance" {
			params = `[]`
		}
		pl, err := p.Plan(&jsonrpc.Request{Method: method, Params: []byte(params)})
		if err != nil {
			t.Fatal(err)
		}
		if pl.Quorum.K != k {
			t.Errorf("%s: K %d, want %d", method, pl.Quorum.K, k)
		}
	}
}
