package verify

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
)

// contentFailure fails t unless err is one of the three failures the
// content decoders may return.
func contentFailure(t *testing.T, err error) {
	t.Helper()
	if !isLie(err) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("unexpected error kind %T: %v", err, err)
	}
}

// FuzzDecodeHeader mutates real headers (testdata/content_blocks.json):
// DecodeHeader never panics, fails only with the documented errors, and
// accepts only the real header's bytes.
//
//	go test -run '^$' -fuzz FuzzDecodeHeader -fuzztime 20s ./internal/verify
func FuzzDecodeHeader(f *testing.F) {
	chainQuickMinimize()
	seeds := loadContentSeeds(f)
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s.Header))
	}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		s := seeds[int(which)%len(seeds)]
		h, err := DecodeHeader(raw, s.Hash)
		if err != nil {
			contentFailure(t, err)
			return
		}
		if !bytes.Equal(raw, s.Header) || h.Hash() != s.Hash {
			t.Fatalf("accepted a header that is not %s's", s.Name)
		}
	})
}

// FuzzDecodeBody mutates real bodies: DecodeBody never panics, fails only
// with the documented errors, and accepts only a body that is the real one
// (it re-encodes to the real body's bytes).
//
//	go test -run '^$' -fuzz FuzzDecodeBody -fuzztime 20s ./internal/verify
func FuzzDecodeBody(f *testing.F) {
	chainQuickMinimize()
	seeds := loadContentSeeds(f)
	headers := make([]*types.Header, len(seeds))
	for i, s := range seeds {
		headers[i], _ = s.decoded(f)
		f.Add(uint8(i), []byte(s.Body))
	}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		i := int(which) % len(seeds)
		body, err := DecodeBody(headers[i], raw)
		if err != nil {
			contentFailure(t, err)
			return
		}
		again, err := rlp.EncodeToBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, seeds[i].Body) {
			t.Fatalf("accepted a body that is not %s's: %x", seeds[i].Name, raw)
		}
	})
}

// FuzzDecodeReceipts mutates real receipts in all three encodings:
// DecodeReceipts never panics, fails only with the documented errors, and
// accepts only the real receipts (they re-encode to the real consensus
// bytes).
//
//	go test -run '^$' -fuzz FuzzDecodeReceipts -fuzztime 20s ./internal/verify
func FuzzDecodeReceipts(f *testing.F) {
	chainQuickMinimize()
	seeds := loadContentSeeds(f)
	headers := make([]*types.Header, len(seeds))
	bodies := make([]*types.Body, len(seeds))
	for i, s := range seeds {
		headers[i], bodies[i] = s.decoded(f)
		f.Add(uint8(i), uint8(ReceiptsConsensus), []byte(s.Receipts))
		f.Add(uint8(i), uint8(ReceiptsStorage), []byte(s.Storage))
		f.Add(uint8(i), uint8(ReceiptsSlim), s.slim(f))
	}
	f.Fuzz(func(t *testing.T, which, enc uint8, raw []byte) {
		i := int(which) % len(seeds)
		rs, err := DecodeReceipts(headers[i], bodies[i].Transactions, raw, ReceiptsEncoding(enc%4))
		if err != nil {
			contentFailure(t, err)
			return
		}
		again, err := rlp.EncodeToBytes(rs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, seeds[i].Receipts) {
			t.Fatalf("accepted receipts that are not %s's: %x", seeds[i].Name, raw)
		}
	})
}
