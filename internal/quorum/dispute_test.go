package quorum

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// A dispute's record names the call by a hash of its params (never the
// params), the pinned block and hash, and the upstream each loser
// answered through.
func TestOutcomeDispute(t *testing.T) {
	o := &Outcome{Decision: "majority", Losers: []string{"op-c"}, Answers: []Answer{
		{Operator: "op-a", Upstream: "a", Hash: "h1"},
		{Operator: "op-c", Upstream: "c1"},
		{Operator: "op-c", Upstream: "c2", Hash: "h2"},
	}}
	params := json.RawMessage(`["0xsecret-address","latest"]`)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	d := o.Dispute(at, "mainnet", "eth_getBalance", params, 7, common.Hash{1})
	if d.Time != at.UTC() || d.Network != "mainnet" || d.Block != 7 || d.BlockHash != (common.Hash{1}).Hex() || len(d.ParamsHash) != 16 {
		t.Fatalf("dispute %+v", d)
	}
	b, _ := json.Marshal(d)
	if strings.Contains(string(b), "secret-address") {
		t.Fatalf("the record shows the params: %s", b)
	}
	if d2 := o.Dispute(at, "mainnet", "eth_getBalance", params, 7, common.Hash{}); d2.BlockHash != "" || d2.ParamsHash != d.ParamsHash {
		t.Fatalf("unpinned by hash: %+v", d2)
	}
	if o.Upstream("op-c") != "c2" || o.Upstream("op-a") != "a" || o.Upstream("op-z") != "" {
		t.Fatal("Upstream names the upstream of an operator's answer")
	}
}
