package peers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// ContentProtocol is the libp2p protocol of content requests. One stream
// carries one request and its response:
//
//	request:  kind (1 byte: 1 header, 2 body, 3 receipts, 4 location) ‖ hash (32 bytes)
//	response: status (1 byte) ‖ length (uvarint) ‖ payload (length bytes)
//
// The hash is the block's; a location's is the transaction's.
//
// With CodeOK the payload is the content (at most the kind's MaxSize);
// with CodeEvicted it is the eviction time (EvictedSize bytes, see
// AppendEvicted); with any other status it is a short UTF-8 reason (at
// most MaxReason).
const ContentProtocol protocol.ID = "/braid/content/1"

// RequestSize is the size of a request frame.
const RequestSize = 1 + common.HashLength

// MaxReason bounds the reason a refusal carries.
const MaxReason = 256

// Code is a response's first byte: its status.
type Code uint8

// Response statuses.
const (
	// CodeOK: the payload is the content asked for.
	CodeOK Code = 0
	// CodeNotHeld: the peer does not hold the content (any more).
	CodeNotHeld Code = 1
	// CodeBusy: the peer is over a limit (its capacity, or your request
	// rate or concurrent streams): ask someone else or later.
	CodeBusy Code = 2
	// CodeLowStanding: served only from spare capacity, which there is
	// none of now: your balance with this peer is below its threshold
	// (issue 16's serving by standing; a Ledger's Admit answers it).
	CodeLowStanding Code = 3
	// CodeError: the request was malformed, or the peer failed.
	CodeError Code = 4
	// CodeEvicted: the peer held the content and evicted it from its
	// bounded store recently (within its tombstone window, the DHT
	// record validity): a provider record it published may still be
	// found. The payload is the eviction time. No lie and no miss to
	// blame; a retention audit answered so is not failed.
	CodeEvicted Code = 5
)

// EvictedSize is a CodeEvicted payload's size: the eviction time in Unix
// seconds, big-endian.
const EvictedSize = 8

// String names the code.
func (s Code) String() string {
	switch s {
	case CodeOK:
		return "ok"
	case CodeNotHeld:
		return "not_held"
	case CodeBusy:
		return "busy"
	case CodeLowStanding:
		return "low_standing"
	case CodeError:
		return "error"
	case CodeEvicted:
		return "evicted"
	}
	return fmt.Sprintf("code(%d)", uint8(s))
}

func (s Code) valid() bool { return s <= CodeEvicted }

var (
	// ErrFrame is wrapped by the errors of a frame that breaks the
	// protocol: an unknown kind or status, a length over its bound, a bad
	// varint or reason. The peer that sent it misbehaves.
	ErrFrame = errors.New("peers: malformed frame")
	// ErrOversized is wrapped (with ErrFrame) by the error of a response
	// whose length is over the kind's MaxSize: it is cut off unread.
	ErrOversized = errors.New("peers: response over its size bound")
)

// AppendRequest appends the request frame for key to b.
func AppendRequest(b []byte, key Key) []byte {
	b = append(b, byte(key.Kind))
	return append(b, key.Hash[:]...)
}

// DecodeRequest decodes a request frame: exactly RequestSize bytes with a
// known kind.
func DecodeRequest(b []byte) (Key, error) {
	if len(b) != RequestSize {
		return Key{}, fmt.Errorf("%w: request of %d bytes, want %d", ErrFrame, len(b), RequestSize)
	}
	k := Key{Kind: Kind(b[0]), Hash: common.BytesToHash(b[1:])}
	if !k.Kind.Valid() {
		return Key{}, fmt.Errorf("%w: unknown kind %d", ErrFrame, b[0])
	}
	return k, nil
}

// ReadRequest reads one request frame from r.
func ReadRequest(r io.Reader) (Key, error) {
	var b [RequestSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Key{}, err
	}
	return DecodeRequest(b[:])
}

// AppendResponseHeader appends a response's status and payload length.
func AppendResponseHeader(b []byte, code Code, n int) []byte {
	b = append(b, byte(code))
	return binary.AppendUvarint(b, uint64(n))
}

// AppendEvicted appends a CodeEvicted payload: at, in Unix seconds (a
// time before 1970 as 0).
func AppendEvicted(b []byte, at time.Time) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(max(at.Unix(), 0)))
}

// DecodeEvicted decodes a CodeEvicted payload: exactly EvictedSize bytes
// of Unix seconds that fit an int64.
func DecodeEvicted(b []byte) (time.Time, error) {
	if len(b) != EvictedSize {
		return time.Time{}, fmt.Errorf("%w: eviction time of %d bytes, want %d", ErrFrame, len(b), EvictedSize)
	}
	sec := binary.BigEndian.Uint64(b)
	if sec > math.MaxInt64 {
		return time.Time{}, fmt.Errorf("%w: eviction time %d out of range", ErrFrame, sec)
	}
	return time.Unix(int64(sec), 0), nil
}

// Response is a decoded response frame.
type Response struct {
	Code Code
	// Payload is the content (CodeOK), the eviction time (CodeEvicted)
	// or the reason (otherwise).
	Payload []byte
	// EvictedAt is the decoded eviction time of CodeEvicted.
	EvictedAt time.Time
}

// readChunk is the most ReadResponse allocates ahead of the bytes it has
// received: a payload grows with what arrives, not with what the peer
// claims, so a peer announcing 16 MiB and sending nothing costs 64 KiB.
const readChunk = 64 << 10

// ReadResponse reads one response frame for content of kind k from r. A
// length over k.MaxSize (or MaxReason for a refusal) is an error wrapping
// ErrOversized and ErrFrame before any of the payload is read; an unknown
// status or a bad varint wraps ErrFrame; a frame cut short is
// io.ErrUnexpectedEOF (the peer died or hung up, which is no lie). reserve,
// if not nil, is asked for the payload's length before it is read (the
// stream's resource-manager scope); its error is returned as is.
func ReadResponse(r io.Reader, k Kind, reserve func(n int) error) (Response, error) {
	br := byteReader{r: r}
	st, err := br.ReadByte()
	if err != nil {
		return Response{}, noEOF(err)
	}
	code := Code(st)
	if !code.valid() {
		return Response{}, fmt.Errorf("%w: unknown status %d", ErrFrame, st)
	}
	n, err := binary.ReadUvarint(&br)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Response{}, io.ErrUnexpectedEOF
		}
		return Response{}, fmt.Errorf("%w: length: %v", ErrFrame, err)
	}
	if br.read-1 != len(binary.AppendUvarint(nil, n)) { // one frame, one encoding
		return Response{}, fmt.Errorf("%w: length not minimally encoded", ErrFrame)
	}
	limit := MaxReason
	switch code {
	case CodeOK:
		limit = k.MaxSize()
	case CodeEvicted:
		limit = EvictedSize
	}
	if n > uint64(limit) {
		return Response{}, fmt.Errorf("%w: %w: %s of %d bytes, bound %d", ErrFrame, ErrOversized, k, n, limit)
	}
	if reserve != nil && n > 0 {
		if err := reserve(int(n)); err != nil {
			return Response{}, err
		}
	}
	payload, err := readPayload(r, int(n))
	if err != nil {
		return Response{}, err
	}
	resp := Response{Code: code, Payload: payload}
	switch code {
	case CodeOK:
	case CodeEvicted:
		if resp.EvictedAt, err = DecodeEvicted(payload); err != nil {
			return Response{}, err
		}
	default:
		if !utf8.Valid(payload) {
			return Response{}, fmt.Errorf("%w: reason is not UTF-8", ErrFrame)
		}
	}
	return resp, nil
}

// readPayload reads exactly n bytes, growing its buffer with what arrives.
func readPayload(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, readChunk))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), max(len(buf), readChunk)))
		}
		m, err := r.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		if err != nil && len(buf) < n {
			return nil, noEOF(err)
		}
	}
	return buf, nil
}

// noEOF turns a clean end of stream inside a frame into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// byteReader reads single bytes without buffering ahead, so the payload
// is read straight from the stream after the header.
type byteReader struct {
	r    io.Reader
	one  [1]byte
	read int // bytes read
}

func (b *byteReader) ReadByte() (byte, error) {
	for {
		n, err := b.r.Read(b.one[:])
		if n == 1 {
			b.read++
			return b.one[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}
