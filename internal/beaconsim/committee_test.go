package beaconsim

import (
	"testing"

	"github.com/ethereum/go-ethereum/beacon/merkle"
	"github.com/ethereum/go-ethereum/common"
)

func TestCommitteeSignaturesVerifyWithGoEthereum(t *testing.T) {
	c, err := newCommittee("test", 3)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := c.ser.Deserialize()
	if err != nil {
		t.Fatal(err)
	}
	msg := common.HexToHash("0x1234")
	for _, tc := range []struct {
		n     int
		forge bool
		want  bool
	}{{512, false, true}, {300, false, true}, {512, true, false}, {341, true, false}} {
		agg, err := c.sign(msg[:], tc.n, tc.forge)
		if err != nil {
			t.Fatal(err)
		}
		if agg.SignerCount() != tc.n {
			t.Fatalf("signers = %d, want %d", agg.SignerCount(), tc.n)
		}
		if got := sc.VerifySignature(msg, &agg); got != tc.want {
			t.Errorf("n=%d forge=%v: verify = %v, want %v", tc.n, tc.forge, got, tc.want)
		}
	}
	if again, _ := newCommittee("test", 3); again.root != c.root {
		t.Error("committee keys are not deterministic")
	}
	if other, _ := newCommittee("test", 4); other.root == c.root {
		t.Error("two periods share a committee")
	}
}

func TestTreeBranchesVerify(t *testing.T) {
	tr := tree{86: merkle.Value{1}, 87: merkle.Value{2}, 169: merkle.Value{3}, 66: merkle.Value{4}}
	root := tr.root()
	for g, v := range tr {
		if err := merkle.VerifyProof(root, g, tr.branch(g), v); err != nil {
			t.Errorf("leaf %d: %v", g, err)
		}
	}
	if err := merkle.VerifyProof(root, 86, tr.branch(86), merkle.Value{9}); err == nil {
		t.Error("a wrong leaf verified")
	}
}
