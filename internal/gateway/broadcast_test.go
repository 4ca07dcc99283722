package gateway_test

// Transactions: broadcast to every operator, and what a provider's
// refusal means ("already known", "nonce too low").

import (
	"crypto/ecdsa"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/braidrpc/braid/internal/await"
	gt "github.com/braidrpc/braid/internal/gatewaytest"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

func signedTx(t *testing.T, key *ecdsa.PrivateKey, nonce uint64) (raw string, hash string) {
	t.Helper()
	to := common.HexToAddress(testAddr)
	tx := types.NewTx(&types.DynamicFeeTx{
		ChainID:   big.NewInt(1),
		Nonce:     nonce,
		GasTipCap: big.NewInt(1e9),
		GasFeeCap: big.NewInt(30e9),
		Gas:       21000,
		To:        &to,
		Value:     big.NewInt(1),
	})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(big.NewInt(1)), key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := signed.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return hexutil.Encode(b), signed.Hash().Hex()
}

// TestSendRawTransactionAlreadyKnown: "already known" means the network has
// the transaction: the client gets its hash, not an error.
func TestSendRawTransactionAlreadyKnown(t *testing.T) {
	key, err := crypto.HexToECDSA("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	if err != nil {
		t.Fatal(err)
	}
	raw, hash := signedTx(t, key, 0)

	for _, msg := range []string{"already known", "ALREADY_EXISTS: already known", "known transaction: 0xabc", "Transaction already imported"} {
		t.Run(msg, func(t *testing.T) {
			f := gt.NewFake(t, "a", 1)
			h := gt.Start(t, nil, gt.Mainnet(f))
			f.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"`+msg+`"}`)
			ans := h.Call("eth_sendRawTransaction", `["`+raw+`"]`)
			if ans.Error != nil || string(ans.Result) != `"`+hash+`"` {
				t.Errorf("got %+v %s, want result %q", ans.Error, ans.Result, hash)
			}
			if got := f.Params("eth_sendRawTransaction"); len(got) != 1 || got[0] != `["`+raw+`"]` {
				t.Errorf("upstream got %v", got)
			}
		})
	}

	t.Run("one operator down, another already has it", func(t *testing.T) {
		first, second := gt.NewFake(t, "first", 1), gt.NewFake(t, "second", 1)
		h := gt.Start(t, nil, gt.Mainnet(first, second))
		first.SetStatus(http.StatusBadGateway, "")
		second.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"already known"}`)
		ans := h.Call("eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error != nil || string(ans.Result) != `"`+hash+`"` {
			t.Errorf("got %+v %s, want result %q", ans.Error, ans.Result, hash)
		}
		if second.Calls("eth_sendRawTransaction") != 1 {
			t.Errorf("calls: second %v", second.AllCalls())
		}
	})

	// The first attempt's answer was lost (502) but the transaction may
	// have landed: "nonce too low" on the retry is success when the
	// network knows the transaction.
	t.Run("nonce too low after a retry, transaction known", func(t *testing.T) {
		first, second := gt.NewFake(t, "first", 1), gt.NewFake(t, "second", 1)
		h := gt.Start(t, nil, gt.Mainnet(first, second))
		first.SetStatus(http.StatusBadGateway, "")
		second.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"nonce too low: next nonce 8, tx nonce 7"}`)
		second.Answer("eth_getTransactionByHash", `"result":{"hash":"`+hash+`"}`)
		ans := h.Call("eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error != nil || string(ans.Result) != `"`+hash+`"` {
			t.Errorf("got %+v %s, want result %q", ans.Error, ans.Result, hash)
		}
	})
	t.Run("nonce too low after a retry, transaction unknown", func(t *testing.T) {
		first, second := gt.NewFake(t, "first", 1), gt.NewFake(t, "second", 1)
		h := gt.Start(t, nil, gt.Mainnet(first, second))
		first.SetStatus(http.StatusBadGateway, "")
		second.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"nonce too low"}`)
		ans := h.Call("eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error == nil || ans.Error.Message != "nonce too low" {
			t.Errorf("got %+v %s, want the upstream's nonce too low", ans.Error, ans.Result)
		}
	})
	// A client resending a transaction that was mined meanwhile gets
	// "nonce too low" from every node: the chain has it, so it is success.
	t.Run("nonce too low everywhere, transaction mined", func(t *testing.T) {
		f := gt.NewFake(t, "a", 1)
		h := gt.Start(t, nil, gt.Mainnet(f))
		f.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"nonce too low"}`)
		f.Answer("eth_getTransactionByHash", `"result":{"hash":"`+hash+`"}`)
		ans := h.Call("eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error != nil || string(ans.Result) != `"`+hash+`"` || f.Calls("eth_getTransactionByHash") != 1 {
			t.Errorf("got %+v %s; lookups %d", ans.Error, ans.Result, f.Calls("eth_getTransactionByHash"))
		}
	})

	t.Run("other rejections pass through", func(t *testing.T) {
		f := gt.NewFake(t, "a", 1)
		h := gt.Start(t, nil, gt.Mainnet(f))
		got := h.Answer(`{"jsonrpc":"2.0","id":9,"method":"eth_sendRawTransaction","params":["` + raw + `"]}`)
		if want := `{"jsonrpc":"2.0","id":9,"error":` + gt.SendRawError + `}`; got != want {
			t.Errorf("\ngot  %s\nwant %s", got, want)
		}
	})
}

// TestBroadcast: a transaction goes to every operator; one accepting is
// enough, and when none does the most specific refusal is the answer.
func TestBroadcast(t *testing.T) {
	key, err := crypto.HexToECDSA("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	if err != nil {
		t.Fatal(err)
	}
	raw, hash := signedTx(t, key, 0)
	t.Run("one operator accepts", func(t *testing.T) {
		down1, down2, ok := gt.NewFake(t, "down1", 1), gt.NewFake(t, "down2", 1), gt.NewFake(t, "ok", 1)
		ok.Answer("eth_sendRawTransaction", `"result":"`+hash+`"`)
		h := gt.Start(t, nil, gt.Mainnet(down1, down2, ok))
		down1.SetDown(true)
		down2.SetStatus(http.StatusServiceUnavailable, "")
		ans := h.Call("eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error != nil || string(ans.Result) != `"`+hash+`"` {
			t.Fatalf("got %+v %s", ans.Error, ans.Result)
		}
	})
	t.Run("every operator gets it", func(t *testing.T) {
		f1, f2, f3 := gt.NewFake(t, "f1", 1), gt.NewFake(t, "f2", 1), gt.NewFake(t, "f3", 1)
		for _, f := range []*gt.Fake{f1, f2, f3} {
			f.Answer("eth_sendRawTransaction", `"result":"`+hash+`"`)
		}
		f3.SetLatency(50 * time.Millisecond)
		h := gt.Start(t, nil, gt.Mainnet(f1, f2, f3))
		if ans := h.Call("eth_sendRawTransaction", `["`+raw+`"]`); ans.Error != nil {
			t.Fatal(ans.Error)
		}
		await.Until(t, "the transaction sent to all three", func() bool { return h.Calls("eth_sendRawTransaction") >= 3 })
		for _, f := range []*gt.Fake{f1, f2, f3} {
			if f.Calls("eth_sendRawTransaction") != 1 {
				t.Errorf("%s got the transaction %d times", f.Name(), f.Calls("eth_sendRawTransaction"))
			}
		}
	})
	t.Run("all down", func(t *testing.T) {
		f1, f2 := gt.NewFake(t, "f1", 1), gt.NewFake(t, "f2", 1)
		h := gt.Start(t, nil, gt.Mainnet(f1, f2))
		f1.SetDown(true)
		f2.SetStatus(http.StatusBadGateway, "")
		ans := h.Call("eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error == nil || ans.Error.Code != jsonrpc.CodeUpstreamsFailed || !strings.Contains(ans.Error.Message, "no operator accepted") {
			t.Fatalf("got %+v %s", ans.Error, ans.Result)
		}
		if !strings.Contains(string(ans.Error.Data), "op-f1") || !strings.Contains(string(ans.Error.Data), "op-f2") {
			t.Errorf("data %s does not name each operator", ans.Error.Data)
		}
	})
	t.Run("the most specific refusal wins", func(t *testing.T) {
		f1, f2, f3 := gt.NewFake(t, "f1", 1), gt.NewFake(t, "f2", 1), gt.NewFake(t, "f3", 1)
		h := gt.Start(t, nil, gt.Mainnet(f1, f2, f3))
		f1.SetDown(true)
		f2.Answer("eth_sendRawTransaction", `"error":{"code":-32603,"message":"internal error"}`)
		f3.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"insufficient funds for gas * price + value"}`)
		ans := h.Call("eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error == nil || !strings.Contains(ans.Error.Message, "insufficient funds") {
			t.Fatalf("got %+v %s, want insufficient funds", ans.Error, ans.Result)
		}
	})
}
