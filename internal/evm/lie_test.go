package evm

import (
	"encoding/json"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// rewrite decodes an eth_getProof answer, lets edit change it and encodes
// it again.
func rewrite(raw json.RawMessage, edit func(map[string]any)) json.RawMessage {
	var o map[string]any
	if json.Unmarshal(raw, &o) != nil {
		return raw
	}
	edit(o)
	out, err := json.Marshal(o)
	if err != nil {
		return raw
	}
	return out
}

// storageLie claims 1 more for the first storage slot of every proof.
func storageLie(_, method string, r json.RawMessage) json.RawMessage {
	if method != "eth_getProof" {
		return r
	}
	return rewrite(r, func(o map[string]any) {
		if slots, ok := o["storageProof"].([]any); ok && len(slots) > 0 {
			s := slots[0].(map[string]any)
			v, _ := hexutil.DecodeBig(s["value"].(string))
			s["value"] = hexutil.EncodeBig(v.Add(v, big.NewInt(1)))
		}
	})
}

// proofLie flips a byte in the last node of every account proof.
func proofLie(_, method string, r json.RawMessage) json.RawMessage {
	if method != "eth_getProof" {
		return r
	}
	return rewrite(r, func(o map[string]any) {
		if nodes, ok := o["accountProof"].([]any); ok && len(nodes) > 0 {
			b, _ := hexutil.Decode(nodes[len(nodes)-1].(string))
			b[len(b)-1] ^= 1
			nodes[len(nodes)-1] = hexutil.Encode(b)
		}
	})
}

// codeLie answers eth_getCode with other code.
func codeLie(_, method string, r json.RawMessage) json.RawMessage {
	if method != "eth_getCode" {
		return r
	}
	return json.RawMessage(`"0x6080"`)
}

// byProvider applies each provider's own tamper.
func byProvider(tampers map[string]func(string, string, json.RawMessage) json.RawMessage) func(string, string, json.RawMessage) json.RawMessage {
	return func(p, m string, r json.RawMessage) json.RawMessage {
		if f := tampers[p]; f != nil {
			return f(p, m, r)
		}
		return r
	}
}

// TestLiarsNeverWin: with 3 of 4 providers lying (state and code through
// the devnet's lie fault, storage values and proof nodes rewritten), every
// call still gets the node's answer, the liars are struck and the honest
// provider is not.
func TestLiarsNeverWin(t *testing.T) {
	e := testEnv(t)
	ps := e.d.Providers()
	ps[0].SetFaults(devnet.Faults{Lie: true}) // balance in proofs, code, access-list slots
	defer ps[0].SetFaults(devnet.Faults{})
	head := e.head(t).Number.Uint64()
	cases := localCases(t, e, head)
	orders := [][]int{{0, 1, 2, 3}, {1, 2, 0, 3}, {2, 0, 1, 3}}
	for _, order := range orders {
		src := newDevSource(ps[order[0]], ps[order[1]], ps[order[2]], ps[order[3]])
		src.tamper = byProvider(map[string]func(string, string, json.RawMessage) json.RawMessage{
			ps[1].Name: storageLie, ps[2].Name: func(p, m string, r json.RawMessage) json.RawMessage { return codeLie(p, m, proofLie(p, m, r)) },
		})
		x := freshExecutor(t, e)
		for _, c := range cases[:16] {
			params := []any{c.call, "latest"}
			if c.state != nil {
				params = append(params, c.state)
			}
			for _, m := range allMethods {
				keep := e.exec
				e.exec = x
				got, _ := e.local(t, src, m, params...)
				e.exec = keep
				if want := e.node(t, m, params...); !sameAnswer(got, want) {
					t.Errorf("order %v, %s %s: local EVM answers\n%s\nnode answers\n%s", order, c.name, m, got, want)
				}
			}
		}
		for i, p := range ps[:3] {
			if src.struck(p.Name) == 0 {
				t.Errorf("order %v: liar %d (%s) not struck", order, i, p.Name)
			}
		}
		if n := src.struck(ps[3].Name); n != 0 {
			t.Errorf("order %v: honest provider struck %d times", order, n)
		}
	}
}

// TestAllLiarsFailTheCall: when every provider lies the call fails with a
// *StateError the trust stage can retry, and never answers.
func TestAllLiarsFailTheCall(t *testing.T) {
	e := testEnv(t)
	ps := e.d.Providers()
	lies := map[string]func(string, string, json.RawMessage) json.RawMessage{
		"storage": storageLie, "proof nodes": proofLie, "code": codeLie,
		"devnet": nil, // the devnet's own lie fault on every provider
	}
	balance := map[string]any{"to": e.tokens[0], "data": pack(t, e.tokenABI, "balanceOf", e.user)}
	for name, lie := range lies {
		t.Run(name, func(t *testing.T) {
			if lie == nil {
				for i, p := range ps {
					p.SetFaults(devnet.Faults{Lie: true, LieVariant: i + 1})
					defer p.SetFaults(devnet.Faults{})
				}
			}
			src := newDevSource(ps...)
			src.tamper = lie
			for _, m := range allMethods {
				raw, _ := json.Marshal([]any{balance, "latest"})
				req, err := ParseRequest(m, raw)
				if err != nil {
					t.Fatal(err)
				}
				res, err := freshExecutor(t, e).Do(t.Context(), src, e.head(t), req)
				var se *StateError
				if !errors.As(err, &se) {
					t.Fatalf("%s: %v (%v), want a *StateError", m, err, res.Value)
				}
				if code := jsonrpc.FromError(err).Code; code != jsonrpc.CodeVerificationFailed {
					t.Errorf("%s: code %d, want %d", m, code, jsonrpc.CodeVerificationFailed)
				}
			}
			for _, p := range ps {
				if src.struck(p.Name) == 0 {
					t.Errorf("liar %s not struck", p.Name)
				}
			}
		})
	}
}

// TestLyingHintNamesOtherState: an access list naming another account's
// storage for the slot the call reads does not change the answer: the hint
// only picks what to prove, and the real slot is proven on demand.
func TestLyingHintNamesOtherState(t *testing.T) {
	e := testEnv(t)
	rich := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	src := newDevSource(e.d.Providers()...)
	src.tamper = func(_, m string, r json.RawMessage) json.RawMessage {
		if m != "eth_createAccessList" {
			return r
		}
		return json.RawMessage(`{"accessList":[{"address":"` + rich.Hex() + `","storageKeys":["` + balanceSlot(e.user).Hex() + `"]}],"gasUsed":"0x1"}`)
	}
	call := map[string]any{"to": e.tokens[1], "data": pack(t, e.tokenABI, "balanceOf", e.user)}
	stats, _ := localWith(t, e, freshExecutor(t, e), src, MethodCall, call, "latest")
	if stats.Misses == 0 {
		t.Errorf("the real slot was not fetched on demand: %+v", stats)
	}
}
