package beacon

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// The fuzz targets cover what braid decodes from beacon APIs itself. Seeds
// are in testdata/fuzz (the simulator's answers, see TestWriteFuzzSeeds).

// fuzzSpec is the simulator's network layout: every fork to Fulu at epoch 0.
func fuzzSpec(t testing.TB) *spec {
	n := Network{Name: "fuzz", GenesisTime: 1, SlotDuration: DefaultSlotDuration}
	for i, name := range []string{"GENESIS", "ALTAIR", "BELLATRIX", "CAPELLA", "DENEB", "ELECTRA", "FULU"} {
		n.Forks = append(n.Forks, Fork{Name: name, Version: [4]byte{byte(i)}})
	}
	s, err := newSpec(n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func FuzzSSE(f *testing.F) {
	f.Add([]byte("event: light_client_optimistic_update\ndata: {}\n\n"))
	f.Add([]byte(": c\r\ndata: a\r\ndata: b\r\n\r\nevent: x\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := newSSEReader(bytes.NewReader(in))
		for range len(in) + 1 {
			ev, err := r.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, errEventTooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(ev.data) > maxEventSize || len(ev.data) > len(in) {
				t.Fatalf("event of %d bytes from %d", len(ev.data), len(in))
			}
		}
		t.Fatal("more events than input bytes")
	})
}

func FuzzDecodeOptimistic(f *testing.F) {
	s := fuzzSpec(f)
	f.Add([]byte(`{"version":"fulu","data":{}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		u, err := s.decodeOptimistic(in)
		if err != nil {
			return
		}
		_ = u.Validate(s.chain) // must not panic
		_ = u.Attested.BlockHash()
		blockNumber(u.Attested.Proof)
	})
}

func FuzzDecodeFinality(f *testing.F) {
	s := fuzzSpec(f)
	f.Add([]byte(`{"version":"fulu","data":{}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		u, err := s.decodeFinality(in)
		if err != nil {
			return
		}
		_ = u.Validate(s.chain)
		_ = u.Finalized.BlockHash()
	})
}

func FuzzDecodeBootstrap(f *testing.F) {
	s := fuzzSpec(f)
	f.Add([]byte(`{"version":"fulu","data":{}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := s.decodeBootstrap(in, seedCheckpoint)
		if err == nil && b.Header.Hash() != seedCheckpoint {
			t.Fatal("a bootstrap for another root was accepted")
		}
	})
}

func FuzzDecodeUpdates(f *testing.F) {
	s := fuzzSpec(f)
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		u, c, err := s.decodeUpdates(in, 0, 1)
		if err == nil && (len(u) != 1 || len(c) != 1 || c[0].Root() != u[0].NextSyncCommitteeRoot) {
			t.Fatal("an inconsistent update was accepted")
		}
	})
}

func FuzzDecodeHeader(f *testing.F) {
	f.Add([]byte(`{"data":{"root":"0x00","header":{"message":{}}}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		h, _, _, err := decodeHeader(in, common.Hash{})
		if err == nil && h.Hash() == (common.Hash{}) {
			t.Fatal("zero header root")
		}
	})
}
