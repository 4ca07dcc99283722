package jsonrpc

import (
	"encoding/binary"
	"math/bits"
)

// This file checks JSON syntax in one pass, accepting exactly what
// json.Valid accepts (the same grammar, escapes, nesting limit, and, like
// json.Valid, invalid UTF-8 inside strings), several times faster on the
// hex strings that make up most Ethereum answers: a string's bytes are
// looked at eight at a time. It lets an upstream answer be checked and its
// envelope read in the same pass (DecodeResponse) instead of a json.Valid
// pass followed by a second walk.

// maxDepth is encoding/json's nesting limit: a value nested deeper is
// invalid there, and so here.
const maxDepth = 10000

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// valid reports whether b is one JSON value, with JSON whitespace around
// it: json.Valid(b).
func valid(b []byte) bool {
	end, ok := scanValue(b, skipSpace(b, 0), maxDepth)
	return ok && skipSpace(b, end) == len(b)
}

// specials marks (with its high bit) each of the eight bytes in x that
// ends or escapes a JSON string or is a control character (< 0x20), which a
// string may not hold. Each test is the classic "has a zero byte" / "has a
// byte less than n" word trick: a borrow can mark a byte above a true hit,
// never below one, so the lowest mark is exact.
func specials(x uint64) uint64 {
	q := x ^ (ones * '"')
	s := x ^ (ones * '\\')
	return ((q-ones)&^q | (s-ones)&^s | (x-ones*0x20)&^x) & highs
}

// nextSpecial returns the index of the first byte at or after i that
// ends or escapes a string or is a control character; len(b) if none.
func nextSpecial(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := specials(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

// scanString checks the string whose opening quote is b[i] and returns the
// index just past its closing quote.
func scanString(b []byte, i int) (int, bool) {
	i++
	for {
		i = nextSpecial(b, i)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case '"':
			return i + 1, true
		case '\\':
			n, ok := escapeLen(b, i)
			if !ok {
				return i, false
			}
			i += n
		default: // a control character
			return i, false
		}
	}
}

// escapeLen checks the escape that starts at b[i] ('\\') and returns its
// length.
func escapeLen(b []byte, i int) (int, bool) {
	if i+1 >= len(b) {
		return 0, false
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		if i+6 > len(b) {
			return 0, false
		}
		for _, h := range b[i+2 : i+6] {
			if !isHex(h) {
				return 0, false
			}
		}
		return 6, true
	}
	return 0, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitsEnd(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// scanNumber checks the number that starts at b[i] (RFC 8259: -?int frac?
// exp?) and returns the index just past it.
func scanNumber(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b) || !isDigit(b[i]):
		return i, false
	case b[i] == '0':
		i++
	default:
		i = digitsEnd(b, i+1)
	}
	if i < len(b) && b[i] == '.' {
		j := digitsEnd(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digitsEnd(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

// scanLiteral checks that b[i:] starts with word.
func scanLiteral(b []byte, i int, word string) (int, bool) {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return i, false
	}
	return i + len(word), true
}

// scanScalar checks the string, number or literal at b[i].
func scanScalar(b []byte, i int) (int, bool) {
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '-' || isDigit(c):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return i, false
}

// scanName checks an object member's name and the colon after it, from
// b[i] on (whitespace allowed), and returns the index after the colon.
func scanName(b []byte, i int) (int, bool) {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, ok := scanString(b, i)
	if !ok {
		return i, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return i + 1, true
}

// scanValue checks the JSON value that starts at b[i] (no leading
// whitespace), with at most limit containers nested in it, and returns the
// index just past it. It does not recurse: the open containers are a bit
// stack (set: object), so no input can exhaust the goroutine's stack, and
// nothing is allocated.
func scanValue(b []byte, i, limit int) (int, bool) {
	var objects [maxDepth/64 + 1]uint64
	depth := 0
	for {
		// A value is expected at b[i].
		if i >= len(b) {
			return i, false
		}
		var ok bool
		switch c := b[i]; c {
		case '{', '[':
			if depth >= limit {
				return i, false
			}
			j := skipSpace(b, i+1)
			if j < len(b) && b[j] == c+2 { // '{'+2 == '}', '['+2 == ']'
				i = j + 1
				break
			}
			if c == '{' {
				objects[depth/64] |= 1 << (depth % 64)
				if j, ok = scanName(b, j); !ok {
					return j, false
				}
			} else {
				objects[depth/64] &^= 1 << (depth % 64)
			}
			depth++
			i = skipSpace(b, j)
			continue
		default:
			if i, ok = scanScalar(b, i); !ok {
				return i, false
			}
		}
		// A value ended at i: close containers until one goes on.
		for {
			if depth == 0 {
				return i, true
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, false
			}
			object := objects[(depth-1)/64]&(1<<((depth-1)%64)) != 0
			if b[i] == ',' {
				i++
				if object {
					if i, ok = scanName(b, i); !ok {
						return i, false
					}
				}
				i = skipSpace(b, i)
				break
			}
			if (object && b[i] == '}') || (!object && b[i] == ']') {
				depth--
				i++
				continue
			}
			return i, false
		}
	}
}

// scanObject checks that obj (no surrounding whitespace) is one JSON
// object and stores in out[k] the value of its member named names[k] (nil
// when absent; the last one when repeated, as with encoding/json). Names
// match exactly. It is valid(obj) and fields(obj, out, names...) in one
// pass: what it accepts is what json.Valid accepts.
func scanObject(obj []byte, out [][]byte, names ...string) bool {
	if len(obj) == 0 || obj[0] != '{' {
		return false
	}
	i := skipSpace(obj, 1)
	if i < len(obj) && obj[i] == '}' {
		return i+1 == len(obj)
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return false
		}
		end, ok := scanString(obj, i)
		if !ok {
			return false
		}
		name := obj[i:end]
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		start := skipSpace(obj, i+1)
		if i, ok = scanValue(obj, start, maxDepth-1); !ok {
			return false
		}
		for k, want := range names {
			if nameIs(name, want) {
				out[k] = obj[start:i:i]
				break
			}
		}
		i = skipSpace(obj, i)
		if i >= len(obj) {
			return false
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return i+1 == len(obj)
		default:
			return false
		}
	}
}
