package h1

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

// Defaults, as net/http's DefaultTransport and braid's upstream transport
// have them.
const (
	// DefaultIdleTimeout: an idle connection older than this is closed
	// instead of reused.
	DefaultIdleTimeout = 90 * time.Second
	// DefaultMaxIdle is the idle stack's size when Config gives none
	// (net/http's per-host default).
	DefaultMaxIdle = 2

	dialTimeout   = 5 * time.Second
	dialKeepAlive = 30 * time.Second
)

// Config configures a Client.
type Config struct {
	// MaxIdle bounds the idle connections kept (≤ 0: DefaultMaxIdle).
	MaxIdle int
	// IdleTimeout: connections idle longer are closed (≤ 0:
	// DefaultIdleTimeout).
	IdleTimeout time.Duration
	// Clock reads the time idle connections are judged by (nil: the wall
	// clock). Deadlines come from the call's context.
	Clock clock.Clock
}

// Response is an upstream's answer.
type Response struct {
	StatusCode int
	// RetryAfter is the Retry-After header as sent ("" if none).
	RetryAfter string
	// Body is the whole body of a 200 answer (decoded if it came gzipped);
	// nil for other statuses, whose bodies are discarded.
	Body []byte
}

// Client POSTs to one http:// URL. It is safe for concurrent use; it has no
// cap on the connections in use, as net/http's client has none.
type Client struct {
	addr        string // host:port dialled
	prefix      []byte // request line and headers up to Content-Length's value
	dialer      net.Dialer
	clock       clock.Clock
	maxIdle     int
	idleTimeout time.Duration

	mu   sync.Mutex
	idle []*conn // LIFO: the most recently used on top
}

// New returns a Client for target, an absolute http:// URL. It refuses
// other schemes and hosts it would not write as net/http does (non-ASCII
// names, IPv6 zones): such URLs keep net/http's client. Its error never
// shows the URL.
func New(target *url.URL, cfg Config) (*Client, error) {
	if target == nil || target.Scheme != "http" {
		return nil, errors.New("h1: not an http URL")
	}
	if !plainHost(target.Host) {
		return nil, errors.New("h1: host needs net/http's handling")
	}
	if cfg.MaxIdle <= 0 {
		cfg.MaxIdle = DefaultMaxIdle
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	port := target.Port()
	if port == "" {
		port = "80"
	}
	return &Client{
		addr:        net.JoinHostPort(target.Hostname(), port),
		prefix:      requestPrefix(target),
		dialer:      net.Dialer{Timeout: dialTimeout, KeepAlive: dialKeepAlive},
		clock:       cfg.Clock,
		maxIdle:     cfg.MaxIdle,
		idleTimeout: cfg.IdleTimeout,
	}, nil
}

// plainHost reports whether host is a non-empty name or address with an
// optional port, in the characters net/http would send unchanged.
func plainHost(host string) bool {
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == ':' || c == '[' || c == ']':
		default:
			return false
		}
	}
	return true
}

// requestPrefix is the request's head as net/http's client writes it for
// this URL, without Accept-Encoding and up to Content-Length's value.
func requestPrefix(target *url.URL) []byte {
	b := make([]byte, 0, 256)
	b = append(b, "POST "...)
	b = append(b, target.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, target.Host...)
	b = append(b, "\r\nUser-Agent: Go-http-client/1.1\r\n"...)
	b = append(b, "Content-Type: application/json\r\nAccept: application/json\r\n"...)
	if user := target.User; user != nil {
		password, _ := user.Password()
		b = append(b, "Authorization: Basic "...)
		b = base64.StdEncoding.AppendEncode(b, []byte(user.Username()+":"+password))
		b = append(b, "\r\n"...)
	}
	return append(b, "Content-Length: "...)
}

// Post sends body and reads the answer, a 200's body at most limit bytes
// long (longer: an error wrapping ErrTooLarge). Another status is returned
// as a Response without an error. ctx's deadline bounds the whole call
// and its cancellation ends it; an error then wraps ctx's error.
func (c *Client) Post(ctx context.Context, body []byte, limit int64) (Response, error) {
	limit = max(0, min(limit, maxLimit))
	cn := c.get()
	reused := cn != nil
	if !reused {
		var err error
		if cn, err = c.dial(ctx); err != nil {
			return Response{}, err
		}
	}
	res, stale, err := c.roundTrip(ctx, cn, body, limit)
	if err != nil && stale && reused && ctx.Err() == nil {
		// The server closed the idle connection before it saw the
		// request: send it again once, on a fresh one.
		if cn, err = c.dial(ctx); err != nil {
			return Response{}, err
		}
		res, _, err = c.roundTrip(ctx, cn, body, limit)
	}
	return res, err
}

// roundTrip writes the request on cn and reads the answer. stale: it
// failed before any byte of the answer arrived, in the write or with EOF
// or a reset on the first read, as on a connection the server had closed.
// cn goes back to the idle stack only after a whole answer that leaves
// it reusable.
func (c *Client) roundTrip(ctx context.Context, cn *conn, body []byte, limit int64) (res Response, stale bool, err error) {
	deadline, _ := ctx.Deadline() // zero: none
	if err := cn.nc.SetDeadline(deadline); err != nil {
		cn.close()
		return Response{}, false, c.fail(ctx, "setting the deadline", err)
	}
	stop := context.AfterFunc(ctx, cn.wake)
	start := cn.nread
	op := "writing the request"
	err = writeRequest(cn.nc, c.prefix, body)
	var a answer
	if err == nil {
		op = "reading the answer"
		a, err = readAnswer(cn.br, limit)
	}
	cancelled := !stop()
	if err != nil || cancelled || !a.keep || cn.br.Buffered() > 0 {
		cn.close()
	} else {
		c.put(cn)
	}
	if err != nil {
		stale = cn.nread == start && !cancelled && !errors.Is(err, errDeadline) &&
			(op == "writing the request" || closedEarly(err))
		return Response{}, stale, c.fail(ctx, op, err)
	}
	return a.Response, false, nil
}

// maxLimit caps a caller's limit so that limit+1 cannot overflow.
const maxLimit = 1 << 62

// aLongTimeAgo is a deadline already past: setting it wakes a blocked read
// or write at once.
var aLongTimeAgo = time.Unix(1, 0)

func (c *Client) dial(ctx context.Context) (*conn, error) {
	nc, err := c.dialer.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, c.fail(ctx, "dialling", err)
	}
	cn := &conn{nc: nc}
	cn.br = bufio.NewReaderSize(cn, readBufferSize)
	cn.wake = func() { _ = nc.SetDeadline(aLongTimeAgo) }
	return cn, nil
}

// readBufferSize is each connection's read buffer: a status line, a
// chunk-size line or a header line must fit in it (longer header lines are
// read in pieces; a longer chunk-size line is an error).
const readBufferSize = 4 << 10

// conn is one connection, used by one call at a time.
type conn struct {
	nc        net.Conn
	br        *bufio.Reader // reads through Read, which counts
	nread     int64         // bytes read from nc so far
	idleSince time.Time
	// wake ends a blocked read or write at once (by a past deadline):
	// what a call's cancellation does, made once per connection.
	wake func()
}

// Read reads from the connection, counting what arrives.
func (cn *conn) Read(p []byte) (int, error) {
	n, err := cn.nc.Read(p)
	cn.nread += int64(n)
	return n, err
}

func (cn *conn) close() { _ = cn.nc.Close() }

// get pops the most recently used idle connection, closing those idle too
// long (nil: none left).
func (c *Client) get() *conn {
	now := c.clock.Now()
	c.mu.Lock()
	old := c.expireLocked(now)
	var cn *conn
	if n := len(c.idle); n > 0 {
		cn = c.idle[n-1]
		c.idle[n-1] = nil
		c.idle = c.idle[:n-1]
	}
	c.mu.Unlock()
	closeAll(old)
	return cn
}

// put pushes a connection whose answer was wholly read; with the stack
// full it is closed instead.
func (c *Client) put(cn *conn) {
	now := c.clock.Now()
	cn.idleSince = now
	c.mu.Lock()
	old := c.expireLocked(now)
	if len(c.idle) < c.maxIdle {
		c.idle = append(c.idle, cn)
		cn = nil
	}
	c.mu.Unlock()
	closeAll(old)
	if cn != nil {
		cn.close()
	}
}

// expireLocked takes the connections idle too long off the bottom of the
// stack (pushed in time order, the oldest are at the bottom) and returns
// them, to be closed outside the lock.
func (c *Client) expireLocked(now time.Time) []*conn {
	i := 0
	for i < len(c.idle) && now.Sub(c.idle[i].idleSince) > c.idleTimeout {
		i++
	}
	if i == 0 {
		return nil
	}
	old := slices.Clone(c.idle[:i])
	n := copy(c.idle, c.idle[i:])
	clear(c.idle[n:])
	c.idle = c.idle[:n]
	return old
}

func closeAll(conns []*conn) {
	for _, cn := range conns {
		cn.close()
	}
}

// contextEnded is ctx's error once a deadline error ended a call. The
// connection's deadline is the context's own, and the netpoller's timer can
// fire a moment before the context's: the call then waits for the context
// to end (its deadline has passed, so it ends at once), so that whoever
// called sees its own deadline end the call, as with net/http's client,
// and does not take a caller's deadline for the upstream's failure. The
// wait is bounded; nil if the context never ended.
func contextEnded(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	t := time.NewTimer(time.Until(dl) + contextGrace)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// contextGrace bounds how long past its deadline a context may take to
// say it ended.
const contextGrace = 100 * time.Millisecond

// CloseIdle closes the idle connections. The Client stays usable.
func (c *Client) CloseIdle() {
	c.mu.Lock()
	old := c.idle
	c.idle = nil
	c.mu.Unlock()
	closeAll(old)
}

// Idle reports how many connections are idle.
func (c *Client) Idle() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.idle)
}

// fail wraps a failed step's error, without the addresses net errors
// carry. A deadline error means the context ended: its error is wrapped
// instead, so callers can tell a timeout (context.DeadlineExceeded) from a
// cancellation.
func (c *Client) fail(ctx context.Context, op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, errDeadline) {
		if cerr := contextEnded(ctx); cerr != nil {
			return fmt.Errorf("h1: %s: %w", op, cerr)
		}
	}
	return fmt.Errorf("h1: %s: %w", op, withoutAddress(err))
}
