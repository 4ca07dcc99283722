package evm

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/devnet"
)

// freshExecutor is an executor with nothing cached, on the env's chain.
func freshExecutor(t testing.TB, e *env) *Executor {
	t.Helper()
	x, err := New(Config{Chain: e.d.ChainConfig()})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// localWith runs one call through executor x and checks it against the
// node; it returns the Source round trips it cost.
func localWith(t *testing.T, e *env, x *Executor, src *devSource, method string, params ...any) (Stats, int64) {
	t.Helper()
	before := src.trips.Load()
	keep := e.exec
	e.exec = x
	got, stats := e.local(t, src, method, params...)
	e.exec = keep
	if want := e.node(t, method, params...); !sameAnswer(got, want) {
		t.Fatalf("%s: local EVM answers\n%s\nnode answers\n%s", method, got, want)
	}
	trips := src.trips.Load() - before
	if int64(stats.RoundTrips()) != trips && len(src.live()) == len(src.providers) {
		t.Errorf("%s: stats count %d round trips, the providers saw %d", method, stats.RoundTrips(), trips)
	}
	return stats, trips
}

// TestRoundTrips: a call new to the executor costs the access-list hint
// and, at the same time, a batch of what needs no hint (sender, fee
// recipient, recipient and its code), then a batch of what the hint adds:
// 3 round trips, 2 in time; a 10-token multicall too (≤ 3 is the goal);
// gas estimation and an access list of a call whose state is loaded cost
// nothing more.
func TestRoundTrips(t *testing.T) {
	e := testEnv(t)
	src := newDevSource(e.d.Providers()...)
	balance := map[string]any{"from": e.user, "to": e.tokens[0], "data": pack(t, e.tokenABI, "balanceOf", e.user)}
	multi := map[string]any{"from": e.user, "to": e.multicall, "data": e.multicallOf(t, e.user, e.tokens)}

	x := freshExecutor(t, e)
	stats, trips := localWith(t, e, x, src, MethodCall, balance, "latest")
	if trips != 3 || stats.Sequential() != 2 || stats.Misses != 0 || stats.AccessLists != 1 || stats.Batches != 2 || stats.Slots != 1 {
		t.Errorf("balanceOf: %d round trips, stats %+v; want 3, 2 in time (the hint beside the first batch, then the slot), no miss", trips, stats)
	}
	for _, m := range []string{MethodEstimateGas, MethodCreateAccessList, MethodCall} {
		if stats, trips := localWith(t, e, x, src, m, balance, "latest"); trips != 0 {
			t.Errorf("%s after eth_call: %d round trips (%+v), want 0", m, trips, stats)
		}
	}
	// A reverted call's state is loaded too; a call refused for its
	// parameters loads none and is not taken as loaded.
	reverts := map[string]any{"from": e.user, "to": e.tokens[1], "data": pack(t, e.tokenABI, "transfer", e.user, new(big.Int).Lsh(big.NewInt(1), 200))}
	localWith(t, e, x, src, MethodCall, reverts, "latest")
	if _, trips := localWith(t, e, x, src, MethodEstimateGas, reverts, "latest"); trips != 0 {
		t.Errorf("eth_estimateGas after a reverted eth_call: %d round trips, want 0", trips)
	}
	plain := map[string]any{"from": e.user, "to": e.tokens[2], "data": pack(t, e.tokenABI, "balanceOf", e.user)}
	refused := map[string]any{"from": e.user, "to": e.tokens[2], "data": pack(t, e.tokenABI, "balanceOf", e.user), "gasPrice": "0x1", "maxFeePerGas": "0x1"}
	localWith(t, e, x, src, MethodCall, refused, "latest")
	if stats, _ := localWith(t, e, x, src, MethodCall, plain, "latest"); stats.AccessLists != 1 || stats.Misses != 0 {
		t.Errorf("a call after its refused twin: %+v, want the hint asked, no miss", stats)
	}

	stats, trips = localWith(t, e, x, src, MethodCall, multi, "latest")
	t.Logf("10-token multicall: %d round trips, %+v, %d bytes fetched so far", trips, stats, src.bytes.Load())
	if trips > 3 || stats.Sequential() != 2 || stats.Misses != 0 {
		t.Errorf("10-token multicall: %d round trips, %+v; want ≤ 3, 2 in time, no miss", trips, stats)
	}
	if _, trips := localWith(t, e, x, src, MethodEstimateGas, multi, "latest"); trips != 0 {
		t.Errorf("eth_estimateGas after the multicall's eth_call: %d round trips, want 0", trips)
	}

	// Cold, gas estimation loads the state once: its many runs share it.
	x = freshExecutor(t, e)
	stats, trips = localWith(t, e, x, src, MethodEstimateGas, multi, "latest")
	if trips > 3 || stats.Misses != 0 {
		t.Errorf("cold eth_estimateGas of the multicall: %d round trips, %d misses; want ≤ 3 and none", trips, stats.Misses)
	}
	if stats.Accounts != 13 || stats.Slots != 10 {
		t.Errorf("the multicall proved %d accounts and %d slots, want 13 (10 tokens, multicall, sender, fee recipient) and 10", stats.Accounts, stats.Slots)
	}
	// At another block the state is proven again, in one round trip: what
	// the call read last time is the hint (no eth_createAccessList), and
	// the code is at hand.
	stats, trips = localWith(t, e, x, src, MethodEstimateGas, multi, map[string]any{"blockHash": e.head(t).ParentHash})
	if trips != 1 || stats.AccessLists != 0 || stats.Misses != 0 || stats.CodeBytes != 0 || stats.Accounts != 13 {
		t.Errorf("the multicall at another block: %d round trips, %+v; want 1 (no hint asked, no miss), all 13 accounts proven again, no code fetched", trips, stats)
	}
}

// TestStaleCodeGuess: when an account's code changed since it was last
// proven, the code at hand is not used: the right code comes with the
// hint's batch, once the account's code hash is proven.
func TestStaleCodeGuess(t *testing.T) {
	e := testEnv(t)
	x := freshExecutor(t, e)
	other := []byte{0x60, 0x00, 0x60, 0x00, 0xf3} // returns nothing
	x.cache.codes.Add(keccak(other), other)
	x.cache.codeHashes.Add(e.tokens[0], keccak(other))
	src := newDevSource(e.d.Providers()...)
	call := map[string]any{"to": e.tokens[0], "data": pack(t, e.tokenABI, "balanceOf", e.user)}
	stats, trips := localWith(t, e, x, src, MethodCall, call, "latest")
	if trips != 3 || stats.Codes != 0 || stats.Misses != 0 || stats.CodeBytes == 0 {
		t.Errorf("%d round trips, %+v; want the hint beside the batch without code, then the batch of the slot with the right code", trips, stats)
	}
}

// TestHintOnlyCostsSpeed: a hint that is empty, names wrong slots, drops
// an entry, or names thousands of accounts changes the round trips, not
// the answer (localWith compares every answer with the node's).
func TestHintOnlyCostsSpeed(t *testing.T) {
	e := testEnv(t)
	multi := map[string]any{"to": e.multicall, "data": e.multicallOf(t, e.user, e.tokens)}
	p := e.d.Providers()[0]
	tampers := map[string]func(string, string, json.RawMessage) json.RawMessage{
		"empty": func(_, m string, r json.RawMessage) json.RawMessage {
			if m == "eth_createAccessList" {
				return []byte(`{"accessList":[],"gasUsed":"0x0"}`)
			}
			return r
		},
		"huge": func(_, m string, r json.RawMessage) json.RawMessage {
			if m != "eth_createAccessList" {
				return r
			}
			out := []byte(`{"accessList":[`)
			for i := range 5000 {
				if i > 0 {
					out = append(out, ',')
				}
				out = append(out, []byte(`{"address":"0x`+hex40(i)+`","storageKeys":["0x`+hex40(i)+`000000000000000000000000"]}`)...)
			}
			return append(out, []byte(`],"gasUsed":"0x0"}`)...)
		},
		"not JSON": func(_, m string, r json.RawMessage) json.RawMessage {
			if m == "eth_createAccessList" {
				return []byte(`"nonsense"`)
			}
			return r
		},
	}
	for name, tamper := range tampers {
		t.Run(name, func(t *testing.T) {
			src := newDevSource(e.d.Providers()...)
			src.tamper = tamper
			stats, trips := localWith(t, e, freshExecutor(t, e), src, MethodCall, multi, "latest")
			t.Logf("%s hint: %d round trips, %+v", name, trips, stats)
			if name != "huge" && stats.Misses == 0 {
				t.Errorf("a useless hint cost no fetch on demand: %+v", stats)
			}
		})
	}
	for _, kind := range []string{"alter", "drop", "add"} {
		t.Run("devnet lie "+kind, func(t *testing.T) {
			// Lie kinds drop and add only change lists: of the calls the
			// executor makes, the access list alone.
			p.SetFaults(devnet.Faults{Lie: true, LieKind: kind})
			defer p.SetFaults(devnet.Faults{})
			src := newDevSource(e.d.Providers()...)
			stats, trips := localWith(t, e, freshExecutor(t, e), src, MethodCall, multi, "latest")
			t.Logf("devnet %s hint: %d round trips, %+v", kind, trips, stats)
			if kind != "add" && stats.Misses == 0 {
				t.Errorf("a wrong hint cost no fetch on demand: %+v", stats)
			}
		})
	}
}

func hex40(i int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 40)
	for j := range b {
		b[j] = '0'
	}
	for j := 39; i > 0 && j >= 0; j-- {
		b[j] = digits[i%16]
		i /= 16
	}
	b[0] = 'a'
	return string(b)
}

// TestRememberedHintOnlyCostsSpeed: a remembered read set that is wrong
// (the call took another path since) costs fetches on demand, never the
// answer, and is replaced by what the call read: on the next block the
// call costs one round trip again, with nothing fetched on demand.
func TestRememberedHintOnlyCostsSpeed(t *testing.T) {
	e := testEnv(t)
	src := newDevSource(e.d.Providers()...)
	x := freshExecutor(t, e)
	multi := map[string]any{"to": e.multicall, "data": e.multicallOf(t, e.user, e.tokens)}
	raw, err := json.Marshal([]any{multi, "latest"})
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseRequest(MethodCall, raw)
	if err != nil {
		t.Fatal(err)
	}
	// A read set naming the wrong state: one token only, a slot it never reads.
	x.cache.hints.put(fingerprint(req), types.AccessList{{Address: e.tokens[0], StorageKeys: []common.Hash{{1}}}})
	head := e.head(t).Number.Uint64()
	at := func(back uint64) string { return hexutil.EncodeUint64(head - back) }
	stats, trips := localWith(t, e, x, src, MethodCall, multi, at(0))
	if stats.AccessLists != 0 || stats.Misses == 0 {
		t.Errorf("with a wrong remembered read set: %d round trips, %+v; want no hint asked and fetches on demand", trips, stats)
	}
	stats, trips = localWith(t, e, x, src, MethodCall, multi, at(1))
	if trips != 1 || stats.AccessLists != 0 || stats.Misses != 0 {
		t.Errorf("on the next block: %d round trips, %+v; want 1, nothing on demand (the read set was replaced)", trips, stats)
	}
}
