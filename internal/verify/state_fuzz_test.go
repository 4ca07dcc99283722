package verify

import (
	"maps"
	"testing"
)

// FuzzVerifyProof mutates real eth_getProof answers (testdata/state_proofs.json)
// and checks that VerifyProof never panics, fails only with *Error, and
// never accepts an answer that proves anything other than what the
// unmutated answer proves: same root, address and slots, same account.
//
//	go test -run '^$' -fuzz FuzzVerifyProof -fuzztime 30s ./internal/verify
func FuzzVerifyProof(f *testing.F) {
	seeds := loadStateSeeds(f)
	want := make([]*Account, len(seeds))
	for i, s := range seeds {
		acct, err := VerifyProof(s.StateRoot, s.Address, s.Slots, s.Proof)
		if err != nil {
			f.Fatalf("seed %s: %v", s.Name, err)
		}
		want[i] = acct
		f.Add(uint8(i), []byte(s.Proof))
	}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		i := int(which) % len(seeds)
		s := seeds[i]
		acct, err := VerifyProof(s.StateRoot, s.Address, s.Slots, raw)
		if err != nil {
			if !isVerifyError(err) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			return
		}
		if !sameAccount(acct, want[i]) {
			t.Fatalf("mutated answer of %s accepted as %+v, the real answer proves %+v", s.Name, acct, want[i])
		}
	})
}

func sameAccount(a, b *Account) bool {
	return a.Address == b.Address && a.Exists == b.Exists && a.Balance.Cmp(b.Balance) == 0 &&
		a.Nonce == b.Nonce && a.CodeHash == b.CodeHash && a.StorageRoot == b.StorageRoot &&
		maps.Equal(a.Storage, b.Storage)
}
