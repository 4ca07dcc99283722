package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
)

// Transcript files (testdata/*.txt) are replayed against a fresh braid in
// front of fake upstreams, in the manner of go-ethereum's rpc/testdata:
//
//	// a comment; blank lines are ignored
//	--> {"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}
//	<-- {"jsonrpc":"2.0","id":1,"result":"0x10"}
//
// "-->" is a request body (POST, Content-Type application/json) and the
// next "<--" the exact answer body expected. "<--" alone expects no answer:
// HTTP 204 and an empty body. Directive lines apply to the next request:
//
//	@path /devnet      URL path (default /)
//	@method GET        HTTP method (default POST)
//	@status 413        expected HTTP status (default 200, or 204 with no body)
//	@unordered         a batch answer is matched by id only, in any order
//
// and these stand alone:
//
//	@limits max_batch=3 max_body_bytes=64   (before the first request)
//	@calls [upstream] method N              the fakes (or one of them) got
//	                                        N calls for method so far
//	                                        (braid's own head polls not
//	                                        counted)
//
// Batch answers (an array for an array request) are always matched member
// by member by id, each member byte for byte; unless @unordered, the whole
// body must also be byte for byte what is written (braid keeps member
// order). Answers to single calls are compared byte for byte.
//
// The fixture: network "mainnet" (chain 1, the default at /) over fake
// upstreams "a" and "b", and network "devnet" (chain 1337) over "c", which
// denies debug_* and admin_*. Both serve their tip (block 0x10) before the
// first request (startBraid waits for it), as braid does once it has
// polled its upstreams: so eth_blockNumber is answered from the tip and
// "latest" is pinned to it. The answer cache is on, as by default: a read
// repeated at the same tip is answered from it, so @calls counts what
// reached an upstream, not what was asked (transcripts that count use
// eth_syncing, which is never cached or answered locally).

type transcriptStep struct {
	line int

	// a request and its answer
	path, method string
	status       int
	unordered    bool
	request      string
	answer       string

	// or an assertion on the fakes' counters
	callsUpstream, callsMethod string
	calls                      int
}

type transcript struct {
	limits map[string]string
	steps  []transcriptStep
}

func parseTranscript(name string, data []byte) (*transcript, error) {
	tr := &transcript{limits: map[string]string{}}
	var pending transcriptStep
	pending.status = -1
	haveRequest := false
	for i, raw := range strings.Split(string(data), "\n") {
		ln := i + 1
		line := strings.TrimRight(raw, "\r")
		trimmed := strings.TrimSpace(line)
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", name, ln, fmt.Sprintf(format, args...))
		}
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "//"):
		case strings.HasPrefix(line, "-->"):
			if haveRequest {
				return nil, fail("request without an answer line before it")
			}
			pending.request = strings.TrimPrefix(strings.TrimPrefix(line, "-->"), " ")
			pending.line = ln
			haveRequest = true
		case strings.HasPrefix(line, "<--"):
			if !haveRequest {
				return nil, fail("answer without a request")
			}
			pending.answer = strings.TrimPrefix(strings.TrimPrefix(line, "<--"), " ")
			tr.steps = append(tr.steps, pending)
			pending = transcriptStep{status: -1}
			haveRequest = false
		case strings.HasPrefix(line, "@"):
			if haveRequest {
				return nil, fail("directive between a request and its answer")
			}
			f := strings.Fields(line)
			switch f[0] {
			case "@path":
				if len(f) != 2 {
					return nil, fail("@path takes one path")
				}
				pending.path = f[1]
			case "@method":
				if len(f) != 2 {
					return nil, fail("@method takes one HTTP method")
				}
				pending.method = f[1]
			case "@status":
				if len(f) != 2 {
					return nil, fail("@status takes one code")
				}
				n, err := strconv.Atoi(f[1])
				if err != nil {
					return nil, fail("@status %q: %v", f[1], err)
				}
				pending.status = n
			case "@unordered":
				pending.unordered = true
			case "@limits":
				if len(tr.steps) > 0 {
					return nil, fail("@limits must come before the first request")
				}
				for _, kv := range f[1:] {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						return nil, fail("@limits wants key=value, got %q", kv)
					}
					tr.limits[k] = v
				}
			case "@calls":
				if len(f) != 3 && len(f) != 4 {
					return nil, fail("@calls takes [upstream] method count")
				}
				n, err := strconv.Atoi(f[len(f)-1])
				if err != nil {
					return nil, fail("@calls count %q: %v", f[len(f)-1], err)
				}
				st := transcriptStep{line: ln, callsMethod: f[len(f)-2], calls: n}
				if len(f) == 4 {
					st.callsUpstream = f[1]
				}
				tr.steps = append(tr.steps, st)
			default:
				return nil, fail("unknown directive %s", f[0])
			}
		default:
			return nil, fail("line must start with -->, <--, @ or //: %q", line)
		}
	}
	if haveRequest {
		return nil, fmt.Errorf("%s: the last request has no answer line", name)
	}
	return tr, nil
}

func (tr *transcript) applyLimits(l *config.Limits) error {
	for k, v := range tr.limits {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("@limits %s=%s: %v", k, v, err)
		}
		switch k {
		case "max_batch":
			l.MaxBatch = int(n)
		case "max_body_bytes":
			l.MaxBodyBytes = n
		case "max_attempts":
			l.MaxAttempts = int(n)
		default:
			return fmt.Errorf("@limits: unknown limit %q", k)
		}
	}
	return nil
}

func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no transcripts in testdata/")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := parseTranscript(file, data)
			if err != nil {
				t.Fatal(err)
			}
			runTranscript(t, file, tr)
		})
	}
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

func runTranscript(t *testing.T, file string, tr *transcript) {
	var limitsErr error
	b := startBraid(t, func(l *config.Limits) { limitsErr = tr.applyLimits(l) },
		netSpec{name: "mainnet", chainID: 1, fakes: []*fakeUpstream{newFake(t, "a", 1), newFake(t, "b", 1)}},
		netSpec{name: "devnet", chainID: 1337, fakes: []*fakeUpstream{newFake(t, "c", 1337)},
			methods: config.Methods{Deny: []string{"debug_*", "admin_*"}}},
	)
	if limitsErr != nil {
		t.Fatal(limitsErr)
	}
	for _, st := range tr.steps {
		where := fmt.Sprintf("%s:%d", file, st.line)
		if st.callsMethod != "" {
			fakes := b.fakes
			if st.callsUpstream != "" {
				fakes = []*fakeUpstream{b.fake(st.callsUpstream)}
			}
			got := 0
			for _, f := range fakes {
				got += clientCalls(f, st.callsMethod)
			}
			if got != st.calls {
				t.Errorf("%s: %s %s: %d calls reached the upstreams, want %d", where, st.callsUpstream, st.callsMethod, got, st.calls)
			}
			continue
		}
		method := st.method
		if method == "" {
			method = http.MethodPost
		}
		path := st.path
		if path == "" {
			path = "/"
		}
		req, err := http.NewRequest(method, b.URL+path, strings.NewReader(st.request))
		if err != nil {
			t.Fatal(err)
		}
		if st.request != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		var buf bytes.Buffer
		_, err = buf.ReadFrom(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("%s: reading answer: %v", where, err)
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
			t.Errorf("%s: HTTP status %d, want %d (body %s)", where, res.StatusCode, wantStatus, got)
		}
		if got != "" {
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s: Content-Type %q, want application/json", where, ct)
			}
		}
		compareAnswer(t, where, st, got)
	}
}

// compareAnswer checks got against the transcript's expected answer.
func compareAnswer(t *testing.T, where string, st transcriptStep, got string) {
	t.Helper()
	want := st.answer
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
