package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
)

// sample is a report with live figures on a network that misses one
// requirement, and a config-only one that meets its own.
func sample(t *testing.T) *Report {
	t.Helper()
	now := time.Date(2025, 3, 1, 15, 4, 5, 0, time.UTC)
	a := topology("infura infura alchemy self")
	a.Quorum = quorum(2, config.OnShortfallError)
	a.Quorum.Methods = map[string]config.MethodQuorum{"eth_getLogs": {K: 3}}
	a.Require = config.Require{Availability: 2, Integrity: 2}
	ra, err := Build(&a, &Live{
		Window:      time.Hour,
		Served:      map[string]uint64{"infura": 1100, "alchemy": 120, "self": 14},
		Usable:      map[string]int{"infura": 2, "alchemy": 1},
		Quarantined: map[string]time.Time{"self": now.Add(10 * time.Minute)},
		Now:         now,
	})
	if err != nil {
		t.Fatal(err)
	}
	b := topology("a b c")
	b.Name, b.ChainID = "sepolia", 11155111
	b.Require = config.Require{Availability: 2}
	rb, err := Build(&b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return New([]*Network{ra, rb})
}

func TestWriteText(t *testing.T) {
	var buf bytes.Buffer
	if err := sample(t).WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"network mainnet (chain 1): 3 operators, 4 upstreams\n",
		"  operators      infura   2 upstreams  (infura-1, infura-2)  2/2 usable   89.1 % of reads\n",
		"                 alchemy  1 upstream   (alchemy-1)           1/1 usable    9.7 %\n",
		"                 self     1 upstream   (self-1)              0/1 usable    1.1 %           quarantined\n",
		"  quorum         k 2 (eth_getLogs 3) · on dispute: error · on shortfall: error\n",
		"  availability   1   the fewest operators whose loss stops service\n",
		"                     reads 2 · quorum reads 1 · transactions 3\n",
		"  integrity      2   the fewest colluding operators that can make braid answer wrongly\n",
		"                     2 to 3 operators must agree on quorum reads;",
		"  concentration  HHI 8,042 over 1,234 reads in the last hour\n",
		"  warnings       - operator infura served 89 % of reads in the last hour\n",
		"                 - operator self is quarantined until 15:14:05 UTC (lost disputes)\n",
		"  require        availability ≥ 2: NOT MET (1) · integrity ≥ 2: met\n",
		"network sepolia (chain 11155111): 3 operators, 3 upstreams\n",
		"  operators      a  1 upstream  (a-1)\n",
		"  quorum         off (k 1)\n",
		"  availability   2   the fewest operators whose loss stops service\n",
		"                     reads 2 · transactions 3\n",
		"                     a single operator decides every answer\n",
		"  require        availability ≥ 2: met\n",
		"\nrequirements NOT met in mainnet\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q\n%s", want, out)
		}
	}
	if strings.Contains(out, "concentration  HHI 0") || strings.Count(out, "concentration") != 1 {
		t.Errorf("config-only network shows a concentration line:\n%s", out)
	}
	for _, secret := range []string{"SECRETKEY", "example.com", "https://"} {
		if strings.Contains(out, secret) {
			t.Errorf("text shows an upstream URL (%q):\n%s", secret, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimRight(line, " ") != line {
			t.Errorf("line has trailing space: %q", line)
		}
	}
}

func TestWriteTextVerdict(t *testing.T) {
	tests := []struct {
		name string
		req  config.Require
		want string
	}{
		{"no requirements", config.Require{}, "for braid check to enforce)\n"},
		{"met", config.Require{Availability: 1}, "\nevery requirement is met\n"},
		{"unmet", config.Require{Integrity: 2}, "\nrequirements NOT met in mainnet\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := topology("a")
			n.Require = tt.req
			r, err := Build(&n, nil)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := New([]*Network{r}).WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(buf.String(), tt.want) {
				t.Errorf("text ends %q, want %q\n%s", buf.String()[max(0, buf.Len()-60):], tt.want, buf.String())
			}
		})
	}
}

func TestWriteTextNoReads(t *testing.T) {
	n := topology("a b")
	r, err := Build(&n, &Live{Window: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := New([]*Network{r}).WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if want := "  concentration  no reads in the last 5m\n"; !strings.Contains(buf.String(), want) {
		t.Errorf("text lacks %q\n%s", want, buf.String())
	}
}

func TestJSON(t *testing.T) {
	r := sample(t)
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("round trip changed the report:\n got %+v\nwant %+v", back, *r)
	}
	if strings.Contains(string(data), "SECRETKEY") {
		t.Errorf("JSON shows an upstream URL: %s", data)
	}

	// The shape clients read: snake_case keys, live-only keys left out of
	// a config-only network, quorum_reads only with a quorum.
	var raw struct {
		Networks []map[string]json.RawMessage `json:"networks"`
		OK       *bool                        `json:"ok"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.OK == nil || *raw.OK || len(raw.Networks) != 2 {
		t.Fatalf("report JSON = %s", data)
	}
	live, static := raw.Networks[0], raw.Networks[1]
	for _, key := range []string{"name", "chain_id", "operators", "quorum", "availability", "integrity",
		"hhi", "requests", "window", "warnings", "require", "ok"} {
		if _, ok := live[key]; !ok {
			t.Errorf("network JSON lacks %q", key)
		}
	}
	for key, want := range map[string]string{
		"window":       `"1h0m0s"`,
		"availability": `{"reads":2,"quorum_reads":1,"transactions":3,"min":1}`,
		"require":      `{"availability":2,"integrity":2,"unmet":["availability 1 is below the required 2"]}`,
	} {
		if got := string(live[key]); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	if !strings.Contains(string(live["operators"]), `"usable":2,`) ||
		!strings.Contains(string(live["operators"]), `"quarantined_until":"2025-03-01T15:14:05Z"`) {
		t.Errorf("live operators = %s", live["operators"])
	}
	if _, ok := static["window"]; ok {
		t.Error("config-only network has a window")
	}
	for key, want := range map[string]string{
		"operators":    `[{"name":"a","upstreams":["a-1"],"served":0,"share":0},{"name":"b","upstreams":["b-1"],"served":0,"share":0},{"name":"c","upstreams":["c-1"],"served":0,"share":0}]`,
		"availability": `{"reads":2,"transactions":3,"min":2}`,
		"quorum":       `{"k":1,"k_min":1,"k_max":1,"on_dispute":"error","on_shortfall":"error"}`,
		"integrity":    `{"value":1,"reads_outside_quorum":1,"note":"a single operator decides every answer"}`,
	} {
		if got := string(static[key]); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
}
