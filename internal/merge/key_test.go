package merge

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// CallKey builds in one allocation the key the concatenation built.
func TestCallKey(t *testing.T) {
	hash := common.HexToHash("0x00ab0000000000000000000000000000000000000000000000000000000000ff")
	params := []byte(`["0x01","latest"]`)
	want := "\x00call|eth_getBalance|" + string(params) + "@" + hash.Hex()
	if got := CallKey("eth_getBalance", params, hash); got != want {
		t.Fatalf("key %q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(10, func() { _ = CallKey("eth_getBalance", params, hash) }); n > 1 {
		t.Fatalf("%v allocations, want 1", n)
	}
}
