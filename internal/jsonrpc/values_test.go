package jsonrpc

import (
	"encoding/json"
	"regexp"
	"testing"
)

func TestJoinArray(t *testing.T) {
	for _, tc := range []struct {
		items []json.RawMessage
		want  string
	}{
		{nil, `[]`},
		{[]json.RawMessage{}, `[]`},
		{[]json.RawMessage{json.RawMessage(`1`)}, `[1]`},
		{[]json.RawMessage{json.RawMessage(`{"a":[1,2]}`), json.RawMessage(`"0x1"`), nil, json.RawMessage(`null`)}, `[{"a":[1,2]},"0x1",null,null]`},
	} {
		got := JoinArray(tc.items)
		if string(got) != tc.want {
			t.Errorf("JoinArray(%q) = %s, want %s", tc.items, got, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("JoinArray(%q) = %s, not valid JSON", tc.items, got)
		}
	}
}

func TestNewID(t *testing.T) {
	shape := regexp.MustCompile(`^0x[0-9a-f]{32}$`)
	seen := make(map[string]bool)
	for range 1000 {
		id := NewID()
		if !shape.MatchString(id) {
			t.Fatalf("NewID() = %q, want 0x and 32 lowercase hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}
