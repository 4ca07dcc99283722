package server

import "testing"

// TestPageFormats: the page's number, duration and window formats (which
// page.js repeats operation for operation).
func TestPageFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{fixed(1.25, 1), "1.3"}, // half up, where strconv rounds half to even
		{fixed(0.04, 1), "0.0"},
		{fixed(7, 0), "7"},
		{fixed(0.005, 2), "0.01"},
		{fixed(-2.5, 1), "-2.5"},
		{percent(0.8754), "87.5 %"},
		{percent(1), "100.0 %"},
		{duration(4.24), "4.2 s"},
		{duration(61.9), "1 min 01 s"},
		{duration(3725), "1 h 02 min"},
		{window("1h0m0s"), "1h"},
		{window("30m0s"), "30m"},
		{window("1h30m0s"), "1h30m"},
		{window("10s"), "10s"},
		{window(""), "—"},
		{plural(1, "miss"), "1 miss"},
		{plural(2, "miss"), "2 misses"},
		{plural(0, "block"), "0 blocks"},
		{shortHash("0x12f4c66cd81fa0378ae9efcadb2f2bb4030dc38072996afa2f97b3aa389d5c5a"), "0x12f4c6…5c5a"},
		{blockNumber(&blockDoc{Number: "0x10"}), "16"},
		{blockNumber(nil), "—"},
		{anyText(map[string]any{"sent": 3.0, "received": 1.5}), "received 1.50, sent 3"},
		{anyText([]any{"a", true, nil}), "a, yes, —"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
