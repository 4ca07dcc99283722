package devnet

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestFaultLie(t *testing.T) {
	d := newTestDevnet(t, 2)
	p := d.Providers()[0]
	ref := latestRefs(t, d)
	user := d.UserAccount().Address
	p.SetFaults(Faults{Lie: true})

	lies := []struct {
		method string
		params []any
	}{
		{"eth_getBalance", []any{user, "latest"}},
		{"eth_getTransactionCount", []any{Recipients[0], "latest"}},
		{"eth_getStorageAt", []any{d.Token(), "0x2", "latest"}},
		{"eth_getCode", []any{d.Token(), "latest"}},
		{"eth_getCode", []any{user, "latest"}}, // "0x"
		{"eth_call", []any{balanceOfCall(d, user), "latest"}},
		{"eth_getBlockByNumber", []any{ref.number, false}},
		{"eth_getBlockByHash", []any{ref.block, true}},
		{"eth_getTransactionReceipt", []any{ref.tokenTx}},
		{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "address": d.Token()}}},
		{"eth_getTransactionByHash", []any{ref.tokenTx}},
		{"eth_getProof", []any{user, []string{}, "latest"}},
		{"eth_createAccessList", []any{balanceOfCall(d, user), "latest"}},
	}
	for _, tt := range lies {
		t.Run(tt.method, func(t *testing.T) {
			got := mustCall(t, p, tt.method, tt.params...)
			want := mustHonest(t, d, tt.method, tt.params...)
			if string(got) == string(want) {
				t.Fatalf("lie equals the truth: %.100s", got)
			}
			if !json.Valid(got) {
				t.Fatalf("lie is not JSON: %s", got)
			}
			if !sameShape(t, got, want) {
				t.Errorf("lie has another shape\n got %.200s\nwant %.200s", got, want)
			}
			if again := mustCall(t, p, tt.method, tt.params...); string(again) != string(got) {
				t.Errorf("lie changed between calls\nfirst %.200s\n then %.200s", got, again)
			}
			other := d.Providers()[1]
			other.SetFaults(Faults{Lie: true, LieVariant: 2})
			defer other.SetFaults(Faults{})
			if lie2 := mustCall(t, other, tt.method, tt.params...); string(lie2) == string(got) || string(lie2) == string(want) {
				t.Errorf("variant 2 tells the same lie or the truth: %.200s", lie2)
			}
		})
	}

	honestAnswers := []struct {
		method string
		params []any
	}{
		{"eth_chainId", nil},
		{"eth_blockNumber", nil},
		{"eth_getBlockTransactionCountByHash", []any{ref.block}},
		{"eth_getTransactionByHash", []any{"0x00000000000000000000000000000000000000000000000000000000000000ff"}},
	}
	for _, tt := range honestAnswers {
		got := mustCall(t, p, tt.method, tt.params...)
		if want := mustHonest(t, d, tt.method, tt.params...); string(got) != string(want) {
			t.Errorf("%s: lying provider changed an answer it should not: %s, want %s", tt.method, got, want)
		}
	}

	p.SetFaults(Faults{})
	for _, tt := range lies {
		got := mustCall(t, p, tt.method, tt.params...)
		if want := mustHonest(t, d, tt.method, tt.params...); string(got) != string(want) {
			t.Errorf("%s after clear: %.100s, want %.100s", tt.method, got, want)
		}
	}
}

// sameShape reports whether two JSON values have the same structure: the
// same object keys in the same order, arrays of the same length, and
// strings where strings were.
func sameShape(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	if oa, ok := parseObject(a); ok {
		ob, ok := parseObject(b)
		if !ok || len(oa) != len(ob) {
			return false
		}
		for i := range oa {
			if oa[i].key != ob[i].key || !sameShape(t, oa[i].value, ob[i].value) {
				return false
			}
		}
		return true
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	if la, ok := va.([]any); ok {
		lb, ok := vb.([]any)
		if !ok || len(la) != len(lb) {
			return false
		}
		var ra, rb []json.RawMessage
		json.Unmarshal(a, &ra)
		json.Unmarshal(b, &rb)
		for i := range ra {
			if !sameShape(t, ra[i], rb[i]) {
				return false
			}
		}
		return true
	}
	return reflect.TypeOf(va) == reflect.TypeOf(vb)
}

func TestFaultLieKinds(t *testing.T) {
	d := newTestDevnet(t, 1)
	p := d.Providers()[0]
	ref := latestRefs(t, d)
	count := func(method string, params ...any) int {
		t.Helper()
		raw := mustCall(t, p, method, params...)
		var list []json.RawMessage
		if method == "eth_getLogs" {
			_ = json.Unmarshal(raw, &list)
			return len(list)
		}
		var o struct {
			Transactions []json.RawMessage `json:"transactions"`
			Logs         []json.RawMessage `json:"logs"`
			AccessList   []json.RawMessage `json:"accessList"`
		}
		_ = json.Unmarshal(raw, &o)
		return len(o.Transactions) + len(o.Logs) + len(o.AccessList)
	}
	logsFilter := map[string]any{"fromBlock": "0x0", "address": d.Token()}
	calls := []struct {
		method string
		params []any
	}{
		{"eth_getBlockByHash", []any{ref.block, true}},
		{"eth_getTransactionReceipt", []any{ref.tokenTx}},
		{"eth_getLogs", []any{logsFilter}},
		{"eth_createAccessList", []any{balanceOfCall(d, d.UserAccount().Address), "latest"}},
	}
	honest := make([]int, len(calls))
	for i, c := range calls {
		honest[i] = count(c.method, c.params...)
		if honest[i] == 0 {
			t.Fatalf("%s: nothing to drop", c.method)
		}
	}
	for kind, delta := range map[string]int{LieDrop: -1, LieAdd: 1} {
		p.SetFaults(Faults{Lie: true, LieKind: kind})
		for i, c := range calls {
			if got := count(c.method, c.params...); got != honest[i]+delta {
				t.Errorf("%s %s: %d elements, want %d", kind, c.method, got, honest[i]+delta)
			}
		}
	}
	if err := (Faults{Lie: true, LieKind: "swap"}).Validate(); err == nil {
		t.Error("an unknown lie kind is valid")
	}
}
