package peers

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// FuzzDecodeRequest: any bytes decode to a key or ErrFrame, never a panic,
// and a decoded key encodes back to the same bytes.
func FuzzDecodeRequest(f *testing.F) {
	for _, k := range Kinds {
		f.Add(AppendRequest(nil, Key{k, common.HexToHash("0x1234")}))
	}
	f.Add([]byte{})
	f.Add([]byte{0xff})
	f.Add(append([]byte{0}, make([]byte, 32)...))
	f.Add(make([]byte, RequestSize+1))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := DecodeRequest(data)
		if err != nil {
			return
		}
		if !key.Kind.Valid() || !bytes.Equal(AppendRequest(nil, key), data) {
			t.Fatalf("%x decoded to %v", data, key)
		}
	})
}

// FuzzReadResponse: any bytes, for any kind byte, read to a response
// within its bound or an error, never a panic; the payload's buffer is
// never much larger than the input (what a peer sent, not what it
// claimed), and a response encodes back to the bytes it was read from.
func FuzzReadResponse(f *testing.F) {
	for _, k := range Kinds {
		f.Add(byte(k), append(AppendResponseHeader(nil, CodeOK, 3), 1, 2, 3))
		f.Add(byte(k), AppendResponseHeader(nil, CodeOK, k.MaxSize()))
		f.Add(byte(k), AppendResponseHeader(nil, CodeOK, k.MaxSize()+1))
	}
	f.Add(byte(Body), append(AppendResponseHeader(nil, CodeBusy, 4), "busy"...))
	f.Add(byte(Body), append(AppendResponseHeader(nil, CodeError, 2), 0xff, 0xfe))
	f.Add(byte(Body), []byte{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add(byte(0), []byte{0, 1, 0})
	f.Add(byte(Header), []byte{})
	f.Add(byte(Body), append(AppendResponseHeader(nil, CodeEvicted, EvictedSize), AppendEvicted(nil, time.Unix(1_800_000_000, 0))...))
	f.Add(byte(Receipts), append(AppendResponseHeader(nil, CodeEvicted, EvictedSize), 0xff, 0, 0, 0, 0, 0, 0, 0))
	f.Add(byte(Header), append(AppendResponseHeader(nil, CodeEvicted, 3), "old"...))
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		k := Kind(kind)
		var reserved int
		resp, err := ReadResponse(bytes.NewReader(data), k, func(n int) error { reserved = n; return nil })
		if err != nil {
			return
		}
		limit := MaxReason
		switch resp.Code {
		case CodeOK:
			limit = k.MaxSize()
		case CodeEvicted: // exactly the time, and it reads back
			if len(resp.Payload) != EvictedSize || !bytes.Equal(AppendEvicted(nil, resp.EvictedAt), resp.Payload) {
				t.Fatalf("evicted payload %x read as %v", resp.Payload, resp.EvictedAt)
			}
		}
		if len(resp.Payload) > limit || reserved != len(resp.Payload) {
			t.Fatalf("payload of %d bytes (bound %d, reserved %d)", len(resp.Payload), limit, reserved)
		}
		if cap(resp.Payload) > max(readChunk, 2*len(data)) {
			t.Fatalf("buffer of cap %d for %d input bytes", cap(resp.Payload), len(data))
		}
		frame := append(AppendResponseHeader(nil, resp.Code, len(resp.Payload)), resp.Payload...)
		if !bytes.HasPrefix(data, frame) {
			t.Fatalf("%x read as %v %x", data, resp.Code, resp.Payload)
		}
	})
}

// FuzzDecodeEvicted: any bytes decode to a time that encodes back to them,
// or ErrFrame; never a panic.
func FuzzDecodeEvicted(f *testing.F) {
	f.Add(AppendEvicted(nil, time.Unix(1_800_000_000, 0)))
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		at, err := DecodeEvicted(data)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("%x: %v, want ErrFrame", data, err)
			}
			return
		}
		if !bytes.Equal(AppendEvicted(nil, at), data) {
			t.Fatalf("%x decoded to %v", data, at)
		}
	})
}
