package jsonrpc

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// The functions in this file walk JSON text that valid (valid.go) has already
// accepted. They find the extent of values and members without checking
// syntax again and without copying; on text that is not valid JSON their
// results are meaningless (but they never read out of bounds).
//
// They exist so that member names are matched exactly, as JSON-RPC
// requires ("Id" is not "id"; encoding/json matches names
// case-insensitively), and so that decoding does not allocate per member.

// isSpace reports JSON whitespace (RFC 8259: space, tab, LF, CR).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// trimSpace removes JSON whitespace from both ends of b.
func trimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

// stringEnd returns the index just past the string whose opening quote is
// b[i].
func stringEnd(b []byte, i int) int {
	i++
	for i < len(b) {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b)
		}
		i += q
		// The quote closes the string unless an odd number of backslashes
		// escapes it.
		n := 0
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
	return len(b)
}

// valueEnd returns the index just past the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return len(b)
	}
}

// members iterates over the members of the object that starts at b[0].
type members struct {
	b []byte
	i int
}

func newMembers(obj []byte) members { return members{b: obj, i: skipSpace(obj, 1)} }

// next returns the next member: its name still quoted (and escaped) as
// written, and its value. The value's capacity ends with it, so that an
// append to it (say, to a request's params) copies rather than overwrites
// whatever follows in the shared buffer.
func (m *members) next() (name, value []byte, ok bool) {
	b := m.b
	if m.i >= len(b) || b[m.i] != '"' {
		return nil, nil, false // '}' or the end
	}
	nameEnd := stringEnd(b, m.i)
	name = b[m.i:nameEnd]
	i := skipSpace(b, nameEnd)
	i = skipSpace(b, i+1) // past ':'
	end := valueEnd(b, i)
	if i > end {
		i = end
	}
	value = b[i:end:end]
	i = skipSpace(b, end)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	m.i = i
	return name, value, true
}

// elements iterates over the elements of the array that starts at b[0].
type elements struct {
	b []byte
	i int
}

func newElements(arr []byte) elements { return elements{b: arr, i: skipSpace(arr, 1)} }

func (e *elements) next() ([]byte, bool) {
	b := e.b
	if e.i >= len(b) || b[e.i] == ']' {
		return nil, false
	}
	start := e.i
	end := valueEnd(b, start)
	i := skipSpace(b, end)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	e.i = i
	return b[start:end:end], true
}

// nameIs reports whether the quoted member name equals want, decoding
// escapes when there are any.
func nameIs(quoted []byte, want string) bool {
	if len(quoted) == len(want)+2 && string(quoted[1:len(quoted)-1]) == want {
		return true
	}
	if bytes.IndexByte(quoted, '\\') < 0 {
		return false
	}
	s, ok := unquote(quoted)
	return ok && s == want
}

// unquote decodes a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func unquote(quoted []byte) (string, bool) {
	if len(quoted) < 2 || quoted[0] != '"' {
		return "", false
	}
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", false
	}
	return s, true
}

// fields stores in out[i] the value of the member named names[i] of a
// (valid) JSON object, nil when absent. Names match exactly; for a
// repeated name the last value wins, as with encoding/json. The caller
// owns out, so decoding allocates nothing here.
func fields(obj []byte, out [][]byte, names ...string) {
	for it := newMembers(obj); ; {
		name, value, ok := it.next()
		if !ok {
			return
		}
		for i, want := range names {
			if nameIs(name, want) {
				out[i] = value
				break
			}
		}
	}
}
