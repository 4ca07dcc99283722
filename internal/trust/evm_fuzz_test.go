package trust

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/evm"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
)

// proofFetcher answers eth_getProof/eth_getCode batches and eth_getCode
// calls: the operator "mutant" with mutated answers, "honest" with the
// true ones.
type proofFetcher struct {
	proof, code       json.RawMessage // the true answers
	mutProof, mutCode json.RawMessage
}

func (f *proofFetcher) Do(_ context.Context, c route.Call) (*route.Result, error) {
	op := "mutant"
	proof, code := f.mutProof, f.mutCode
	switch {
	case len(c.Exclude) == 1:
		op, proof, code = "honest", f.proof, f.code
	case len(c.Exclude) > 1:
		return nil, &route.Failure{Code: jsonrpc.CodeUnavailable, Message: "no upstream left"}
	}
	res := &route.Result{Upstream: &upstream.Upstream{Name: op, Operator: op}, Response: &jsonrpc.Response{Result: code}}
	for _, b := range c.Batch {
		if b.Method == "eth_getProof" {
			res.Batch = append(res.Batch, &jsonrpc.Response{Result: proof})
		} else {
			res.Batch = append(res.Batch, &jsonrpc.Response{Result: code})
		}
	}
	return res, nil
}

// proofFixture is a real devnet state root with the token's account proof
// (three slots: two set, one empty) and code.
type proofFixture struct {
	header       *types.Header
	query        evm.Query
	proof, code  json.RawMessage
	wantAcct     string // the true account, as JSON
	wantCode     []byte
	wantCodeHash common.Hash
}

func newProofFixture(f *testing.F) *proofFixture {
	f.Helper()
	ctx := context.Background()
	dn, err := devnet.New(ctx, devnet.Options{Providers: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { dn.Close() })
	if _, err := dn.Step(ctx); err != nil {
		f.Fatal(err)
	}
	h, err := ethclient.NewClient(dn.RPC()).HeaderByNumber(ctx, nil)
	if err != nil {
		f.Fatal(err)
	}
	user := dn.UserAccount().Address
	balanceSlot := crypto.Keccak256Hash(common.LeftPadBytes(user.Bytes(), 32), common.LeftPadBytes([]byte{3}, 32))
	q := evm.Query{Address: dn.Token(), Slots: []common.Hash{{31: 2}, balanceSlot, {31: 0x99}}, Code: true}
	fx := &proofFixture{header: h, query: q}
	at := map[string]any{"blockHash": h.Hash()}
	if err := dn.RPC().CallContext(ctx, &fx.proof, "eth_getProof", q.Address, q.Slots, at); err != nil {
		f.Fatal(err)
	}
	if err := dn.RPC().CallContext(ctx, &fx.code, "eth_getCode", q.Address, at); err != nil {
		f.Fatal(err)
	}
	p, err := checkProven(h, q, &jsonrpc.Response{Result: fx.proof}, &jsonrpc.Response{Result: fx.code})
	if err != nil || len(p.Code) == 0 || p.Account.Storage[q.Slots[1]] == (common.Hash{}) {
		f.Fatalf("the true proof does not check out: %v", err)
	}
	fx.wantAcct = accountJSON(p.Account)
	fx.wantCode, fx.wantCodeHash = p.Code, p.Account.CodeHash
	return fx
}

func accountJSON(a *verify.Account) string {
	b, _ := json.Marshal(a)
	return string(b)
}

// mutate returns raw with the first occurrence of old replaced by new.
func mutate(raw json.RawMessage, old, new string) []byte {
	return bytes.Replace(raw, []byte(old), []byte(new), 1)
}

// FuzzEVMSourceProofs feeds trust.EVMSource mutated eth_getProof and
// eth_getCode answers for a real devnet state root: it never panics, and
// what it returns is always the true account, storage and code (a
// mutation that still verifies must be the truth; any other is a lie,
// struck, and the honest operator asked).
func FuzzEVMSourceProofs(f *testing.F) {
	fx := newProofFixture(f)
	f.Add([]byte(fx.proof), []byte(fx.code))
	var o struct {
		Balance      string `json:"balance"`
		StorageProof []struct {
			Value string `json:"value"`
		} `json:"storageProof"`
	}
	if err := json.Unmarshal(fx.proof, &o); err != nil || len(o.StorageProof) < 2 {
		f.Fatalf("proof: %v", err)
	}
	for _, m := range [][2][]byte{
		{mutate(fx.proof, `"balance":"`+o.Balance+`"`, `"balance":"0x1"`), fx.code},
		{mutate(fx.proof, `"value":"`+o.StorageProof[1].Value+`"`, `"value":"0x1"`), fx.code},
		{mutate(fx.proof, `"storageProof":[`, `"storageProof":[{},`), fx.code},
		{fx.proof, mutate(fx.code, `"0x60`, `"0x61`)},
	} {
		if bytes.Equal(m[0], fx.proof) && bytes.Equal(m[1], fx.code) {
			f.Fatal("a seed mutation did not apply")
		}
		f.Add(m[0], m[1])
	}
	f.Add([]byte(fx.proof), []byte(`"0x"`))
	f.Add([]byte(`null`), []byte(`null`))
	f.Add([]byte(`{}`), []byte(`1`))
	f.Fuzz(func(t *testing.T, proof, code []byte) {
		if !json.Valid(proof) || !json.Valid(code) {
			return // no operator's answer reaches the check undecoded
		}
		src := &proofFetcher{proof: fx.proof, code: fx.code, mutProof: proof, mutCode: code}
		l := &lies{}
		r := New(Options{Network: "devnet", Verify: config.Verify{Mode: config.VerifyStrict, HeaderCache: 8},
			Timeout: 5 * time.Second, Fetch: src, OnLie: l.add,
			Root: fixedRoot{block.Tip{Known: true, Latest: block.Block{Number: fx.header.Number.Uint64(), Hash: fx.header.Hash()}}}})
		ctx := context.Background()
		got, err := r.EVMSource().Proofs(ctx, fx.header, []evm.Query{fx.query})
		if err != nil {
			t.Fatalf("Proofs with an honest operator to fall back on: %v", err)
		}
		if a := accountJSON(got[0].Account); a != fx.wantAcct || !bytes.Equal(got[0].Code, fx.wantCode) {
			t.Fatalf("accepted a mutation:\n got %s code %x\nwant %s code %x", a, got[0].Code, fx.wantAcct, fx.wantCode)
		}
		c, err := r.EVMSource().Code(ctx, fx.header, fx.query.Address, fx.wantCodeHash)
		if err != nil {
			t.Fatalf("Code with an honest operator to fall back on: %v", err)
		}
		if !bytes.Equal(c, fx.wantCode) {
			t.Fatalf("Code accepted a mutation: %x", c)
		}
		mutated := !bytes.Equal(proof, fx.proof) || !bytes.Equal(code, fx.code)
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, op := range l.ops {
			if op == "honest" {
				t.Fatal("the honest operator was struck")
			}
		}
		if !mutated && len(l.ops) > 0 {
			t.Fatalf("the true answers were struck: %v", l.ops)
		}
	})
}
