package beacon

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func readAll(t *testing.T, in string) ([]sseEvent, error) {
	t.Helper()
	r := newSSEReader(strings.NewReader(in))
	var out []sseEvent
	for {
		ev, err := r.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, ev)
	}
}

func TestSSEReader(t *testing.T) {
	in := ": comment\r\n" +
		"event: head\r\ndata: {\"slot\":\"1\"}\r\n\r\n" +
		"id: 7\nretry: 100\nevent:light_client_optimistic_update\ndata: a\ndata:b\n\n" +
		"\n\n" + // blank lines between events
		"event: empty\n\n" + // no data: not dispatched
		"data: last\n" // unterminated: dropped at EOF
	got, err := readAll(t, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []sseEvent{{name: "head", data: []byte(`{"slot":"1"}`)}, {name: "light_client_optimistic_update", data: []byte("a\nb")}}
	if len(got) != len(want) {
		t.Fatalf("got %d events: %+v", len(got), got)
	}
	for i := range want {
		if got[i].name != want[i].name || string(got[i].data) != string(want[i].data) {
			t.Errorf("event %d = %q %q, want %q %q", i, got[i].name, got[i].data, want[i].name, want[i].data)
		}
	}
}

func TestSSEReaderBoundsEvents(t *testing.T) {
	line := "data: " + strings.Repeat("x", 600<<10) + "\n"
	if _, err := readAll(t, line+line+"\n"); !errors.Is(err, errEventTooLarge) {
		t.Fatalf("two 600 KiB data lines: %v", err)
	}
	if _, err := readAll(t, "data: "+strings.Repeat("y", 2<<20)+"\n\n"); !errors.Is(err, errEventTooLarge) {
		t.Fatalf("one 2 MiB line: %v", err)
	}
}
