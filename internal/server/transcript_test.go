package server_test

import (
	"fmt"
	"os"
	"path/filepath"
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
//	@advance                                every fake's chain grows by block
//	                                        0x11 (with one log); wait until
//	                                        every network serves it
//	@ws [path]                              open a WebSocket connection to
//	                                        path (default /): the requests
//	                                        after it go over it
//	@http                                   close it; back to HTTP
//
// Over WebSocket "-->" is a message sent and the next "<--" the next
// message read, byte for byte; a "<--" with no request before it reads one
// more message (a notification), and "<--" alone after a request reads
// nothing (a notification is not answered). @path, @method and @status do
// not apply there.
//
// An answer may capture a value the server makes up: "$name" in an
// expected answer stands for a 0x-prefixed hex string (a subscription or
// filter id) and binds it the first time; after that "$name" in requests
// and answers is that value. Everything else is compared byte for byte.
//
// Batch answers (an array for an array request) are always matched member
// by member by id, each member byte for byte; unless @unordered, the whole
// body must also be byte for byte what is written (braid keeps member
// order). Answers to single calls are compared byte for byte.
//
// The fixture: network "mainnet" (chain 1, the default at /) over fake
// upstreams "a" and "b", and network "devnet" (chain 1337) over "c", which
// denies debug_*, admin_* and eth_subscribe (so that transcripts show a
// policy holds over WebSocket too). Both serve their tip (block 0x10)
// before the first request (startBraid waits for it), as braid does once
// it has polled its upstreams: so eth_blockNumber is answered from the tip
// and "latest" is pinned to it. The answer cache is on, as by default: a
// read repeated at the same tip is answered from it, so @calls counts what
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

	// or a wait for block 0x11 after the fakes advance
	advance bool

	// or a WebSocket connection opened (to wsPath) or closed; overWS: a
	// request (or a read alone) on it
	wsOpen, wsClose bool
	wsPath          string
	overWS          bool
}

type transcript struct {
	limits map[string]string
	steps  []transcriptStep
}

func parseTranscript(name string, data []byte) (*transcript, error) {
	p := &transcriptParser{name: name, tr: &transcript{limits: map[string]string{}}, pending: transcriptStep{status: -1}}
	for i, raw := range strings.Split(string(data), "\n") {
		if err := p.line(i+1, strings.TrimRight(raw, "\r")); err != nil {
			return nil, err
		}
	}
	if p.haveRequest {
		return nil, fmt.Errorf("%s: the last request has no answer line", name)
	}
	return p.tr, nil
}

// transcriptParser reads a transcript line by line.
type transcriptParser struct {
	name        string
	tr          *transcript
	pending     transcriptStep
	haveRequest bool
	ws          bool // requests go over a WebSocket connection
}

func (p *transcriptParser) line(ln int, line string) error {
	trimmed := strings.TrimSpace(line)
	switch {
	case trimmed == "" || strings.HasPrefix(trimmed, "//"):
	case strings.HasPrefix(line, "-->"):
		if p.haveRequest {
			return p.fail(ln, "request without an answer line before it")
		}
		p.pending.request = strings.TrimPrefix(strings.TrimPrefix(line, "-->"), " ")
		p.pending.line = ln
		p.pending.overWS = p.ws
		p.haveRequest = true
	case strings.HasPrefix(line, "<--"):
		if !p.haveRequest && !p.ws {
			return p.fail(ln, "answer without a request")
		}
		if !p.haveRequest {
			p.pending.line, p.pending.overWS = ln, true // a read alone
		}
		p.pending.answer = strings.TrimPrefix(strings.TrimPrefix(line, "<--"), " ")
		p.tr.steps = append(p.tr.steps, p.pending)
		p.pending = transcriptStep{status: -1}
		p.haveRequest = false
	case strings.HasPrefix(line, "@"):
		if p.haveRequest {
			return p.fail(ln, "directive between a request and its answer")
		}
		return p.directive(ln, strings.Fields(line))
	default:
		return p.fail(ln, "line must start with -->, <--, @ or //: %q", line)
	}
	return nil
}

func (p *transcriptParser) fail(ln int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.name, ln, fmt.Sprintf(format, args...))
}

// directive reads one @ line.
func (p *transcriptParser) directive(ln int, f []string) error {
	switch f[0] {
	case "@path", "@method", "@status", "@unordered":
		return p.requestDirective(ln, f)
	case "@advance":
		p.tr.steps = append(p.tr.steps, transcriptStep{line: ln, advance: true})
	case "@ws":
		if len(f) > 2 {
			return p.fail(ln, "@ws takes at most a path")
		}
		st := transcriptStep{line: ln, wsOpen: true, wsPath: "/"}
		if len(f) == 2 {
			st.wsPath = f[1]
		}
		p.tr.steps = append(p.tr.steps, st)
		p.ws = true
	case "@http":
		p.tr.steps = append(p.tr.steps, transcriptStep{line: ln, wsClose: true})
		p.ws = false
	case "@limits":
		if len(p.tr.steps) > 0 {
			return p.fail(ln, "@limits must come before the first request")
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return p.fail(ln, "@limits wants key=value, got %q", kv)
			}
			p.tr.limits[k] = v
		}
	case "@calls":
		if len(f) != 3 && len(f) != 4 {
			return p.fail(ln, "@calls takes [upstream] method count")
		}
		n, err := strconv.Atoi(f[len(f)-1])
		if err != nil {
			return p.fail(ln, "@calls count %q: %v", f[len(f)-1], err)
		}
		st := transcriptStep{line: ln, callsMethod: f[len(f)-2], calls: n}
		if len(f) == 4 {
			st.callsUpstream = f[1]
		}
		p.tr.steps = append(p.tr.steps, st)
	default:
		return p.fail(ln, "unknown directive %s", f[0])
	}
	return nil
}

// requestDirective reads a directive about the next request.
func (p *transcriptParser) requestDirective(ln int, f []string) error {
	if p.ws && f[0] != "@unordered" {
		return p.fail(ln, "%s does not apply over WebSocket", f[0])
	}
	switch f[0] {
	case "@path":
		if len(f) != 2 {
			return p.fail(ln, "@path takes one path")
		}
		p.pending.path = f[1]
	case "@method":
		if len(f) != 2 {
			return p.fail(ln, "@method takes one HTTP method")
		}
		p.pending.method = f[1]
	case "@status":
		if len(f) != 2 {
			return p.fail(ln, "@status takes one code")
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return p.fail(ln, "@status %q: %v", f[1], err)
		}
		p.pending.status = n
	case "@unordered":
		p.pending.unordered = true
	}
	return nil
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
