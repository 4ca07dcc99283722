package evm

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// holder is an address no test's call read before.
func holder(i int) common.Address {
	return common.BigToAddress(big.NewInt(int64(7_000_000 + i)))
}

// TestLikeCallOneRoundTripInTime: a call braid never ran, to a contract
// and selector it ran with other arguments, goes out as one batch with
// the slots derived from its own arguments (a mapping's key from the
// calldata or the sender, a mapping of mappings), beside the hint: 2
// round trips, 1 in time, the hint adding nothing, nothing on demand. The
// answers equal the node's (localWith).
func TestLikeCallOneRoundTripInTime(t *testing.T) {
	e := testEnv(t)
	src := newDevSource(e.d.Providers()...)
	x := freshExecutor(t, e)
	calls := map[string]func(i int) map[string]any{
		"balanceOf": func(i int) map[string]any {
			return map[string]any{"to": e.tokens[3], "data": pack(t, e.tokenABI, "balanceOf", holder(i))}
		},
		"allowance (a mapping of mappings)": func(i int) map[string]any {
			return map[string]any{"to": e.tokens[3], "data": pack(t, e.tokenABI, "allowance", holder(i), holder(i+100))}
		},
		"transfer (the sender's balance)": func(i int) map[string]any {
			return map[string]any{"from": holder(i + 200), "to": e.tokens[4], "data": pack(t, e.tokenABI, "transfer", holder(i+300), big.NewInt(0))}
		},
		"10-token multicall": func(i int) map[string]any {
			return map[string]any{"to": e.multicall, "data": e.multicallOf(t, holder(i+400), e.tokens)}
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			stats, trips := localWith(t, e, x, src, MethodCall, call(0), "latest")
			if stats.Sequential() != 2 {
				t.Errorf("the first call: %d round trips, %+v; want 2 in time (nothing like it ran)", trips, stats)
			}
			for i := 1; i <= 2; i++ {
				stats, trips := localWith(t, e, x, src, MethodCall, call(i), "latest")
				if trips != 2 || stats.Sequential() != 1 || stats.Batches != 1 || stats.AccessLists != 1 || stats.Misses != 0 {
					t.Errorf("call %d like one that ran: %d round trips, %+v; want 2, 1 in time (the hint beside one batch), no miss", i, trips, stats)
				}
			}
		})
	}
}

// TestBogusHintBounded: a hint naming 1,024 slots the call never reads
// (or 1,024 accounts) costs at most the caps in proofs, and the answer is
// still the node's; an honest hint past the cap is fetched a batch at a
// time as the call reads what it named.
func TestBogusHintBounded(t *testing.T) {
	e := testEnv(t)
	call := map[string]any{"to": e.tokens[5], "data": pack(t, e.tokenABI, "balanceOf", e.user)}
	bogusSlots := func(real bool) string {
		keys := make([]string, 0, 1024)
		for i := range 1024 {
			if real && i == 40 {
				keys = append(keys, `"`+balanceSlot(e.user).Hex()+`"`)
			}
			keys = append(keys, `"`+common.BigToHash(big.NewInt(int64(1_000_000+i))).Hex()+`"`)
		}
		return `{"accessList":[{"address":"` + e.tokens[5].Hex() + `","storageKeys":[` + strings.Join(keys, ",") + `]}],"gasUsed":"0x1"}`
	}
	bogusAccounts := func() string {
		list := make([]string, 1024)
		for i := range list {
			list[i] = fmt.Sprintf(`{"address":"%s","storageKeys":[]}`, holder(10_000+i).Hex())
		}
		return `{"accessList":[` + strings.Join(list, ",") + `],"gasUsed":"0x1"}`
	}
	for _, c := range []struct {
		name      string
		hint      string
		maxSlots  int
		maxAccts  int
		wantMiss  bool
		wantTrips int64
	}{
		// The slot read is not in the hint: 16 bogus slots proven, the
		// rest dropped at the first miss; the real slot on demand.
		{"1,024 bogus slots", bogusSlots(false), DefaultHintSlots + 1, 4, true, 4},
		// The hint names the real slot past the cap: it comes on demand
		// with the next 16 hinted slots.
		{"the real slot past the cap", bogusSlots(true), 2*DefaultHintSlots + 1, 4, true, 4},
		// 1,024 accounts: at most HintEntries proven.
		{"1,024 bogus accounts", bogusAccounts(), 1, DefaultHintEntries + 3, true, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := newDevSource(e.d.Providers()...)
			src.tamper = func(_, m string, r json.RawMessage) json.RawMessage {
				if m != "eth_createAccessList" {
					return r
				}
				return json.RawMessage(c.hint)
			}
			stats, trips := localWith(t, e, freshExecutor(t, e), src, MethodCall, call, "latest")
			t.Logf("%d round trips, %+v", trips, stats)
			if stats.Slots > c.maxSlots || stats.Accounts > c.maxAccts {
				t.Errorf("proved %d slots and %d accounts; want at most %d and %d", stats.Slots, stats.Accounts, c.maxSlots, c.maxAccts)
			}
			if (stats.Misses > 0) != c.wantMiss || trips != c.wantTrips {
				t.Errorf("%d round trips, %d misses; want %d, a miss: %v", trips, stats.Misses, c.wantTrips, c.wantMiss)
			}
		})
	}
}

// TestShapeExplains: a slot is explained by what the call hashed, with
// keys from the calldata or the sender in Solidity's order or Vyper's,
// and derived again for new arguments; small words and words found
// nowhere stay constants.
func TestShapeExplains(t *testing.T) {
	word := func(b []byte) []byte { return common.LeftPadBytes(b, 32) }
	sender := common.HexToAddress("0x5e0de5e0de5e0de5e0de5e0de5e0de5e0de5e0d")
	a, b := common.HexToAddress("0xaaaa000000000000000000000000000000000001"), common.HexToAddress("0xbbbb000000000000000000000000000000000002")
	input := append(append([]byte{1, 2, 3, 4}, word(a[:])...), word(b[:])...)
	pre := map[common.Hash][]byte{}
	hash := func(k, base []byte) common.Hash {
		p := append(append([]byte{}, k...), base...)
		h := crypto.Keccak256Hash(p)
		pre[h] = p
		return h
	}
	solidity := hash(word(a[:]), word([]byte{3}))                         // balanceOf[a]
	nested := hash(word(b[:]), hash(word(a[:]), word([]byte{4})).Bytes()) // allowance[a][b]
	vyper := hash(word([]byte{5}), word(sender[:]))                       // vyper: keccak(slot . key)
	constant := common.BigToHash(big.NewInt(2))                           // totalSupply
	unknown := hash(word([]byte{9, 9, 9, 9, 9, 9}), word([]byte{6}))      // a key found nowhere
	read := []common.Hash{solidity, nested, vyper, constant, unknown}
	s := newShapes()
	key := common.Hash{1}
	to := common.Address{9}
	s.put(key, types.AccessList{{Address: to, StorageKeys: read}}, pre, input, sender)

	a2, b2 := common.HexToAddress("0xaaaa0000000000000000000000000000000000f1"), common.HexToAddress("0xbbbb0000000000000000000000000000000000f2")
	sender2 := common.HexToAddress("0x5e0de5e0de5e0de5e0de5e0de5e0de5e0de5eff")
	input2 := append(append([]byte{1, 2, 3, 4}, word(a2[:])...), word(b2[:])...)
	got, ok := s.guess(key, input2, sender2)
	if !ok || len(got) != 1 || got[0].Address != to {
		t.Fatalf("guess: %v, %v", got, ok)
	}
	kk := func(k, base []byte) common.Hash { return crypto.Keccak256Hash(k, base) }
	want := []common.Hash{
		kk(word(a2[:]), word([]byte{3})),
		kk(word(b2[:]), kk(word(a2[:]), word([]byte{4})).Bytes()),
		kk(word([]byte{5}), word(sender2[:])),
		constant,
		unknown,
	}
	if fmt.Sprint(got[0].StorageKeys) != fmt.Sprint(want) {
		t.Errorf("guessed slots\n%v\nwant\n%v", got[0].StorageKeys, want)
	}
	// Calldata too short for a derived word: that slot is left out.
	got, _ = s.guess(key, input2[:20], sender2)
	if n := len(got[0].StorageKeys); n != 3 {
		t.Errorf("with short calldata %d slots guessed, want 3 (the sender's, the constants)", n)
	}
}
