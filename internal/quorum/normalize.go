package quorum

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// Fingerprint identifies an answer up to what does not matter: JSON key
// order and whitespace, and the object keys in ignore (at any depth).
// Nothing else is normalised: two answers with the same fingerprint say
// the same thing. An error answer is identified by its code and data, not
// its message, which differs between node implementations.
type Fingerprint [sha256.Size]byte

// String is a short hex form for logs and the dispute log.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:8]) }

// FingerprintOf returns resp's fingerprint.
func FingerprintOf(resp *jsonrpc.Response, ignore []string) Fingerprint {
	h := sha256.New()
	if e := resp.Error; e != nil {
		h.Write([]byte("error:"))
		h.Write(strconv.AppendInt(nil, int64(e.Code), 10))
		h.Write([]byte{':'})
		h.Write(Canonical(e.Data, ignore))
	} else {
		h.Write([]byte("result:"))
		h.Write(Canonical(resp.Result, ignore))
	}
	var f Fingerprint
	h.Sum(f[:0])
	return f
}

// Canonical returns raw re-encoded with sorted keys, no insignificant
// whitespace and the ignored keys removed. Bytes that are not JSON are
// returned unchanged (they can only equal themselves).
func Canonical(raw json.RawMessage, ignore []string) []byte {
	raw = bytes.TrimSpace(raw)
	if len(ignore) == 0 && plain(raw) {
		return raw // the common case: a hex string, a number, null
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return raw
	}
	if len(ignore) > 0 {
		v = strip(v, ignore)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

// plain reports whether raw is already canonical: a literal, a number, or
// a string of printable ASCII that json.Marshal would write the same way.
func plain(raw []byte) bool {
	if len(raw) == 0 {
		return true
	}
	switch c := raw[0]; {
	case c == '"':
		if len(raw) < 2 || raw[len(raw)-1] != '"' {
			return false
		}
		for _, b := range raw[1 : len(raw)-1] {
			if b < 0x20 || b >= 0x7f || b == '\\' || b == '"' || b == '<' || b == '>' || b == '&' {
				return false
			}
		}
		return true
	case c == 'n' || c == 't' || c == 'f':
		return string(raw) == "null" || string(raw) == "true" || string(raw) == "false"
	case c == '-' || c >= '0' && c <= '9':
		for _, b := range raw {
			if !(b >= '0' && b <= '9' || b == '-' || b == '+' || b == '.' || b == 'e' || b == 'E') {
				return false
			}
		}
		return true
	}
	return false
}

func strip(v any, ignore []string) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if slices.Contains(ignore, k) {
				delete(t, k)
				continue
			}
			t[k] = strip(x, ignore)
		}
	case []any:
		for i, x := range t {
			t[i] = strip(x, ignore)
		}
	}
	return v
}
