package evm

import (
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

func TestSmoke(t *testing.T) {
	e := testEnv(t)
	src := newDevSource(e.d.Providers()...)
	call := map[string]any{"to": e.tokens[0], "data": pack(t, e.tokenABI, "balanceOf", e.user)}
	for _, m := range []string{"eth_call", "eth_estimateGas", "eth_createAccessList"} {
		want := e.node(t, m, call, "latest")
		got, st := e.local(t, src, m, call, "latest")
		t.Logf("%s: node %s local %s stats %+v trips %d", m, want, got, st, src.trips.Load())
		if !sameAnswer(got, want) {
			t.Errorf("%s differs", m)
		}
	}
	_ = hexutil.Bytes{}
}
