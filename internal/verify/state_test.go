package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid/internal/devnet"
)

// stateSeedsFile holds real eth_getProof answers with their state roots:
// the fuzz corpus and an offline regression set. Rewrite it from a fresh
// devnet with BRAID_WRITE_STATE_SEEDS=1 go test -run TestVerifyProof$ .
var stateSeedsFile = filepath.Join("testdata", "state_proofs.json")

// stateSeed is one real answer: what was asked, against which root, and
// geth's result.
type stateSeed struct {
	Name      string          `json:"name"`
	StateRoot common.Hash     `json:"stateRoot"`
	Address   common.Address  `json:"address"`
	Slots     []common.Hash   `json:"slots"`
	Proof     json.RawMessage `json:"proof"`
}

// stateCase is an eth_getProof question on the devnet.
type stateCase struct {
	name    string
	header  *types.Header // the block asked at
	address common.Address
	slots   []string // slot parameters as sent
	exists  bool
	seed    bool // written to stateSeedsFile
}

// stateChain is a devnet with an EOA that has sent transactions, a
// contract with code and no storage, the token (code and storage), an
// older block and the cases to ask about.
type stateChain struct {
	rpc   *rpc.Client
	cases []stateCase
}

func newStateChain(t *testing.T) *stateChain {
	t.Helper()
	ctx := t.Context()
	dn, err := devnet.New(ctx, devnet.Options{Providers: 1})
	if err != nil {
		t.Fatalf("devnet: %v", err)
	}
	t.Cleanup(func() { dn.Close() })
	ec := ethclient.NewClient(dn.RPC())
	old, err := ec.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}

	user := dn.UserAccount().Address
	// A contract whose runtime code is one STOP and that stores nothing:
	// MSTORE8(0, 0); RETURN(0, 1).
	empty := crypto.CreateAddress(user, 0)
	stateSend(t, dn, ec, nil, nil, common.FromHex("0x600060005360016000f3"))
	fresh := common.HexToAddress("0x00000000000000000000000000000000000b4a1d")
	stateSend(t, dn, ec, &fresh, big.NewInt(params.GWei), nil)
	for range 3 {
		if _, err := dn.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	head, err := ec.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, err := ec.CodeAt(ctx, empty, nil); err != nil || !bytes.Equal(code, []byte{0}) {
		t.Fatalf("contract without storage: code %x, %v", code, err)
	}

	// The token's layout (contracts/Token.sol): 0 name, 1 symbol (short
	// strings, stored in place), 2 totalSupply, 3 balanceOf, 4 allowance.
	balanceOf := func(a common.Address) string {
		return crypto.Keccak256Hash(common.LeftPadBytes(a[:], 32), common.LeftPadBytes([]byte{3}, 32)).Hex()
	}
	stream, err := crypto.HexToECDSA(devnet.StreamKey[2:])
	if err != nil {
		t.Fatal(err)
	}
	streamAddr := crypto.PubkeyToAddress(stream.PublicKey)
	token := dn.Token()
	absent := common.BytesToAddress(crypto.Keccak256([]byte("braid verify: nobody")))
	two32 := common.BigToHash(big.NewInt(2)).Hex()
	return &stateChain{rpc: dn.RPC(), cases: []stateCase{
		{name: "funded EOA", header: head, address: user, exists: true, seed: true},
		{name: "EOA, slots of empty storage", header: head, address: fresh, slots: []string{"0x0", "0x1"}, exists: true, seed: true},
		{name: "contract without storage", header: head, address: empty, slots: []string{"0x0"}, exists: true},
		{name: "token, every kind of slot", header: head, address: token, exists: true, slots: []string{
			"0x0", "0x1", "0x2", "0x3", "0x4", "0x5", balanceOf(user), balanceOf(streamAddr), balanceOf(devnet.Recipients[2]), balanceOf(absent),
		}},
		{name: "token, a set and an unset slot", header: head, address: token, exists: true, seed: true, slots: []string{"0x5", two32}},
		{name: "token, slot forms", header: head, address: token, exists: true, slots: []string{
			"0x2", two32, "0x0000000000000000000000000000000000000000000000000000000000000000", "0x5", "2", "0x02",
		}},
		{name: "absent account", header: head, address: absent},
		{name: "absent account, slots", header: head, address: absent, slots: []string{"0x0", two32}, seed: true},
		{name: "older block: EOA", header: old, address: user, exists: true},
		{name: "older block: token", header: old, address: token, exists: true, slots: []string{"0x2", balanceOf(user)}},
		{name: "older block: contract not yet deployed", header: old, address: empty, slots: []string{"0x0"}},
	}}
}

// stateSend sends a transaction from the user account and mines it.
func stateSend(t *testing.T, dn *devnet.Devnet, ec *ethclient.Client, to *common.Address, value *big.Int, data []byte) {
	t.Helper()
	ctx := t.Context()
	key := dn.UserPrivateKey()
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := ec.PendingNonceAt(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	head, err := ec.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if value == nil {
		value = new(big.Int)
	}
	gas, err := ec.EstimateGas(ctx, ethereum.CallMsg{From: from, To: to, Value: value, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	chainID := new(big.Int).SetUint64(dn.ChainID())
	tip := big.NewInt(params.GWei)
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{
		ChainID: chainID, Nonce: nonce, GasTipCap: tip,
		GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip),
		Gas:       gas + gas/4, To: to, Value: value, Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ec.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if _, err := dn.CommitAll(ctx, key, nonce+1); err != nil {
		t.Fatal(err)
	}
	rcpt, err := ec.TransactionReceipt(ctx, tx.Hash())
	if err != nil || rcpt.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("transaction %s: %v %+v", tx.Hash(), err, rcpt)
	}
}

// stateCall returns a method's raw result, as geth wrote it.
func stateCall(t *testing.T, c *rpc.Client, method string, args ...any) json.RawMessage {
	t.Helper()
	var raw json.RawMessage
	if err := c.CallContext(t.Context(), &raw, method, args...); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return raw
}

// ask asks c's eth_getProof and returns the answer with what was asked.
func (c stateCase) ask(t *testing.T, client *rpc.Client) stateSeed {
	t.Helper()
	slots := []string{}
	if c.slots != nil {
		slots = c.slots
	}
	s := stateSeed{Name: c.name, StateRoot: c.header.Root, Address: c.address}
	s.Slots = make([]common.Hash, len(c.slots))
	for i, p := range c.slots {
		s.Slots[i] = stateSlot(t, p)
	}
	s.Proof = stateCall(t, client, "eth_getProof", c.address, slots, stateBlock(c.header))
	return s
}

func stateBlock(h *types.Header) map[string]any { return map[string]any{"blockHash": h.Hash()} }

func stateSlot(t testing.TB, param string) common.Hash {
	t.Helper()
	raw, _ := json.Marshal(param)
	k, err := SlotKey(raw)
	if err != nil {
		t.Fatalf("SlotKey(%s): %v", raw, err)
	}
	return k
}

// TestVerifyProof checks real proofs and that the answers derived from them
// are, byte for byte, what geth answers to eth_getBalance,
// eth_getTransactionCount, eth_getStorageAt and eth_getCode at the same
// block.
func TestVerifyProof(t *testing.T) {
	chain := newStateChain(t)
	var seeds []stateSeed
	for _, c := range chain.cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.ask(t, chain.rpc)
			if c.seed {
				seeds = append(seeds, s)
			}
			acct, err := VerifyProof(s.StateRoot, s.Address, s.Slots, s.Proof)
			if err != nil {
				t.Fatalf("VerifyProof: %v", err)
			}
			if acct.Address != c.address || acct.Exists != c.exists {
				t.Errorf("account %s exists=%v, want %s exists=%v", acct.Address, acct.Exists, c.address, c.exists)
			}
			if !acct.Exists && (acct.CodeHash != types.EmptyCodeHash || acct.StorageRoot != types.EmptyRootHash ||
				acct.Balance.Sign() != 0 || acct.Nonce != 0) {
				t.Errorf("absent account reads %+v", acct)
			}
			block := stateBlock(c.header)
			stateSame(t, "eth_getBalance", BalanceJSON(acct), stateCall(t, chain.rpc, "eth_getBalance", c.address, block))
			stateSame(t, "eth_getTransactionCount", NonceJSON(acct), stateCall(t, chain.rpc, "eth_getTransactionCount", c.address, block))
			for _, p := range c.slots {
				stateSame(t, "eth_getStorageAt "+p, StorageJSON(acct, stateSlot(t, p)),
					stateCall(t, chain.rpc, "eth_getStorageAt", c.address, p, block))
			}
			if len(acct.Storage) != len(uniqueSlots(s.Slots)) {
				t.Errorf("Storage has %d slots, asked for %d distinct", len(acct.Storage), len(uniqueSlots(s.Slots)))
			}
			rawCode := stateCall(t, chain.rpc, "eth_getCode", c.address, block)
			var code hexutil.Bytes
			if err := json.Unmarshal(rawCode, &code); err != nil {
				t.Fatal(err)
			}
			if err := VerifyCode(acct, code); err != nil {
				t.Errorf("VerifyCode: %v", err)
			}
			stateSame(t, "eth_getCode", CodeJSON(code), rawCode)
			for _, bad := range [][]byte{append(slices.Clone(code), 0), {0x60}, nil} {
				if bytes.Equal(bad, code) {
					continue
				}
				if err := VerifyCode(acct, bad); !isVerifyError(err) {
					t.Errorf("VerifyCode(%x) = %v, want *Error", bad, err)
				}
			}
		})
	}
	if os.Getenv("BRAID_WRITE_STATE_SEEDS") != "" {
		b, err := json.MarshalIndent(seeds, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(stateSeedsFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d seeds to %s", len(seeds), stateSeedsFile)
	}
}

func stateSame(t *testing.T, what string, got, want json.RawMessage) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: derived %s, geth answers %s", what, got, want)
	}
}

func uniqueSlots(s []common.Hash) []common.Hash {
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b common.Hash) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(s)
}

func isVerifyError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// TestVerifyProofMutations tampers with every real answer in every way a
// lying provider could and expects an *Error each time.
func TestVerifyProofMutations(t *testing.T) {
	chain := newStateChain(t)
	var seeds []stateSeed
	for _, c := range chain.cases {
		seeds = append(seeds, c.ask(t, chain.rpc))
	}
	stateMutate(t, seeds)
}

// TestVerifyProofSeeds checks the committed real answers offline: each
// still verifies, to the account it proves, and no mutation of it does.
func TestVerifyProofSeeds(t *testing.T) {
	seeds := loadStateSeeds(t)
	for _, s := range seeds {
		if _, err := VerifyProof(s.StateRoot, s.Address, s.Slots, s.Proof); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
	stateMutate(t, seeds)
}

func loadStateSeeds(t testing.TB) []stateSeed {
	t.Helper()
	b, err := os.ReadFile(stateSeedsFile)
	if err != nil {
		t.Fatal(err)
	}
	var seeds []stateSeed
	if err := json.Unmarshal(b, &seeds); err != nil {
		t.Fatalf("%s: %v", stateSeedsFile, err)
	}
	if len(seeds) == 0 {
		t.Fatalf("%s holds no seeds", stateSeedsFile)
	}
	for i := range seeds {
		var buf bytes.Buffer
		if err := json.Compact(&buf, seeds[i].Proof); err != nil {
			t.Fatal(err)
		}
		seeds[i].Proof = buf.Bytes()
	}
	return seeds
}

// wireProof is geth's AccountResult with every member kept as sent.
type wireProof struct {
	Address      string     `json:"address"`
	AccountProof []string   `json:"accountProof"`
	Balance      string     `json:"balance"`
	CodeHash     string     `json:"codeHash"`
	Nonce        string     `json:"nonce"`
	StorageHash  string     `json:"storageHash"`
	StorageProof []wireSlot `json:"storageProof"`
}

type wireSlot struct {
	Key   string   `json:"key"`
	Value string   `json:"value"`
	Proof []string `json:"proof"`
}

// stateVariant is one tampered answer.
type stateVariant struct {
	name string
	root common.Hash
	raw  json.RawMessage
}

// stateMutate checks that every tampered variant of each seed fails with
// an *Error.
func stateMutate(t *testing.T, seeds []stateSeed) {
	t.Helper()
	for i, s := range seeds {
		// Re-encoding the unchanged answer must still verify, or the
		// variants below prove nothing.
		if _, err := VerifyProof(s.StateRoot, s.Address, s.Slots, stateEdit(t, s, func(*wireProof) {})); err != nil {
			t.Fatalf("%s: re-encoded answer: %v", s.Name, err)
		}
		variants := stateVariants(t, s, seeds[(i+1)%len(seeds)], seeds)
		for _, v := range variants {
			acct, err := VerifyProof(v.root, s.Address, s.Slots, v.raw)
			if !isVerifyError(err) {
				t.Errorf("%s, %s: VerifyProof = %+v, %v; want *Error", s.Name, v.name, acct, err)
			}
		}
		t.Logf("%s: %d tampered variants rejected", s.Name, len(variants))
	}
}

func stateEdit(t testing.TB, s stateSeed, edit func(*wireProof)) json.RawMessage {
	t.Helper()
	var w wireProof
	if err := json.Unmarshal(s.Proof, &w); err != nil {
		t.Fatal(err)
	}
	edit(&w)
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func stateVariants(t testing.TB, s, next stateSeed, all []stateSeed) []stateVariant {
	var w wireProof
	if err := json.Unmarshal(s.Proof, &w); err != nil {
		t.Fatal(err)
	}
	var out []stateVariant
	add := func(name string, edit func(*wireProof)) {
		out = append(out, stateVariant{name: name, root: s.StateRoot, raw: stateEdit(t, s, edit)})
	}
	plusOne := func(q string) string {
		return hexutil.EncodeBig(new(big.Int).Add(hexutil.MustDecodeBig(q), big.NewInt(1)))
	}
	flip := func(h string) string {
		b := common.FromHex(h)
		b[len(b)/2] ^= 0x01
		return hexutil.Encode(b)
	}

	add("balance +1 wei", func(w *wireProof) { w.Balance = plusOne(w.Balance) })
	if w.Balance != "0x0" {
		add("balance -1 wei", func(w *wireProof) {
			w.Balance = hexutil.EncodeBig(new(big.Int).Sub(hexutil.MustDecodeBig(w.Balance), big.NewInt(1)))
		})
		add("balance zero", func(w *wireProof) { w.Balance = "0x0" })
	}
	add("nonce +1", func(w *wireProof) {
		w.Nonce = hexutil.EncodeUint64(hexutil.MustDecodeUint64(w.Nonce) + 1)
	})
	add("codeHash flipped", func(w *wireProof) { w.CodeHash = flip(w.CodeHash) })
	add("storageHash flipped", func(w *wireProof) { w.StorageHash = flip(w.StorageHash) })
	zero := common.Hash{}.Hex()
	if w.CodeHash != zero && w.CodeHash != types.EmptyCodeHash.Hex() {
		add("codeHash empty", func(w *wireProof) { w.CodeHash = types.EmptyCodeHash.Hex() })
	}
	if w.CodeHash != zero {
		add("codeHash zero", func(w *wireProof) { w.CodeHash = zero })
	}
	if w.StorageHash != zero {
		add("storageHash zero", func(w *wireProof) { w.StorageHash = zero })
	}
	if w.StorageHash != zero && w.StorageHash != types.EmptyRootHash.Hex() {
		add("storageHash empty", func(w *wireProof) { w.StorageHash = types.EmptyRootHash.Hex() })
	}
	add("address of another account", func(w *wireProof) { w.Address = common.Address{0x42}.Hex() })
	for i := range w.AccountProof {
		add("account proof node "+strconv.Itoa(i)+" flipped", func(w *wireProof) { w.AccountProof[i] = flip(w.AccountProof[i]) })
		add("account proof node "+strconv.Itoa(i)+" dropped", func(w *wireProof) {
			w.AccountProof = slices.Delete(w.AccountProof, i, i+1)
		})
	}
	add("account proof empty", func(w *wireProof) { w.AccountProof = nil })
	if next.Address != s.Address {
		out = append(out, stateVariant{name: "answer for another address", root: s.StateRoot, raw: next.Proof})
		other := stateEdit(t, next, func(o *wireProof) { o.Address = w.Address })
		out = append(out, stateVariant{name: "proof of another address, renamed", root: s.StateRoot, raw: other})
	}
	for _, o := range all {
		var ow wireProof
		if err := json.Unmarshal(o.Proof, &ow); err != nil {
			t.Fatal(err)
		}
		// Another account's proof that holds every node of this one still
		// proves this one (an absence proof that is its prefix).
		if o.Address != s.Address && o.StateRoot == s.StateRoot && !stateSubset(w.AccountProof, ow.AccountProof) {
			add("account proof of "+o.Name, func(w *wireProof) { w.AccountProof = ow.AccountProof })
		}
	}
	roots := []common.Hash{crypto.Keccak256Hash(s.StateRoot[:])}
	if w.CodeHash != zero {
		// An empty state truly holds no account.
		roots = append(roots, types.EmptyRootHash)
	}
	for _, o := range all {
		if o.StateRoot != s.StateRoot && !slices.Contains(roots, o.StateRoot) {
			roots = append(roots, o.StateRoot)
		}
	}
	for _, r := range roots {
		out = append(out, stateVariant{name: "wrong state root " + r.Hex(), root: r, raw: s.Proof})
	}

	for i, e := range w.StorageProof {
		n := "slot " + e.Key + " "
		add(n+"value +1", func(w *wireProof) { w.StorageProof[i].Value = plusOne(e.Value) })
		if e.Value != "0x0" {
			add(n+"value zero", func(w *wireProof) { w.StorageProof[i].Value = "0x0" })
		}
		add(n+"dropped", func(w *wireProof) { w.StorageProof = slices.Delete(w.StorageProof, i, i+1) })
		add(n+"answered twice", func(w *wireProof) { w.StorageProof = append(w.StorageProof, w.StorageProof[i]) })
		add(n+"key not asked for", func(w *wireProof) {
			w.StorageProof[i].Key = crypto.Keccak256Hash([]byte("not asked")).Hex()
		})
		for k := range e.Proof {
			add(n+"proof node "+strconv.Itoa(k)+" flipped", func(w *wireProof) {
				w.StorageProof[i].Proof[k] = flip(e.Proof[k])
			})
			add(n+"proof node "+strconv.Itoa(k)+" dropped", func(w *wireProof) {
				w.StorageProof[i].Proof = slices.Delete(slices.Clone(e.Proof), k, k+1)
			})
		}
		for _, f := range w.StorageProof {
			if stateSlot(t, f.Key) == stateSlot(t, e.Key) {
				continue
			}
			if f.Value != e.Value {
				add(n+"proof and value of slot "+f.Key, func(w *wireProof) {
					w.StorageProof[i].Proof, w.StorageProof[i].Value = f.Proof, f.Value
				})
			}
			if !stateSubset(e.Proof, f.Proof) {
				add(n+"proof of slot "+f.Key, func(w *wireProof) { w.StorageProof[i].Proof = f.Proof })
			}
			add(n+"renamed to slot "+f.Key, func(w *wireProof) { w.StorageProof[i].Key = f.Key })
		}
	}
	return out
}

// stateSubset reports whether every node of a is in b.
func stateSubset(a, b []string) bool {
	for _, n := range a {
		if !slices.Contains(b, n) {
			return false
		}
	}
	return true
}

// TestVerifyProofDecoding checks the strictness of the decoding on a real
// answer: anything a client could read differently, or that is not
// canonical hex, is an *Error.
func TestVerifyProofDecoding(t *testing.T) {
	seeds := loadStateSeeds(t)
	var s stateSeed // an answer with storage entries and proofs
	for _, c := range seeds {
		if strings.Contains(c.Name, "token") {
			s = c
			break
		}
	}
	if s.Proof == nil {
		t.Fatal("no seed with storage")
	}
	proof := string(s.Proof)
	replace := func(old, new string) json.RawMessage {
		if !strings.Contains(proof, old) {
			t.Fatalf("answer has no %q", old)
		}
		return json.RawMessage(strings.Replace(proof, old, new, 1))
	}
	var w wireProof
	if err := json.Unmarshal(s.Proof, &w); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		raw  json.RawMessage
	}{
		{"null", json.RawMessage("null")},
		{"empty", json.RawMessage("")},
		{"array", json.RawMessage("[]")},
		{"string", json.RawMessage(`"0x1"`)},
		{"trailing data", json.RawMessage(proof + "{}")},
		{"truncated", json.RawMessage(proof[:len(proof)-1])},
		{"balance twice", replace(`"balance":`, `"balance":"0x0","balance":`)},
		{"balance in another case", replace(`"balance":`, `"Balance":"0x0","balance":`)},
		{"balance in another case, after", replace(`"balance":"`+w.Balance+`"`, `"balance":"`+w.Balance+`","BALANCE":"0x0"`)},
		{"storageHash in unicode case", replace(`"codeHash":`, `"ſtorageHash":"0x00","codeHash":`)},
		{"no balance", replace(`"balance":"`+w.Balance+`",`, ``)},
		{"balance null", replace(`"balance":"`+w.Balance+`"`, `"balance":null`)},
		{"balance a number", replace(`"balance":"`+w.Balance+`"`, `"balance":1`)},
		{"balance with leading zero", replace(`"balance":"0x`, `"balance":"0x0`)},
		{"balance without 0x", replace(`"balance":"0x`, `"balance":"`)},
		{"nonce with leading zero", replace(`"nonce":"0x`, `"nonce":"0x0`)},
		{"no nonce", replace(`"nonce":"`+w.Nonce+`",`, ``)},
		{"no codeHash", replace(`"codeHash":"`+w.CodeHash+`",`, ``)},
		{"short codeHash", replace(`"codeHash":"`+w.CodeHash+`"`, `"codeHash":"`+w.CodeHash[:65]+`"`)},
		{"no address", replace(`"address":"`+w.Address+`",`, ``)},
		{"no accountProof", replace(`"accountProof":`, `"accountProofs":`)},
		{"proof node odd hex", replace(`"accountProof":["0x`, `"accountProof":["0x0`)},
		{"no storageProof", replace(`"storageProof":`, `"storageProofs":`)},
		{"storageProof not an array", replace(`"storageProof":[`, `"storageProof":{"a":[`)},
		{"storage value with leading zero", replace(`"value":"0x`, `"value":"0x0`)},
		{"storage value over 256 bits", replace(`"value":"0x`, `"value":"0x1`+strings.Repeat("0", 64))},
		{"storage key a number", replace(`"key":"`+w.StorageProof[0].Key+`"`, `"key":2`)},
		{"storage key twice", replace(`"key":`, `"key":"0x1","key":`)},
		{"storage Value", replace(`"value":`, `"Value":"0x0","value":`)},
		{"storage entry without proof", replace(`"proof":[`, `"proofs":[`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, err := VerifyProof(s.StateRoot, s.Address, s.Slots, tt.raw)
			if !isVerifyError(err) {
				t.Fatalf("VerifyProof = %+v, %v; want *Error", acct, err)
			}
			t.Log(err)
		})
	}
	// Members the standard does not name are not the verifier's business.
	if _, err := VerifyProof(s.StateRoot, s.Address, s.Slots, replace(`"balance":`, `"extra":{"balance":"0x0"},"balance":`)); err != nil {
		t.Errorf("unknown member: %v", err)
	}
	// Requesting the same slot twice needs it answered twice.
	if _, err := VerifyProof(s.StateRoot, s.Address, append(slices.Clone(s.Slots), s.Slots[0]), s.Proof); !isVerifyError(err) {
		t.Errorf("slot asked twice, answered once: %v", err)
	}
	if _, err := VerifyProof(s.StateRoot, s.Address, nil, s.Proof); !isVerifyError(err) {
		t.Errorf("no slot asked, some answered: %v", err)
	}
}

// TestVerifyProofAbsentForms checks the two ways of saying "no account"
// are both accepted for an absent account, and nothing else is.
func TestVerifyProofAbsentForms(t *testing.T) {
	var s stateSeed
	for _, c := range loadStateSeeds(t) {
		if strings.Contains(c.Name, "absent") {
			s = c
		}
	}
	if s.Proof == nil {
		t.Fatal("no seed of an absent account")
	}
	zero := common.Hash{}.Hex()
	tests := []struct {
		name                  string
		codeHash, storageHash string
		ok                    bool
	}{
		{"geth: zero hashes", zero, zero, true},
		{"EIP-1186: empty constants", types.EmptyCodeHash.Hex(), types.EmptyRootHash.Hex(), true},
		{"mixed", zero, types.EmptyRootHash.Hex(), true},
		{"swapped constants", types.EmptyRootHash.Hex(), types.EmptyCodeHash.Hex(), false},
		{"some code", crypto.Keccak256Hash([]byte{0}).Hex(), zero, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := stateEdit(t, s, func(w *wireProof) { w.CodeHash, w.StorageHash = tt.codeHash, tt.storageHash })
			acct, err := VerifyProof(s.StateRoot, s.Address, s.Slots, raw)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if acct.Exists || acct.CodeHash != types.EmptyCodeHash || acct.StorageRoot != types.EmptyRootHash {
					t.Errorf("absent account reads %+v", acct)
				}
				return
			}
			if !isVerifyError(err) {
				t.Fatalf("VerifyProof = %+v, %v; want *Error", acct, err)
			}
		})
	}
}

func TestSlotKey(t *testing.T) {
	two := common.BigToHash(big.NewInt(2))
	tests := []struct {
		raw  string
		want common.Hash
		ok   bool
	}{
		{`"0x0"`, common.Hash{}, true},
		{`"0x2"`, two, true},
		{`"0x02"`, two, true},
		{`"0X2"`, two, true},
		{`"2"`, two, true}, // geth: the prefix is optional
		{`"0x` + strings.Repeat("0", 63) + `2"`, two, true},
		{`"0x123"`, common.BigToHash(big.NewInt(0x123)), true},
		{`"0x"`, common.Hash{}, true}, // geth reads no digits as zero
		{`"0x` + strings.Repeat("f", 64) + `"`, common.HexToHash("0x" + strings.Repeat("f", 64)), true},
		{`"0x1` + strings.Repeat("0", 64) + `"`, common.Hash{}, false},
		{`"0xg"`, common.Hash{}, false},
		{`" 0x1"`, common.Hash{}, false},
		{`2`, common.Hash{}, false},
		{`null`, common.Hash{}, false},
		{`["0x1"]`, common.Hash{}, false},
		{``, common.Hash{}, false},
	}
	for _, tt := range tests {
		got, err := SlotKey(json.RawMessage(tt.raw))
		if !tt.ok {
			if !isVerifyError(err) {
				t.Errorf("SlotKey(%s) = %s, %v; want *Error", tt.raw, got.Hex(), err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("SlotKey(%s) = %s, %v; want %s", tt.raw, got.Hex(), err, tt.want.Hex())
		}
	}
}

func TestStateJSON(t *testing.T) {
	slot := common.BigToHash(big.NewInt(7))
	a := &Account{
		Balance: new(big.Int).Lsh(big.NewInt(1), 255), Nonce: 0x10,
		Storage: map[common.Hash]common.Hash{slot: common.BigToHash(big.NewInt(0xab))},
	}
	tests := []struct {
		name      string
		got, want json.RawMessage
	}{
		{"balance", BalanceJSON(a), json.RawMessage(`"0x8` + strings.Repeat("0", 63) + `"`)},
		{"zero balance", BalanceJSON(&Account{}), json.RawMessage(`"0x0"`)},
		{"nonce", NonceJSON(a), json.RawMessage(`"0x10"`)},
		{"zero nonce", NonceJSON(&Account{}), json.RawMessage(`"0x0"`)},
		{"storage", StorageJSON(a, slot), json.RawMessage(`"0x` + strings.Repeat("0", 62) + `ab"`)},
		{"storage not verified", StorageJSON(a, common.Hash{}), nil},
		{"code", CodeJSON([]byte{0x60, 0x00}), json.RawMessage(`"0x6000"`)},
		{"no code", CodeJSON(nil), json.RawMessage(`"0x"`)},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s: %s, want %s", tt.name, tt.got, tt.want)
		}
	}
	if err := VerifyCode(nil, nil); !isVerifyError(err) {
		t.Errorf("VerifyCode(nil) = %v", err)
	}
}
