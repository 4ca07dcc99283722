package jsonrpc

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
)

// JoinArray returns items as one JSON array, each item as it is: the
// result of a call that answers with a list of values braid already holds
// as raw JSON (filter changes, receipts, pinned parameters). An empty item
// is written as null, so the array is always valid JSON.
func JoinArray(items []json.RawMessage) json.RawMessage {
	n := 2
	for _, it := range items {
		n += max(len(it), len("null")) + 1
	}
	out := make(json.RawMessage, 0, n)
	out = append(out, '[')
	for i, it := range items {
		if i > 0 {
			out = append(out, ',')
		}
		if len(it) == 0 {
			it = json.RawMessage("null")
		}
		out = append(out, it...)
	}
	return append(out, ']')
}

// NewID returns a new subscription or filter id: "0x" and 32 lowercase
// hex digits from crypto/rand, so that no client can guess another's id
// (and read or remove what it names).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "0x" + hex.EncodeToString(b[:])
}
