package peers

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func TestRequestRoundTrip(t *testing.T) {
	for _, k := range Kinds {
		key := Key{k, common.HexToHash("0xabcdef")}
		frame := AppendRequest(nil, key)
		if len(frame) != RequestSize {
			t.Fatalf("frame of %d bytes", len(frame))
		}
		got, err := ReadRequest(bytes.NewReader(frame))
		if err != nil || got != key {
			t.Fatalf("%s: got %v, %v", k, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {1}, make([]byte, RequestSize+1), append([]byte{0}, make([]byte, 32)...), append([]byte{5}, make([]byte, 32)...)} {
		if _, err := DecodeRequest(bad); !errors.Is(err, ErrFrame) {
			t.Fatalf("%x: err = %v, want ErrFrame", bad, err)
		}
	}
	if _, err := ReadRequest(bytes.NewReader([]byte{1, 2})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short request: %v", err)
	}
}

func TestResponseRoundTrip(t *testing.T) {
	payload := bytes.Repeat([]byte{7}, 300<<10)
	frame := append(AppendResponseHeader(nil, CodeOK, len(payload)), payload...)
	var reserved int
	resp, err := ReadResponse(bytes.NewReader(frame), Receipts, func(n int) error { reserved = n; return nil })
	if err != nil || resp.Code != CodeOK || !bytes.Equal(resp.Payload, payload) || reserved != len(payload) {
		t.Fatalf("got %v %d bytes, reserved %d: %v", resp.Code, len(resp.Payload), reserved, err)
	}
	frame = append(AppendResponseHeader(nil, CodeBusy, 4), "slow"...)
	resp, err = ReadResponse(bytes.NewReader(frame), Body, nil)
	if err != nil || resp.Code != CodeBusy || string(resp.Payload) != "slow" {
		t.Fatalf("got %v %q: %v", resp.Code, resp.Payload, err)
	}
}

func TestResponseErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
		kind  Kind
		want  error
	}{
		{"unknown code", []byte{9, 0}, Body, ErrFrame},
		{"header over its bound", AppendResponseHeader(nil, CodeOK, Header.MaxSize()+1), Header, ErrOversized},
		{"body over its bound", AppendResponseHeader(nil, CodeOK, Body.MaxSize()+1), Body, ErrOversized},
		{"reason over its bound", AppendResponseHeader(nil, CodeBusy, MaxReason+1), Body, ErrOversized},
		{"length not minimal", []byte{0, 0x82, 0x00, 1, 2}, Body, ErrFrame},
		{"varint overflow", append([]byte{0}, bytes.Repeat([]byte{0xff}, 11)...), Body, ErrFrame},
		{"reason not UTF-8", append(AppendResponseHeader(nil, CodeError, 2), 0xff, 0xfe), Body, ErrFrame},
		{"empty", nil, Body, io.ErrUnexpectedEOF},
		{"no length", []byte{0}, Body, io.ErrUnexpectedEOF},
		{"cut short", append(AppendResponseHeader(nil, CodeOK, 10), 1, 2, 3), Body, io.ErrUnexpectedEOF},
	} {
		_, err := ReadResponse(bytes.NewReader(tc.frame), tc.kind, nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	refuse := errors.New("no memory")
	frame := append(AppendResponseHeader(nil, CodeOK, 3), 1, 2, 3)
	if _, err := ReadResponse(bytes.NewReader(frame), Body, func(int) error { return refuse }); !errors.Is(err, refuse) {
		t.Fatalf("reserve refused: %v", err)
	}
}

// trickle sends its bytes one read at a time and then ends.
type trickle struct{ b []byte }

func (r *trickle) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	p[0], r.b = r.b[0], r.b[1:]
	return 1, nil
}

// TestResponseAllocatesWhatArrives: a peer announcing the largest payload
// and sending a few bytes costs one read chunk, not the payload.
func TestResponseAllocatesWhatArrives(t *testing.T) {
	frame := append(AppendResponseHeader(nil, CodeOK, Receipts.MaxSize()), make([]byte, 1000)...)
	allocs := testing.AllocsPerRun(10, func() {
		_, err := ReadResponse(&trickle{b: frame}, Receipts, nil)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatal(err)
		}
	})
	if allocs > 4 {
		t.Fatalf("%v allocations", allocs)
	}
	buf, err := readPayload(bytes.NewReader(make([]byte, 1000)), Receipts.MaxSize())
	if err == nil || cap(buf) > readChunk {
		t.Fatalf("payload buffer of cap %d: %v", cap(buf), err)
	}
	full := make([]byte, 5*readChunk+17)
	buf, err = readPayload(bytes.NewReader(full), len(full))
	if err != nil || len(buf) != len(full) || cap(buf) > 2*len(full) {
		t.Fatalf("payload %d bytes, cap %d: %v", len(buf), cap(buf), err)
	}
}

func TestKeyCIDs(t *testing.T) {
	h := common.HexToHash("0x01")
	seen := map[string]bool{}
	for _, k := range Kinds {
		c := Key{k, h}.CID()
		mh := string(c.Hash())
		if seen[mh] {
			t.Fatalf("%s shares a DHT key with another kind", k)
		}
		seen[mh] = true
		if (Key{k, h}).CID() != c {
			t.Fatal("CID not deterministic")
		}
	}
	if (Key{Body, common.HexToHash("0x02")}).CID() == (Key{Body, h}).CID() {
		t.Fatal("two blocks share a CID")
	}
}
