package history

import (
	"bytes"
	"flag"
	"testing"

	"github.com/ethereum/go-ethereum/rlp"

	"github.com/braidrpc/braid/internal/verify"
)

// FuzzPutBlockRLP feeds mutated bodies and receipts, as a peer could send
// them, to a store under real headers: it never panics, and whatever it
// keeps is the real block's content, byte for byte.
//
//	go test -run '^$' -fuzz FuzzPutBlockRLP -fuzztime 20s ./internal/history
func FuzzPutBlockRLP(f *testing.F) {
	quickMinimize()
	blocks := []*synthBlock{makeBlock(f, 1, 0, 1, false), makeBlock(f, 2, 3, 2, true), makeBlock(f, 3, 5, 3, false)}
	bodies, receipts := make([][]byte, len(blocks)), make([][]byte, len(blocks))
	for i, b := range blocks {
		var err error
		if bodies[i], err = rlp.EncodeToBytes(b.body); err != nil {
			f.Fatal(err)
		}
		if receipts[i], err = rlp.EncodeToBytes(b.receipts); err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), uint8(verify.ReceiptsConsensus), bodies[i], receipts[i])
	}
	s, _, _ := openStore(f, Options{MaxBytes: 64 << 20})
	f.Fuzz(func(t *testing.T, which, enc uint8, body, rcpts []byte) {
		i := int(which) % len(blocks)
		b := blocks[i]
		err := s.PutBlockRLP(b.header, body, rcpts, verify.ReceiptsEncoding(enc%4), Proven)
		if err == nil && !s.Has(b.hash(), AllParts) {
			t.Fatal("accepted but not stored")
		}
		if raw, ok := s.BodyRLP(b.hash()); ok && !bytes.Equal(raw, bodies[i]) {
			t.Fatalf("stored a body that is not the block's: %x", raw)
		}
		if rs, ok := s.Receipts(b.hash()); ok {
			if again, _ := rlp.EncodeToBytes(rs); !bytes.Equal(again, receipts[i]) {
				t.Fatal("stored receipts that are not the block's")
			}
		}
	})
}

// quickMinimize caps how long the fuzzer minimizes each new input at 1s
// unless -fuzzminimizetime is given: the default minute per input leaves
// a short -fuzztime no time to fuzz.
func quickMinimize() {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.fuzzminimizetime" })
	if !given {
		_ = flag.Set("test.fuzzminimizetime", "1s")
	}
}
