package gateway_test

import (
	"encoding/json"
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/config"
	gt "github.com/braidrpc/braid/internal/gatewaytest"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// oldHeader is a header of block 5 (below the fakes' head, 0x10); extra
// tells versions apart.
func oldHeader(extra string) *types.Header {
	return &types.Header{ParentHash: common.Hash{0x04}, UncleHash: types.EmptyUncleHash, Root: common.Hash{0x05},
		TxHash: types.EmptyTxsHash, ReceiptHash: types.EmptyReceiptsHash, Difficulty: big.NewInt(131072),
		Number: big.NewInt(5), GasLimit: 5000, Time: 1_438_300_000, Extra: []byte(extra)}
}

// answerHeader makes f answer eth_getHeaderByNumber with h as a node writes
// it (with its "hash" member).
func answerHeader(t *testing.T, f *gt.Fake, h *types.Header) {
	t.Helper()
	raw, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	f.Answer("eth_getHeaderByNumber", `"result":`+string(raw))
}

// Under quorum.k 2, the header of an old block is the one two operators
// agree on — a third operator's other header loses — and it hashes to the
// hash they agree on.
func TestAgreedHeaderOutvotesALiar(t *testing.T) {
	honest, forged := oldHeader("honest"), oldHeader("forged")
	liar, a, c := gt.NewFake(t, "liar", 1), gt.NewFake(t, "a", 1), gt.NewFake(t, "c", 1)
	answerHeader(t, liar, forged)
	answerHeader(t, a, honest)
	answerHeader(t, c, honest)
	h := startQuorum(t, config.Quorum{K: 2}, true, liar, a, c)
	n := h.GW.Network("mainnet")
	for i := range 10 { // the audit asks the liar among the first two in some reads
		got, err := n.AgreedHeader(t.Context(), 5)
		if err != nil || got.Hash() != honest.Hash() {
			t.Fatalf("read %d: %v, %v; want the honest header %s", i, got, err, honest.Hash())
		}
	}
	if gt.CallsOf("eth_getHeaderByNumber", liar) == 0 {
		t.Fatal("the liar was never asked: the test shows nothing")
	}
}

// Operators that do not agree (k 3, one of three lying), agree on an error,
// or agree on a header whose "hash" member is not its hash give no header;
// nor does a network without a quorum.
func TestAgreedHeaderRefused(t *testing.T) {
	honest := oldHeader("honest")
	t.Run("dispute", func(t *testing.T) {
		liar, a, c := gt.NewFake(t, "liar", 1), gt.NewFake(t, "a", 1), gt.NewFake(t, "c", 1)
		answerHeader(t, liar, oldHeader("forged"))
		answerHeader(t, a, honest)
		answerHeader(t, c, honest)
		h := startQuorum(t, config.Quorum{K: 3}, false, liar, a, c)
		got, err := h.GW.Network("mainnet").AgreedHeader(t.Context(), 5)
		if je := jsonrpc.FromError(err); got != nil || je == nil || je.Code != jsonrpc.CodeDispute || !strings.Contains(je.Message, "operators disagree") {
			t.Fatalf("%v, %v; want a dispute", got, err)
		}
	})
	t.Run("hash member forged", func(t *testing.T) {
		raw, _ := json.Marshal(honest)
		forged := strings.Replace(string(raw), honest.Hash().Hex(), oldHeader("other").Hash().Hex(), 1)
		fakes := []*gt.Fake{gt.NewFake(t, "a", 1), gt.NewFake(t, "b", 1)}
		for _, f := range fakes {
			f.Answer("eth_getHeaderByNumber", `"result":`+forged)
		}
		h := startQuorum(t, config.Quorum{K: 2}, false, fakes...)
		if got, err := h.GW.Network("mainnet").AgreedHeader(t.Context(), 5); got != nil || err == nil || !strings.Contains(err.Error(), "hashes to") {
			t.Fatalf("%v, %v; want the agreed header refused", got, err)
		}
	})
	t.Run("agreed error", func(t *testing.T) {
		fakes := []*gt.Fake{gt.NewFake(t, "a", 1), gt.NewFake(t, "b", 1)} // the fakes do not know the method
		h := startQuorum(t, config.Quorum{K: 2}, false, fakes...)
		if got, err := h.GW.Network("mainnet").AgreedHeader(t.Context(), 5); got != nil || err == nil {
			t.Fatalf("%v, %v; want no header", got, err)
		}
	})
	t.Run("no quorum", func(t *testing.T) {
		fakes := []*gt.Fake{gt.NewFake(t, "a", 1), gt.NewFake(t, "b", 1)}
		for _, f := range fakes {
			answerHeader(t, f, honest)
		}
		h := startQuorum(t, config.Quorum{K: 1}, false, fakes...)
		if got, err := h.GW.Network("mainnet").AgreedHeader(t.Context(), 5); got != nil || err == nil || gt.CallsOf("eth_getHeaderByNumber", fakes...) != 0 {
			t.Fatalf("%v, %v; one operator's word is not a quorum", got, err)
		}
	})
}

// startHistoryQuorum runs mainnet over fakes with quorum k and peers on,
// its history store first holding block (whole, canonical as canon says:
// history.NotCanonical when nothing has said it is).
func startHistoryQuorum(t *testing.T, k int, strict bool, block *types.Header, canon history.Provenance, fakes ...*gt.Fake) *gt.Harness {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	s, err := history.Open(dir, history.Options{MaxBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutBlock(block, &types.Body{}, types.Receipts{}, canon); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := gt.QuorumConfig(t, config.Quorum{K: k}, fakes...)
	cfg.Networks[0].Peers = config.Peers{Enabled: true, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DialRanges: []string{"127.0.0.0/8"},
		Store: config.PeerStore{Path: dir, MaxBytes: 16 << 20}}
	if strict {
		cfg.Networks[0].Verify.Mode = config.VerifyStrict
	}
	cfg.ApplyDefaults()
	gw, reg := gt.StartGateway(t, cfg)
	h := gt.Started(t, cfg, gw, reg, gt.Mainnet(fakes...))
	gt.AwaitHeads(t, gw.Network("mainnet"), fakes...)
	return h
}

// End to end under quorum.k 2: every provider answers block 5's receipts
// and transaction count with geth's 4444, and braid's proofs do not reach
// block 5 (the fakes serve no history contract proof); once two operators
// agree on its header, the block is answered by number from the store.
// With k 3 and one liar the operators disagree and the read is refused
// with an error that says so. In strict mode the operators are never asked.
func TestHistoryByNumberUnderQuorum(t *testing.T) {
	honest := oldHeader("honest")
	pruned := `"error":{"code":4444,"message":"pruned history unavailable"}`
	setup := func(t *testing.T) []*gt.Fake {
		liar, a, c := gt.NewFake(t, "liar", 1), gt.NewFake(t, "a", 1), gt.NewFake(t, "c", 1)
		answerHeader(t, liar, oldHeader("forged"))
		answerHeader(t, a, honest)
		answerHeader(t, c, honest)
		for _, f := range []*gt.Fake{liar, a, c} {
			f.Answer("eth_getBlockReceipts", pruned)
			f.Answer("eth_getBlockTransactionCountByNumber", pruned)
		}
		return []*gt.Fake{liar, a, c}
	}
	t.Run("agreed", func(t *testing.T) {
		h := startHistoryQuorum(t, 2, false, honest, history.NotCanonical, setup(t)...)
		asked := 0
		for i, c := range []struct{ method, want string }{{"eth_getBlockReceipts", "[]"}, {"eth_getBlockTransactionCountByNumber", `"0x0"`}} {
			res := h.Exec(`{"jsonrpc":"2.0","id":1,"method":"` + c.method + `","params":["0x5"]}`)
			if res.Response.Error != nil || string(res.Response.Result) != c.want || res.Response.Source != "store" {
				t.Fatalf("%s: %+v %s from %q; want %s from the store", c.method, res.Response.Error, res.Response.Result, res.Response.Source, c.want)
			}
			if i == 0 {
				asked = h.Calls("eth_getHeaderByNumber")
			}
		}
		if asked < 2 {
			t.Fatalf("the operators were asked %d times for the header", asked)
		}
		// The agreed hash is kept: the second read asked no one again.
		if again := h.Calls("eth_getHeaderByNumber"); again != asked {
			t.Fatalf("the header was asked %d times after the first read, %d after the second", asked, again)
		}
	})
	t.Run("disputed", func(t *testing.T) {
		h := startHistoryQuorum(t, 3, false, honest, history.NotCanonical, setup(t)...)
		res := h.Exec(`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockReceipts","params":["0x5"]}`)
		e := res.Response.Error
		if e == nil || e.Code != jsonrpc.CodeDispute || !strings.Contains(e.Message, "block 5") || !strings.Contains(e.Message, "operators disagree") {
			t.Fatalf("%+v %s; want the read refused as disputed", e, res.Response.Result)
		}
	})
	t.Run("strict", func(t *testing.T) {
		h := startHistoryQuorum(t, 2, true, honest, history.NotCanonical, setup(t)...)
		res := h.Exec(`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockReceipts","params":["0x5"]}`)
		if res.Response.Error == nil || h.Calls("eth_getHeaderByNumber") != 0 {
			t.Fatalf("%s from %q, header asked %d times; strict mode is proof-only", res.Response.Result, res.Response.Source, h.Calls("eth_getHeaderByNumber"))
		}
		if got, err := h.GW.Network("mainnet").AgreedHeader(t.Context(), 5); got != nil || err == nil {
			t.Fatalf("%v, %v: a strict network took the operators' header", got, err)
		}
	})
	// A store whose record of block 5 a quorum settled (the network ran
	// under quorum before) does not make a strict network serve it.
	t.Run("strict after quorum", func(t *testing.T) {
		h := startHistoryQuorum(t, 2, true, honest, history.Agreed, setup(t)...)
		res := h.Exec(`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockReceipts","params":["0x5"]}`)
		if res.Response.Error == nil || res.Response.Source == "store" {
			t.Fatalf("%s from %q; strict mode served a quorum-settled record", res.Response.Result, res.Response.Source)
		}
	})
	// Not in strict mode, the same record is trusted: no operator is asked.
	t.Run("quorum after quorum", func(t *testing.T) {
		h := startHistoryQuorum(t, 2, false, honest, history.Agreed, setup(t)...)
		res := h.Exec(`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockReceipts","params":["0x5"]}`)
		if res.Response.Error != nil || res.Response.Source != "store" || h.Calls("eth_getHeaderByNumber") != 0 {
			t.Fatalf("%+v %s from %q, header asked %d times; want the agreed record trusted", res.Response.Error, res.Response.Result,
				res.Response.Source, h.Calls("eth_getHeaderByNumber"))
		}
	})
}
