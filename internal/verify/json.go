package verify

import (
	"bytes"
	"encoding/json"
	"unicode"
)

// This file is verify's one toolkit for reading an answer's JSON strictly:
// an answer that could be read two ways (a member twice, or once more
// under another case, as encoding/json matches names) is a lie, since it
// may be verified one way and used the other.

// object checks that raw is one JSON value with no member twice (hygiene)
// and splits the object into its members (jsonObject).
func object(raw json.RawMessage, what string, known *names) (map[string]json.RawMessage, error) {
	if isNullJSON(raw) {
		return nil, errorf("no %s object", what)
	}
	if err := jsonHygiene(raw, what); err != nil {
		return nil, err
	}
	return jsonObject(raw, what, known)
}

// names is a set of JSON member names.
type names struct {
	all    []string
	byFold map[string]string // foldKey(name) → name
}

func nameSet(list ...string) *names {
	n := &names{all: list, byFold: make(map[string]string, len(list))}
	for _, s := range list {
		n.byFold[foldKey(s)] = s
	}
	return n
}

func (n *names) has(s string) bool { return n.byFold[foldKey(s)] == s }

func (n *names) list() []string { return n.all }

// jsonHygiene rejects an answer that is not one JSON value, or that has
// an object with two members a Go decoder would read as one (the same
// name up to case folding, as encoding/json matches names). Such an
// answer can be read two ways: verified one way and used the other.
func jsonHygiene(raw json.RawMessage, what string) error {
	if !json.Valid(raw) {
		return errorf("%s is not valid JSON", what)
	}
	type frame struct {
		object, wantKey bool
		keys            map[string]struct{}
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			if len(stack) == 0 {
				return nil // io.EOF after the one value
			}
			return errorf("%s does not decode: %v", what, err)
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true, keys: map[string]struct{}{}})
				continue
			case '[':
				stack = append(stack, frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].wantKey {
				f := &stack[n-1]
				k := foldKey(t)
				if _, dup := f.keys[k]; dup {
					return errorf("%s has member %q more than once (names are matched regardless of case)", what, t)
				}
				f.keys[k] = struct{}{}
				f.wantKey = false
				continue
			}
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true // a member's value is complete
		}
	}
}

// jsonObject splits a JSON object into its members, keyed as sent. A
// member whose name matches one of known only case-insensitively is an
// *Error: a Go client reads it as that member, others do not.
func jsonObject(raw json.RawMessage, what string, known *names) (map[string]json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		if isNullJSON(t) {
			return nil, errorf("no %s (null)", what)
		}
		return nil, errorf("%s is not a JSON object", what)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(t, &m); err != nil {
		return nil, errorf("%s does not decode: %v", what, err)
	}
	for k := range m {
		if n, ok := known.byFold[foldKey(k)]; ok && n != k {
			return nil, errorf("%s has member %q, which reads as %q", what, k, n)
		}
	}
	return m, nil
}

// jsonField decodes member name of m into v. A missing or null member is
// an *Error when required, else leaves v alone.
func jsonField(m map[string]json.RawMessage, what, name string, v any, required bool) error {
	raw, ok := m[name]
	if !ok || isNullJSON(raw) {
		if required {
			return errorf("%s has no %s", what, name)
		}
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return errorf("%s member %s does not decode: %v", what, name, err)
	}
	return nil
}

// isNullJSON reports whether raw is absent or null.
func isNullJSON(raw []byte) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// sameJSON reports whether a and b are the same JSON value, hex strings
// compared regardless of case (checksummed addresses, upper-case hex).
func sameJSON(a, b []byte) bool {
	var va, vb any
	da := json.NewDecoder(bytes.NewReader(a))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader(b))
	db.UseNumber()
	if da.Decode(&va) != nil || db.Decode(&vb) != nil {
		return false
	}
	return sameValue(va, vb)
}

func sameValue(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, va := range a {
			vb, ok := b[k]
			if !ok || !sameValue(va, vb) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case string:
		b, ok := b.(string)
		return ok && (a == b || isHex(a) && bytes.EqualFold([]byte(a), []byte(b)))
	default:
		return a == b
	}
}

func isHex(s string) bool {
	if len(s) < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return false
	}
	for _, c := range []byte(s[2:]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// foldKey folds a member name the way encoding/json matches names to
// fields: ASCII letters upper-cased, other runes to the smallest rune of
// their Unicode simple-folding orbit.
func foldKey(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z':
			r -= 'a' - 'A'
		case r >= 0x80:
			for {
				r2 := unicode.SimpleFold(r)
				if r2 <= r {
					r = r2
					break
				}
				r = r2
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func truncateJSON(raw []byte) string {
	const limit = 80
	if t := bytes.TrimSpace(raw); len(t) > limit {
		return string(t[:limit]) + "…"
	}
	return string(bytes.TrimSpace(raw))
}
