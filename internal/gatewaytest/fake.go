package gatewaytest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Fixed answers of the fakes. Transcripts (internal/server/testdata) spell
// them out byte for byte.
const (
	// RevertData is the ABI encoding of Error("nope").
	RevertData = `"0x08c379a0` +
		`0000000000000000000000000000000000000000000000000000000000000020` +
		`0000000000000000000000000000000000000000000000000000000000000004` +
		`6e6f706500000000000000000000000000000000000000000000000000000000"`
	// RevertError is eth_call's answer for data 0xdead.
	RevertError = `{"code":3,"message":"execution reverted: nope","data":` + RevertData + `}`

	// CallResult is eth_call's answer for any other data.
	CallResult = `"0x000000000000000000000000000000000000000000000000000000000000002a"`

	// BlockResult is the eth_getBlockByNumber result as the fake writes
	// it: odd spacing, unusual key order and escapes that any re-encoding
	// would change. braid must pass it through untouched.
	BlockResult = `{"number":"0x10" ,"hash" : "0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b",` +
		`"transactions":[ ],"parentHash":"0x0000000000000000000000000000000000000000000000000000000000000000",` +
		`"extraData":"0x","note":"\u0062raid\/fake","size":1e3,"uncles" :[]}`

	// SendRawError is every eth_sendRawTransaction's answer unless told
	// otherwise.
	SendRawError = `{"code":-32000,"message":"nonce too low"}`

	// Balance is every eth_getBalance's result.
	Balance = `"0xde0b6b3a7640000"`
)

// Fake is a JSON-RPC provider on loopback with deterministic answers and
// switches for the faults braid must survive.
type Fake struct {
	name    string
	chainID uint64
	srv     *httptest.Server

	mu          sync.Mutex
	down        bool              // hijack and close every connection
	status      int               // non-zero: answer with this HTTP status
	retryAfter  string            // Retry-After header sent with status
	latency     time.Duration     // before answering
	errAnswer   string            // raw error object for every method but eth_chainId
	answers     map[string]string // method → raw `"result":…` or `"error":…` member
	calls       map[string]int
	params      map[string][]string
	inflight    int
	maxInflight int
	filters     map[string]bool
	nextFilter  int
	arrived     chan string   // when set, receives each method as it arrives
	advanced    bool          // the chain has grown by block 0x11 (Advance)
	holdMethod  string        // requests for it wait for hold to close
	hold        chan struct{} // nil: nothing held
	held        int           // requests waiting on hold now
	trap        *Trap         // when set, may make this fake faulty on a call

	// A provider's capacity: more than capacity calls of capMethod at
	// once get HTTP 429 (counted in rejected).
	capMethod   string
	capacity    int
	capInflight int
	capPeak     int
	rejected    int
	capGivenUp  int // capped calls the client gave up on before the answer
}

// NewFake starts a fake provider serving chainID. It is closed when the
// test ends.
func NewFake(t testing.TB, name string, chainID uint64) *Fake {
	t.Helper()
	f := &Fake{
		name:    name,
		chainID: chainID,
		answers: make(map[string]string),
		calls:   make(map[string]int),
		params:  make(map[string][]string),
		filters: make(map[string]bool),
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// Name is the fake's upstream name (its operator is "op-" + Name).
func (f *Fake) Name() string { return f.name }

// URL is where the fake serves.
func (f *Fake) URL() string { return f.srv.URL }

// SetDown makes every request end with the connection closed, no answer.
func (f *Fake) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// SetStatus makes every request get HTTP status (0 restores 200), with a
// Retry-After header when retryAfter is not empty.
func (f *Fake) SetStatus(status int, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.retryAfter = status, retryAfter
}

// SetLatency delays every answer by d.
func (f *Fake) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// SetErrorAnswer makes every method but eth_chainId answer with the raw
// JSON-RPC error object e ("" restores normal answers).
func (f *Fake) SetErrorAnswer(e string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errAnswer = e
}

// Answer overrides method's answer with a raw member, e.g.
// `"error":{"code":-32000,"message":"already known"}`.
func (f *Fake) Answer(method, member string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[method] = member
}

// Trap makes whichever of a set of fakes first gets a call for method
// faulty, before it answers that call: the upstream braid tries first,
// whatever its ranking (which a head poll's measured latency decides
// between equally good upstreams).
type Trap struct {
	method string
	fault  func(*Fake)
	once   sync.Once
	mu     sync.Mutex
	sprung *Fake
}

// SetTrap arms a trap on fakes.
func SetTrap(method string, fault func(*Fake), fakes ...*Fake) *Trap {
	tr := &Trap{method: method, fault: fault}
	for _, f := range fakes {
		f.mu.Lock()
		f.trap = tr
		f.mu.Unlock()
	}
	return tr
}

// spring makes f faulty if this is the first call for the trap's method.
func (tr *Trap) spring(f *Fake, method string) {
	if tr == nil || method != tr.method {
		return
	}
	tr.once.Do(func() {
		tr.fault(f)
		tr.mu.Lock()
		tr.sprung = f
		tr.mu.Unlock()
	})
}

// Sprung is the fake the trap made faulty (nil: none got the call yet).
func (tr *Trap) Sprung() *Fake {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.sprung
}

// Hold makes requests for method wait, unanswered, until release is
// called (or the request is cancelled); Held counts those waiting.
// release may be called more than once.
func (f *Fake) Hold(method string) (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.holdMethod, f.hold = method, ch
	f.mu.Unlock()
	return sync.OnceFunc(func() {
		f.mu.Lock()
		f.hold = nil
		f.mu.Unlock()
		close(ch)
	})
}

// Held is how many requests are waiting for a Hold to be released.
func (f *Fake) Held() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held
}

// Arrivals returns a channel receiving each method as a request for it
// arrives (sends never block; extra arrivals are dropped).
func (f *Fake) Arrivals() <-chan string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arrived = make(chan string, 64)
	return f.arrived
}

// Calls returns how many requests for method arrived since the last reset.
func (f *Fake) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// AllCalls returns a copy of the per-method counters.
func (f *Fake) AllCalls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.calls))
	for k, v := range f.calls {
		out[k] = v
	}
	return out
}

// Params returns the raw params of every request for method, in order.
func (f *Fake) Params(method string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.params[method]...)
}

// SetCapacity makes the fake serve at most n calls of method at once;
// more get HTTP 429, as a provider's concurrency limit answers.
func (f *Fake) SetCapacity(method string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.capMethod, f.capacity = method, n
}

// Capacity reports the most calls of the capped method served at once,
// how many were refused for passing the capacity, and how many the client
// gave up on (cancelled) while the fake was serving them: the fake learns
// of that only when its server notices the closed connection, so for a
// moment such a call still counts against the capacity.
func (f *Fake) Capacity() (peak, rejected, givenUp int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.capPeak, f.rejected, f.capGivenUp
}

// MaxInflight is the most requests the fake was serving at once.
func (f *Fake) MaxInflight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInflight
}

// ResetCalls zeroes the counters (e.g. after braid verified chain ids).
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = make(map[string]int)
	f.params = make(map[string][]string)
	f.maxInflight = 0
}
