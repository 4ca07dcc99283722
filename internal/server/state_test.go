package server_test

// State that outlives one call: remembered static answers and transactions
// the network already has. (Braid-kept filters are tested in
// internal/stream, and through the gateway in internal/gateway.)

import (
	"crypto/ecdsa"
	"math/big"
	"net/http"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
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
			f := newFake(t, "a", 1)
			b := startBraid(t, nil, mainnet(f))
			f.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"`+msg+`"}`)
			ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
			if ans.Error != nil || string(ans.Result) != `"`+hash+`"` {
				t.Errorf("got %+v %s, want result %q", ans.Error, ans.Result, hash)
			}
			if got := f.Params("eth_sendRawTransaction"); len(got) != 1 || got[0] != `["`+raw+`"]` {
				t.Errorf("upstream got %v", got)
			}
		})
	}

	t.Run("one operator down, another already has it", func(t *testing.T) {
		first, second := newFake(t, "first", 1), newFake(t, "second", 1)
		b := startBraid(t, nil, mainnet(first, second))
		first.SetStatus(http.StatusBadGateway, "")
		second.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"already known"}`)
		ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
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
		first, second := newFake(t, "first", 1), newFake(t, "second", 1)
		b := startBraid(t, nil, mainnet(first, second))
		first.SetStatus(http.StatusBadGateway, "")
		second.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"nonce too low: next nonce 8, tx nonce 7"}`)
		second.Answer("eth_getTransactionByHash", `"result":{"hash":"`+hash+`"}`)
		ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error != nil || string(ans.Result) != `"`+hash+`"` {
			t.Errorf("got %+v %s, want result %q", ans.Error, ans.Result, hash)
		}
	})
	t.Run("nonce too low after a retry, transaction unknown", func(t *testing.T) {
		first, second := newFake(t, "first", 1), newFake(t, "second", 1)
		b := startBraid(t, nil, mainnet(first, second))
		first.SetStatus(http.StatusBadGateway, "")
		second.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"nonce too low"}`)
		ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error == nil || ans.Error.Message != "nonce too low" {
			t.Errorf("got %+v %s, want the upstream's nonce too low", ans.Error, ans.Result)
		}
	})
	// A client resending a transaction that was mined meanwhile gets
	// "nonce too low" from every node: the chain has it, so it is success.
	t.Run("nonce too low everywhere, transaction mined", func(t *testing.T) {
		f := newFake(t, "a", 1)
		b := startBraid(t, nil, mainnet(f))
		f.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"nonce too low"}`)
		f.Answer("eth_getTransactionByHash", `"result":{"hash":"`+hash+`"}`)
		ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error != nil || string(ans.Result) != `"`+hash+`"` || f.Calls("eth_getTransactionByHash") != 1 {
			t.Errorf("got %+v %s; lookups %d", ans.Error, ans.Result, f.Calls("eth_getTransactionByHash"))
		}
	})

	t.Run("other rejections pass through", func(t *testing.T) {
		f := newFake(t, "a", 1)
		b := startBraid(t, nil, mainnet(f))
		status, got := b.post("/", `{"jsonrpc":"2.0","id":9,"method":"eth_sendRawTransaction","params":["`+raw+`"]}`)
		if want := `{"jsonrpc":"2.0","id":9,"error":` + sendRawError + `}`; status != http.StatusOK || got != want {
			t.Errorf("HTTP %d\ngot  %s\nwant %s", status, got, want)
		}
	})
}
