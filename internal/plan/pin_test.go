package plan

import (
	"encoding/json"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

var testTip = block.Tip{
	Known:     true,
	Latest:    block.Block{Number: 100, Hash: common.HexToHash("0xaa")},
	Safe:      block.Block{Number: 96, Hash: common.HexToHash("0xbb")},
	Finalized: block.Block{Number: 64, Hash: common.HexToHash("0xcc")},
}

var (
	latestObj    = `{"blockHash":"` + common.HexToHash("0xaa").Hex() + `"}`
	safeObj      = `{"blockHash":"` + common.HexToHash("0xbb").Hex() + `"}`
	finalizedObj = `{"blockHash":"` + common.HexToHash("0xcc").Hex() + `"}`
)

const pinAddr = `"0x0000000000000000000000000000000000000001"`

func TestPin(t *testing.T) {
	tests := []struct {
		name, method, params string
		wantParams           string // "" = unchanged
		wantLocal            string
		minHead              uint64
		block                uint64
		hasBlock, state      bool
		ahead                bool // names a block above the tip: Floor is the tip
	}{
		{name: "blockNumber answered from the tip", method: "eth_blockNumber", params: `[]`, wantLocal: `"0x64"`},
		{name: "latest pinned by hash", method: "eth_getBalance", params: `[` + pinAddr + `,"latest"]`,
			wantParams: `[` + pinAddr + `,` + latestObj + `]`, minHead: 100, block: 100, hasBlock: true, state: true},
		{name: "missing block pinned", method: "eth_call", params: `[{"to":` + pinAddr + `}]`,
			wantParams: `[{"to":` + pinAddr + `},` + latestObj + `]`, minHead: 100, block: 100, hasBlock: true, state: true},
		{name: "safe", method: "eth_getCode", params: `[` + pinAddr + `,"safe"]`,
			wantParams: `[` + pinAddr + `,` + safeObj + `]`, minHead: 96, block: 96, hasBlock: true, state: true},
		{name: "finalized", method: "eth_getTransactionCount", params: `[` + pinAddr + `,"finalized"]`,
			wantParams: `[` + pinAddr + `,` + finalizedObj + `]`, minHead: 64, block: 64, hasBlock: true, state: true},
		{name: "block by number takes a number", method: "eth_getBlockByNumber", params: `["latest",false]`,
			wantParams: `["0x64",false]`, minHead: 100, block: 100, hasBlock: true},
		{name: "explicit old block", method: "eth_getBalance", params: `[` + pinAddr + `,"0x10"]`,
			minHead: 16, block: 16, hasBlock: true, state: true},
		{name: "explicit future block", method: "eth_getBlockByNumber", params: `["0x65",false]`,
			minHead: 101, block: 101, hasBlock: true, ahead: true},
		{name: "explicit tip block is not ahead", method: "eth_getBlockByNumber", params: `["0x64",false]`,
			minHead: 100, block: 100, hasBlock: true},
		{name: "receipts of a future block", method: "eth_getBlockReceipts", params: `["0x1000"]`,
			minHead: 4096, block: 4096, hasBlock: true, ahead: true},
		{name: "state at a future block", method: "eth_getBalance", params: `[` + pinAddr + `,"0x65"]`,
			minHead: 101, block: 101, hasBlock: true, state: true, ahead: true},
		{name: "logs range past the tip", method: "eth_getLogs", params: `[{"fromBlock":"0x60","toBlock":"0x70"}]`,
			wantParams: `[{"fromBlock":"0x60","toBlock":"0x70"}]`, minHead: 112, block: 96, hasBlock: true, ahead: true},
		{name: "logs starting past the tip", method: "eth_getLogs", params: `[{"fromBlock":"0x70"}]`,
			wantParams: `[{"fromBlock":"0x70","toBlock":"0x64"}]`, minHead: 112, block: 100, hasBlock: true, ahead: true},
		{name: "EIP-1898 by number tag", method: "eth_getStorageAt", params: `[` + pinAddr + `,"0x0",{"blockNumber":"latest"}]`,
			wantParams: `[` + pinAddr + `,"0x0",` + latestObj + `]`, minHead: 100, block: 100, hasBlock: true, state: true},
		{name: "EIP-1898 by hash is sent as is", method: "eth_getBalance", params: `[` + pinAddr + `,` + safeObj + `]`,
			minHead: 100, state: true},
		{name: "pending left alone, in-sync upstreams only", method: "eth_getBalance", params: `[` + pinAddr + `,"pending"]`,
			minHead: 100, block: 100, hasBlock: true, state: true},
		{name: "earliest", method: "eth_getBlockByNumber", params: `["earliest",false]`, hasBlock: true},
		{name: "tx by hash: in-sync upstreams only", method: "eth_getTransactionReceipt", params: `["` + common.HexToHash("0x1").Hex() + `"]`,
			minHead: 100},
		{name: "logs range pinned", method: "eth_getLogs", params: `[{"fromBlock":"0x5a","address":` + pinAddr + `}]`,
			wantParams: `[{"address":` + pinAddr + `,"fromBlock":"0x5a","toBlock":"0x64"}]`, minHead: 100, block: 90, hasBlock: true},
		{name: "logs by block hash", method: "eth_getLogs", params: `[{"blockHash":"` + common.HexToHash("0x1").Hex() + `"}]`, minHead: 100},
		{name: "feeHistory newest latest", method: "eth_feeHistory", params: `["0x4","latest",[]]`,
			wantParams: `["0x4","0x64",[]]`, minHead: 100, block: 100, hasBlock: true},
		{name: "unknown method: not lagging more than max_lag", method: "debug_traceTransaction", params: `["0x1"]`, minHead: 95},
		{name: "writes go anywhere", method: "eth_sendRawTransaction", params: `["0x01"]`},
	}
	pl := NewPlanner(config.Methods{}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, perr := pl.Plan(&jsonrpc.Request{ID: json.RawMessage("1"), Method: tt.method, Params: json.RawMessage(tt.params)})
			if perr != nil {
				t.Fatal(perr)
			}
			got := p.Pin(testTip, 5)
			want := tt.wantParams
			if want == "" {
				want = tt.params
			}
			if string(got.Params) != want {
				t.Errorf("params\n got %s\nwant %s", got.Params, want)
			}
			if string(got.Local) != tt.wantLocal {
				t.Errorf("local %s, want %s", got.Local, tt.wantLocal)
			}
			if got.MinHead != tt.minHead || got.Block != tt.block || got.HasBlock != tt.hasBlock || got.State != tt.state {
				t.Errorf("minHead %d block %d hasBlock %v state %v; want %d %d %v %v",
					got.MinHead, got.Block, got.HasBlock, got.State, tt.minHead, tt.block, tt.hasBlock, tt.state)
			}
			if got.Ahead != tt.ahead || (tt.ahead && got.Floor != testTip.Latest.Number) || (!tt.ahead && got.Floor != 0) {
				t.Errorf("ahead %v floor %d; want %v", got.Ahead, got.Floor, tt.ahead)
			}
		})
	}
}

func TestPinWithoutTipChangesNothing(t *testing.T) {
	pl := NewPlanner(config.Methods{}, nil)
	p, _ := pl.Plan(&jsonrpc.Request{Method: "eth_getBalance", Params: json.RawMessage(`[` + pinAddr + `,"latest"]`)})
	got := p.Pin(block.Tip{}, 5)
	if string(got.Params) != string(p.Params) || got.MinHead != 0 || got.Local != nil {
		t.Fatalf("%+v", got)
	}
}
