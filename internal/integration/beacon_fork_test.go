package integration

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
)

// TestForkBlockByHashStrikesNobodyHonest: three providers on a fork the
// sync committee never signed, one honest; braid serves the signed chain.
// The fork's blocks, asked by hash, are null (not on braid's chain), and
// asking about them never makes the honest operator — which rightly
// answers null for a block it never saw — a liar (before, the fork's block
// was served on its own hash and the honest operator's null about it was
// struck until it was quarantined).
func TestForkBlockByHashStrikesNobodyHonest(t *testing.T) {
	c := newBeaconChain(t, 1, nil)
	fork := c.fork(t)
	ctx := context.Background()
	forkHead, _ := ethclient.NewClient(fork.RPC()).HeaderByNumber(ctx, nil)
	ups := append(fork.Upstreams(), c.dn.Upstreams()[0])
	ups[len(ups)-1].Name, ups[len(ups)-1].Operator = "honest", "honest-op"
	gw, url := beaconGateway(t, c, ups, c.trust(""), true)
	c.mineUntilServed(t, gw)
	braid := dial(t, url)
	var blk json.RawMessage
	if err := braid.Call(&blk, "eth_getBlockByHash", forkHead.Hash(), false); err == nil && string(blk) != "null" {
		t.Errorf("eth_getBlockByHash(fork head) answered the fork's block (not on the signed chain)")
	}
	// The fork's transaction by block hash and index, answered by the fork's operators.
	var r json.RawMessage
	if err := braid.Call(&r, "eth_getTransactionByBlockHashAndIndex", forkHead.Hash(), hexutil.Uint64(0)); err == nil && string(r) != "null" {
		t.Errorf("eth_getTransactionByBlockHashAndIndex(fork head, 0) answered the fork's transaction")
	}
	// Reads of the fork's transaction by its hash strike the fork's operators
	// (rightly: "not the chain's block at that height") until they are
	// quarantined; then only the honest operator is asked about the fork block.
	forkBlock, _ := ethclient.NewClient(fork.RPC()).BlockByHash(ctx, forkHead.Hash())
	for range 3 {
		_ = braid.Call(&r, "eth_getTransactionByHash", forkBlock.Transactions()[0].Hash())
		_ = braid.Call(&r, "eth_getTransactionReceipt", forkBlock.Transactions()[0].Hash())
	}
	for _, c := range [][]any{
		{"eth_getTransactionByBlockHashAndIndex", forkHead.Hash(), hexutil.Uint64(0)},
		{"eth_getBlockReceipts", forkHead.Hash()},
		{"eth_getBlockByHash", forkHead.Hash(), true},
	} {
		if err := braid.Call(&r, c[0].(string), c[1:]...); err != nil || string(r) != "null" {
			t.Errorf("%v = %s, %v; want null", c, r, err)
		}
	}
	for _, op := range gw.Status().Networks[0].Operators {
		if op.Name == "honest-op" && (op.QuarantinedUntil != nil || op.Strikes > 0) {
			t.Errorf("honest operator struck: %+v", op)
		}
	}
	for _, l := range gw.Status().Networks[0].Lies {
		if l.Operator == "honest-op" {
			t.Errorf("honest operator recorded as a liar: %s: %s", l.Method, l.Reason)
		}
	}
}
