package verify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
)

// Account is a verified eth_getProof answer.
type Account struct {
	Address     common.Address
	Exists      bool                        // false: the proof shows no account at Address
	Balance     *big.Int                    // 0 when absent
	Nonce       uint64                      // 0 when absent
	CodeHash    common.Hash                 // types.EmptyCodeHash when absent or no code
	StorageRoot common.Hash                 // types.EmptyRootHash when absent or no storage
	Storage     map[common.Hash]common.Hash // requested slot (as 32-byte key) → value (32 bytes, left-padded; zero when absent)
}

// VerifyProof checks raw (an eth_getProof result object) against stateRoot,
// for address and the storage slots asked for (slots as 32-byte keys). It
// returns the proven account; any mismatch between the JSON's claimed
// fields (balance, nonce, codeHash, storageHash, each storage value,
// address) and what the proof proves is an *Error. Every requested slot
// must be present in storageProof exactly once (a slot asked for n times
// must be there n times, as geth answers); an entry for a slot not asked
// for is an *Error.
//
// Proofs of absence are accepted: an account missing from the state trie
// has Exists false, and its JSON must claim a zero balance and nonce, a
// codeHash of zero (what geth sends) or types.EmptyCodeHash, and a
// storageHash of zero (what geth sends) or types.EmptyRootHash. Every
// storage slot of an absent account, or of an account whose storage root is
// types.EmptyRootHash, is zero whatever proof nodes come with it (geth
// sends none).
//
// The decoding is strict where it matters to a client reading the same
// JSON: quantities and hashes must be canonical hex (hexutil), and a member
// given twice, or spelt in another case than the standard's (which
// encoding/json would silently match), is an *Error. Unknown members are
// ignored.
func VerifyProof(stateRoot common.Hash, address common.Address, slots []common.Hash, raw json.RawMessage) (*Account, error) {
	claim, err := decodeProofAnswer(raw)
	if err != nil {
		return nil, err
	}
	if claim.Address != address {
		return nil, errorf("proof is for account %s, not %s", claim.Address.Hex(), address.Hex())
	}
	acct, err := proveAccount(stateRoot, address, claim.AccountProof)
	if err != nil {
		return nil, err
	}
	if err := checkAccountClaim(acct, claim); err != nil {
		return nil, err
	}

	want := make(map[common.Hash]int, len(slots))
	for _, s := range slots {
		want[s]++
	}
	got := make(map[common.Hash]int, len(slots))
	for i, entry := range claim.StorageProof {
		if want[entry.Key] == 0 {
			return nil, errorf("storageProof[%d] is for slot %s, which was not asked for", i, entry.Key.Hex())
		}
		if got[entry.Key]++; got[entry.Key] > want[entry.Key] {
			return nil, errorf("storageProof[%d]: slot %s is answered more often than asked for", i, entry.Key.Hex())
		}
		value, err := proveSlot(acct, entry.Key, entry.Proof)
		if err != nil {
			return nil, err
		}
		if entry.Value.Cmp(value.Big()) != 0 {
			return nil, errorf("slot %s of %s claimed %s, proof says %s",
				entry.Key.Hex(), address.Hex(), hexutil.EncodeBig(entry.Value), hexutil.EncodeBig(value.Big()))
		}
		acct.Storage[entry.Key] = value
	}
	for _, s := range slots {
		if got[s] != want[s] {
			return nil, errorf("storageProof answers slot %s %d times, asked %d times", s.Hex(), got[s], want[s])
		}
	}
	return acct, nil
}

// VerifyCode checks that code hashes to the account's code hash (empty
// code for an absent account or an EOA).
func VerifyCode(acct *Account, code []byte) error {
	if acct == nil {
		return errorf("no verified account to check code against")
	}
	if got := crypto.Keccak256Hash(code); got != acct.CodeHash {
		return errorf("code of %s hashes to %s, account's code hash is %s", acct.Address.Hex(), got.Hex(), acct.CodeHash.Hex())
	}
	return nil
}

// SlotKey turns an eth_getStorageAt / eth_getProof slot parameter (a JSON
// string: a hex quantity like "0x0" or 32-byte hex data) into the 32-byte
// key. It accepts exactly what geth accepts (decodeStorageKey in
// internal/ethapi): the 0x prefix is optional, an odd number of digits is
// read as if a 0 led them, leading zeros are allowed, and at most 32 bytes
// are left-padded to 32.
func SlotKey(raw json.RawMessage) (common.Hash, error) {
	s, ok := jsonString(raw)
	if !ok {
		return common.Hash{}, errorf("storage slot %s is not a JSON string", truncateJSON(raw))
	}
	key, err := parseSlot(s)
	if err != nil {
		return common.Hash{}, errorf("%v", err)
	}
	return key, nil
}

// parseSlot is geth's decodeStorageKey.
func parseSlot(s string) (common.Hash, error) {
	digits := s
	if strings.HasPrefix(digits, "0x") || strings.HasPrefix(digits, "0X") {
		digits = digits[2:]
	}
	if len(digits)%2 == 1 {
		digits = "0" + digits
	}
	if len(digits) > 2*common.HashLength {
		return common.Hash{}, fmt.Errorf("storage slot %q is longer than 32 bytes", s)
	}
	b, err := hex.DecodeString(digits)
	if err != nil {
		return common.Hash{}, fmt.Errorf("storage slot %q is not hex", s)
	}
	return common.BytesToHash(b), nil
}

// BalanceJSON is a's balance as eth_getBalance answers it (hexutil.Big).
func BalanceJSON(a *Account) json.RawMessage {
	b := new(big.Int)
	if a.Balance != nil {
		b = a.Balance
	}
	return marshal((*hexutil.Big)(b))
}

// NonceJSON is a's nonce as eth_getTransactionCount answers it at a block
// (hexutil.Uint64).
func NonceJSON(a *Account) json.RawMessage {
	return marshal(hexutil.Uint64(a.Nonce))
}

// StorageJSON is the value of slot as eth_getStorageAt answers it (32
// bytes of hexutil.Bytes), or nil when slot was not verified with a.
func StorageJSON(a *Account, slot common.Hash) json.RawMessage {
	v, ok := a.Storage[slot]
	if !ok {
		return nil
	}
	return marshal(hexutil.Bytes(v[:]))
}

// CodeJSON is code as eth_getCode answers it (hexutil.Bytes; "0x" when
// empty). Check code with VerifyCode first.
func CodeJSON(code []byte) json.RawMessage {
	return marshal(hexutil.Bytes(code))
}

func marshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("verify: " + err.Error()) // hexutil types always marshal
	}
	return b
}

// proofAnswer is the decoded eth_getProof result (geth's AccountResult).
type proofAnswer struct {
	Address      common.Address
	AccountProof [][]byte
	Balance      *big.Int
	CodeHash     common.Hash
	Nonce        uint64
	StorageHash  common.Hash
	StorageProof []slotAnswer
}

// slotAnswer is one decoded storageProof entry (geth's StorageResult).
type slotAnswer struct {
	Key   common.Hash
	Value *big.Int
	Proof [][]byte
}

func decodeProofAnswer(raw json.RawMessage) (*proofAnswer, error) {
	m, err := object(raw, "proof", nameSet("address", "accountProof", "balance", "codeHash", "nonce", "storageHash", "storageProof"))
	if err != nil {
		return nil, err
	}
	var (
		p       proofAnswer
		balance hexutil.Big
		nonce   hexutil.Uint64
		nodes   []hexutil.Bytes
		entries []json.RawMessage
	)
	if err := jsonField(m, "proof", "address", &p.Address, true); err != nil {
		return nil, err
	}
	if err := jsonField(m, "proof", "accountProof", &nodes, true); err != nil {
		return nil, err
	}
	p.AccountProof = byteSlices(nodes)
	if err := jsonField(m, "proof", "balance", &balance, true); err != nil {
		return nil, err
	}
	p.Balance = balance.ToInt()
	if err := jsonField(m, "proof", "codeHash", &p.CodeHash, true); err != nil {
		return nil, err
	}
	if err := jsonField(m, "proof", "nonce", &nonce, true); err != nil {
		return nil, err
	}
	p.Nonce = uint64(nonce)
	if err := jsonField(m, "proof", "storageHash", &p.StorageHash, true); err != nil {
		return nil, err
	}
	// A missing or null storageProof is no entries: every slot asked for
	// is then reported missing.
	if err := jsonField(m, "proof", "storageProof", &entries, false); err != nil {
		return nil, err
	}
	for i, e := range entries {
		what := "storageProof[" + strconv.Itoa(i) + "]"
		em, err := object(e, what, nameSet("key", "value", "proof"))
		if err != nil {
			return nil, err
		}
		var (
			s     slotAnswer
			key   json.RawMessage
			value hexutil.Big
		)
		if err := jsonField(em, what, "key", &key, true); err != nil {
			return nil, err
		}
		k, ok := jsonString(key)
		if !ok {
			return nil, errorf("%s key %s is not a JSON string", what, truncateJSON(key))
		}
		if s.Key, err = parseSlot(k); err != nil {
			return nil, errorf("%s: %v", what, err)
		}
		if err := jsonField(em, what, "value", &value, true); err != nil {
			return nil, err
		}
		s.Value = value.ToInt()
		nodes = nil
		if err := jsonField(em, what, "proof", &nodes, true); err != nil {
			return nil, err
		}
		s.Proof = byteSlices(nodes)
		p.StorageProof = append(p.StorageProof, s)
	}
	return &p, nil
}

func byteSlices(in []hexutil.Bytes) [][]byte {
	out := make([][]byte, len(in))
	for i, b := range in {
		out[i] = b
	}
	return out
}

// proveAccount reads address from the state trie of root with the proof's
// nodes.
func proveAccount(root common.Hash, address common.Address, nodes [][]byte) (*Account, error) {
	acct := &Account{
		Address:     address,
		Balance:     new(big.Int),
		CodeHash:    types.EmptyCodeHash,
		StorageRoot: types.EmptyRootHash,
		Storage:     map[common.Hash]common.Hash{},
	}
	leaf, err := proveKey(root, crypto.Keccak256(address[:]), nodes)
	if err != nil {
		return nil, errorf("account proof of %s against state root %s: %v", address.Hex(), root.Hex(), err)
	}
	if leaf == nil {
		return acct, nil
	}
	var sa types.StateAccount
	if err := rlp.DecodeBytes(leaf, &sa); err != nil {
		return nil, errorf("account %s in the state trie does not decode: %v", address.Hex(), err)
	}
	if len(sa.CodeHash) != common.HashLength {
		return nil, errorf("account %s in the state trie has a %d-byte code hash", address.Hex(), len(sa.CodeHash))
	}
	acct.Exists = true
	if sa.Balance != nil {
		acct.Balance = sa.Balance.ToBig()
	}
	acct.Nonce = sa.Nonce
	acct.CodeHash = common.BytesToHash(sa.CodeHash)
	acct.StorageRoot = sa.Root
	return acct, nil
}

// checkAccountClaim compares the JSON's account fields with the proven
// account.
func checkAccountClaim(acct *Account, claim *proofAnswer) error {
	addr := acct.Address.Hex()
	if claim.Balance.Cmp(acct.Balance) != 0 {
		return errorf("balance of %s claimed %s, proof says %s", addr, hexutil.EncodeBig(claim.Balance), hexutil.EncodeBig(acct.Balance))
	}
	if claim.Nonce != acct.Nonce {
		return errorf("nonce of %s claimed %d, proof says %d", addr, claim.Nonce, acct.Nonce)
	}
	codeHash, storageHash := claim.CodeHash, claim.StorageHash
	if !acct.Exists {
		// geth answers an absent account with zero hashes (its StateDB
		// getters' default); the EIP-1186 text and other clients use the
		// empty code hash and the empty trie root. Both say "nothing".
		if codeHash == (common.Hash{}) {
			codeHash = types.EmptyCodeHash
		}
		if storageHash == (common.Hash{}) {
			storageHash = types.EmptyRootHash
		}
	}
	if codeHash != acct.CodeHash {
		return errorf("code hash of %s claimed %s, proof says %s", addr, claim.CodeHash.Hex(), acct.CodeHash.Hex())
	}
	if storageHash != acct.StorageRoot {
		return errorf("storage hash of %s claimed %s, proof says %s", addr, claim.StorageHash.Hex(), acct.StorageRoot.Hex())
	}
	return nil
}

// proveSlot reads slot from acct's storage trie with the proof's nodes.
func proveSlot(acct *Account, slot common.Hash, nodes [][]byte) (common.Hash, error) {
	leaf, err := proveKey(acct.StorageRoot, crypto.Keccak256(slot[:]), nodes)
	if err != nil {
		return common.Hash{}, errorf("storage proof of slot %s of %s against storage root %s: %v",
			slot.Hex(), acct.Address.Hex(), acct.StorageRoot.Hex(), err)
	}
	if leaf == nil {
		return common.Hash{}, nil
	}
	var value []byte
	if err := rlp.DecodeBytes(leaf, &value); err != nil {
		return common.Hash{}, errorf("slot %s of %s in the storage trie does not decode: %v", slot.Hex(), acct.Address.Hex(), err)
	}
	if len(value) > common.HashLength {
		return common.Hash{}, errorf("slot %s of %s in the storage trie holds %d bytes", slot.Hex(), acct.Address.Hex(), len(value))
	}
	return common.BytesToHash(value), nil
}

// proveKey looks key up in the trie of root, reading nodes only from the
// proof (keyed by their hash, as trie.VerifyProof expects). A nil value
// with no error proves the key absent. The empty trie holds nothing, so any
// key is absent from it whatever the proof (geth sends no nodes, and
// trie.VerifyProof would report its root node missing).
func proveKey(root common.Hash, key []byte, nodes [][]byte) ([]byte, error) {
	if root == types.EmptyRootHash {
		return nil, nil
	}
	db := memorydb.New()
	for _, n := range nodes {
		if err := db.Put(crypto.Keccak256(n), n); err != nil {
			return nil, err
		}
	}
	return trie.VerifyProof(root, key, db)
}

// jsonString decodes raw if it is a JSON string (not null).
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '"' || json.Unmarshal(t, &s) != nil {
		return "", false
	}
	return s, true
}
