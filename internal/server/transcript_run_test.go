package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
)

// transcriptRun is one transcript being replayed: braid over the fixture's
// fakes, the WebSocket connection open (if any) and the values captured.
type transcriptRun struct {
	t    *testing.T
	file string
	b    *braid
	ws   *wsClient
	vars map[string]string
}

func runTranscript(t *testing.T, file string, tr *transcript) {
	var limitsErr error
	b := startBraid(t, func(l *config.Limits) { limitsErr = tr.applyLimits(l) },
		netSpec{name: "mainnet", chainID: 1, fakes: []*fakeUpstream{newFake(t, "a", 1), newFake(t, "b", 1)}},
		netSpec{name: "devnet", chainID: 1337, fakes: []*fakeUpstream{newFake(t, "c", 1337)},
			methods: config.Methods{Deny: []string{"debug_*", "admin_*", "eth_subscribe"}}},
	)
	if limitsErr != nil {
		t.Fatal(limitsErr)
	}
	t.Cleanup(b.srv.CloseWebSockets) // first: httptest does not wait for hijacked connections
	r := &transcriptRun{t: t, file: file, b: b, vars: map[string]string{}}
	for _, st := range tr.steps {
		r.step(st)
	}
}

func (r *transcriptRun) step(st transcriptStep) {
	where := fmt.Sprintf("%s:%d", r.file, st.line)
	switch {
	case st.advance:
		r.b.advance(where)
	case st.wsOpen:
		if r.ws != nil {
			_ = r.ws.conn.CloseNow()
		}
		r.ws = dialWS(r.t, "ws"+strings.TrimPrefix(r.b.URL, "http")+st.wsPath, nil)
	case st.wsClose:
		if r.ws != nil {
			_ = r.ws.conn.CloseNow()
			r.ws = nil
		}
	case st.callsMethod != "":
		r.checkCalls(where, st)
	case st.overWS:
		r.overWS(where, st)
	default:
		r.overHTTP(where, st)
	}
}

func (r *transcriptRun) checkCalls(where string, st transcriptStep) {
	fakes := r.b.fakes
	if st.callsUpstream != "" {
		fakes = []*fakeUpstream{r.b.fake(st.callsUpstream)}
	}
	got := 0
	for _, f := range fakes {
		got += clientCalls(f, st.callsMethod)
	}
	if got != st.calls {
		r.t.Errorf("%s: %s %s: %d calls reached the upstreams, want %d", where, st.callsUpstream, st.callsMethod, got, st.calls)
	}
}

// overWS sends the request (if any) on the connection and reads the next
// message (unless no answer is expected).
func (r *transcriptRun) overWS(where string, st transcriptStep) {
	if r.ws == nil {
		r.t.Fatalf("%s: no WebSocket connection open (@ws)", where)
	}
	if st.request != "" {
		r.ws.send(r.expand(st.request))
	}
	if st.answer == "" {
		return
	}
	r.compareAnswer(where, st, r.ws.read())
}

func (r *transcriptRun) overHTTP(where string, st transcriptStep) {
	method := st.method
	if method == "" {
		method = http.MethodPost
	}
	path := st.path
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequest(method, r.b.URL+path, strings.NewReader(r.expand(st.request)))
	if err != nil {
		r.t.Fatal(err)
	}
	if st.request != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s: %v", where, err)
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(res.Body)
	res.Body.Close()
	if err != nil {
		r.t.Fatalf("%s: reading answer: %v", where, err)
	}
	got := buf.String()

	wantStatus := st.status
	if wantStatus < 0 {
		wantStatus = http.StatusOK
		if st.answer == "" {
			wantStatus = http.StatusNoContent
		}
	}
	if res.StatusCode != wantStatus {
		r.t.Errorf("%s: HTTP status %d, want %d (body %s)", where, res.StatusCode, wantStatus, got)
	}
	if got != "" {
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			r.t.Errorf("%s: Content-Type %q, want application/json", where, ct)
		}
	}
	r.compareAnswer(where, st, got)
}

// varRef is a "$name" in a transcript line.
var varRef = regexp.MustCompile(`\$[a-z][a-z0-9_]*`)

// expand replaces the bound "$name"s of s with their values.
func (r *transcriptRun) expand(s string) string {
	return varRef.ReplaceAllStringFunc(s, func(ref string) string {
		if v, ok := r.vars[ref[1:]]; ok {
			return v
		}
		return ref
	})
}

// capture matches got against want, in which each unbound "$name" stands
// for a 0x-prefixed hex string, and binds those names. It returns want
// with every name replaced: what got must equal byte for byte.
func (r *transcriptRun) capture(got, want string) string {
	want = r.expand(want)
	refs := varRef.FindAllString(want, -1)
	if len(refs) == 0 {
		return want
	}
	parts := varRef.Split(want, -1)
	var pat strings.Builder
	pat.WriteString("^")
	for i, p := range parts {
		pat.WriteString(regexp.QuoteMeta(p))
		if i < len(refs) {
			pat.WriteString("(0x[0-9a-f]+)")
		}
	}
	pat.WriteString("$")
	m := regexp.MustCompile(pat.String()).FindStringSubmatch(got)
	if m == nil {
		return want // the comparison reports the difference
	}
	for i, ref := range refs {
		if _, bound := r.vars[ref[1:]]; !bound {
			r.vars[ref[1:]] = m[i+1]
		}
	}
	return r.expand(want)
}

// compareAnswer checks got against the transcript's expected answer.
func (r *transcriptRun) compareAnswer(where string, st transcriptStep, got string) {
	t := r.t
	t.Helper()
	want := r.capture(got, st.answer)
	isBatch := strings.HasPrefix(strings.TrimSpace(st.request), "[") && strings.HasPrefix(want, "[")
	if !isBatch {
		if got != want {
			t.Errorf("%s: answer differs\n--> %s\ngot  %s\nwant %s", where, st.request, got, want)
		}
		return
	}
	var gotMembers, wantMembers []json.RawMessage
	if err := json.Unmarshal([]byte(want), &wantMembers); err != nil {
		t.Fatalf("%s: expected answer is not a JSON array: %v", where, err)
	}
	if err := json.Unmarshal([]byte(got), &gotMembers); err != nil {
		t.Errorf("%s: answer is not a JSON array: %v\ngot  %s\nwant %s", where, err, got, want)
		return
	}
	if len(gotMembers) != len(wantMembers) {
		t.Errorf("%s: %d answers, want %d\ngot  %s\nwant %s", where, len(gotMembers), len(wantMembers), got, want)
		return
	}
	// Match by id: answers with equal ids (several null ids) pair up in order.
	byID := map[string][]string{}
	for _, m := range gotMembers {
		id := memberID(m)
		byID[id] = append(byID[id], string(m))
	}
	for _, m := range wantMembers {
		id := memberID(m)
		if len(byID[id]) == 0 {
			t.Errorf("%s: no answer with id %s\ngot  %s\nwant %s", where, id, got, want)
			continue
		}
		g := byID[id][0]
		byID[id] = byID[id][1:]
		if g != string(m) {
			t.Errorf("%s: answer for id %s differs\ngot  %s\nwant %s", where, id, g, m)
		}
	}
	if !st.unordered && got != want {
		t.Errorf("%s: batch answer differs (order or spacing)\ngot  %s\nwant %s", where, got, want)
	}
}

// memberID returns the raw id of an answer object ("<none>" when absent).
func memberID(m json.RawMessage) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(m, &obj) != nil {
		return "<not an object>"
	}
	id, ok := obj["id"]
	if !ok {
		return "<none>"
	}
	return string(id)
}

// headPolls are the params of braid's own head polls (eth_getBlockByNumber
// of a tag; the fakes refuse batches, so each is a call of its own).
// They go on at every poll interval however long a transcript runs, and
// no client's call is sent with them: with the tip known, braid pins a
// tag to the tip's block before forwarding it.
var headPolls = []string{`["latest",false]`, `["safe",false]`, `["finalized",false]`}

// clientCalls counts the calls for method that f got, braid's head polls
// left out.
func clientCalls(f *fakeUpstream, method string) int {
	n := 0
	for _, p := range f.Params(method) {
		if method != "eth_getBlockByNumber" || !slices.Contains(headPolls, p) {
			n++
		}
	}
	return n
}
