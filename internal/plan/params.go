package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// checkParam reports why raw is not a p, or nil.
func checkParam(p Param, raw json.RawMessage) error {
	switch p {
	case Any:
		return nil
	case Address:
		return hexString(raw, 20, 20, false)
	case Hash:
		return hexString(raw, 32, 32, false)
	case Quantity:
		return quantity(raw)
	case Data:
		return hexString(raw, 0, -1, false)
	case Slot:
		if quantity(raw) == nil {
			return nil
		}
		return hexString(raw, 0, 32, true)
	case Bool:
		if bytes.Equal(raw, []byte("true")) || bytes.Equal(raw, []byte("false")) {
			return nil
		}
		return fmt.Errorf("expected true or false")
	case Object:
		if raw[0] == '{' {
			return nil
		}
		return fmt.Errorf("expected a JSON object")
	case Array:
		if raw[0] == '[' {
			return nil
		}
		return fmt.Errorf("expected a JSON array")
	case BlockNumber:
		if _, ok := blockTag(raw); ok {
			return nil
		}
		return quantityOr(raw, "expected a block number or one of latest, earliest, pending, safe, finalized")
	case Block:
		if _, ok := blockTag(raw); ok {
			return nil
		}
		if raw[0] == '{' {
			return blockObject(raw)
		}
		if hexString(raw, 32, 32, false) == nil {
			return nil
		}
		return quantityOr(raw, "expected a block number, a tag, a block hash or {\"blockHash\": …}")
	}
	return nil
}

var tags = map[string]bool{"latest": true, "earliest": true, "pending": true, "safe": true, "finalized": true}

func blockTag(raw json.RawMessage) (string, bool) {
	s, ok := str(raw)
	return s, ok && tags[s]
}

func blockObject(raw json.RawMessage) error {
	var o struct {
		BlockHash        json.RawMessage `json:"blockHash"`
		BlockNumber      json.RawMessage `json:"blockNumber"`
		RequireCanonical json.RawMessage `json:"requireCanonical"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return fmt.Errorf("block object: %v", err)
	}
	// An explicit null is an absent member, as go-ethereum reads it.
	for _, f := range []*json.RawMessage{&o.BlockHash, &o.BlockNumber, &o.RequireCanonical} {
		if string(*f) == "null" {
			*f = nil
		}
	}
	switch {
	case o.BlockHash != nil && o.BlockNumber != nil:
		return fmt.Errorf("block object: give blockHash or blockNumber, not both")
	case o.BlockHash != nil:
		if err := hexString(o.BlockHash, 32, 32, false); err != nil {
			return fmt.Errorf("block object: blockHash: %v", err)
		}
	case o.BlockNumber != nil:
		if _, ok := blockTag(o.BlockNumber); !ok {
			if err := quantity(o.BlockNumber); err != nil {
				return fmt.Errorf("block object: blockNumber: %v", err)
			}
		}
	default:
		return fmt.Errorf("block object: needs blockHash or blockNumber")
	}
	if o.RequireCanonical != nil && checkParam(Bool, o.RequireCanonical) != nil {
		return fmt.Errorf("block object: requireCanonical must be true or false")
	}
	return nil
}

func quantityOr(raw json.RawMessage, msg string) error {
	if quantity(raw) == nil {
		return nil
	}
	return fmt.Errorf("%s", msg)
}

// quantity accepts "0x" followed by 1 to 64 hex digits.
func quantity(raw json.RawMessage) error {
	s, ok := str(raw)
	if !ok {
		return fmt.Errorf("expected a hex string")
	}
	if len(s) < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return fmt.Errorf("expected a 0x-prefixed hex number")
	}
	digits := s[2:]
	if len(digits) > 64 {
		return fmt.Errorf("hex number longer than 256 bits")
	}
	for i := 0; i < len(digits); i++ {
		if !isHex(digits[i]) {
			return fmt.Errorf("invalid hex digit %q", digits[i])
		}
	}
	return nil
}

// hexString accepts "0x" followed by hex bytes: exactly min..max bytes
// (max < 0: unbounded). odd allows an odd number of digits.
func hexString(raw json.RawMessage, min, max int, odd bool) error {
	s, ok := str(raw)
	if !ok {
		return fmt.Errorf("expected a hex string")
	}
	if len(s) < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return fmt.Errorf("expected a 0x-prefixed hex string")
	}
	digits := s[2:]
	for i := 0; i < len(digits); i++ {
		if !isHex(digits[i]) {
			return fmt.Errorf("invalid hex digit %q", digits[i])
		}
	}
	if !odd && len(digits)%2 != 0 {
		return fmt.Errorf("odd number of hex digits")
	}
	n := (len(digits) + 1) / 2
	if n < min || (max >= 0 && n > max) {
		if min == max {
			return fmt.Errorf("expected %d bytes, got %d", min, n)
		}
		return fmt.Errorf("expected at most %d bytes, got %d", max, n)
	}
	return nil
}

func str(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true // nothing to unescape
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
