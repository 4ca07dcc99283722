// Package replica is the state that braid replicas share through Redis: the
// link to Redis with graceful degradation, the shared answer cache, replica
// membership, rate-limit signals, strikes and quarantines, and the served tip
// each replica publishes. When Redis is unreachable every replica carries on
// with its own memory; sharing resumes when Redis comes back.
package replica

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/metric"
)

// ErrDown is returned by Link.Do, without touching the network, while Redis
// is unreachable.
var ErrDown = errors.New("redis unreachable")

const (
	// defaultTimeout bounds each Redis operation when LinkOptions.Timeout is
	// zero.
	defaultTimeout = 250 * time.Millisecond
	// probeEvery is how often the prober PINGs a Redis that is down.
	probeEvery = time.Second
)

// LinkOptions configure a Link.
type LinkOptions struct {
	// URL is a redis:// or rediss:// URL, as redis.ParseURL accepts it.
	URL string
	// Prefix namespaces every key, e.g. "braid".
	Prefix string
	// Timeout bounds each operation, dial, read and write included; zero
	// means 250ms.
	Timeout time.Duration
	// Clock is the time source; nil means the wall clock.
	Clock clock.Clock
	// Logger receives the outage and recovery lines; nil discards them.
	Logger *slog.Logger
	// Registry receives the link's metrics; nil records none.
	Registry prometheus.Registerer
}

// Link is this replica's connection to the shared Redis. It tracks whether
// Redis is reachable: while it is not, Do fails at once with ErrDown and a
// background prober PINGs every second until Redis answers again.
type Link struct {
	c       *redis.Client
	prefix  string
	timeout time.Duration
	clock   clock.Clock
	log     *slog.Logger
	addr    string // host:port only, safe to log
	id      string
	m       *linkMetrics

	up        atomic.Bool
	closed    atomic.Bool
	wake      chan struct{} // pokes the prober when the link goes down
	done      chan struct{} // closed by Close
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	mu        sync.Mutex
	downSince time.Time
}

// NewLink connects to the Redis at opts.URL. It fails only for a bad URL: an
// unreachable Redis gives a Link that starts down and comes up on its own
// once Redis answers. It waits at most opts.Timeout for a first PING.
func NewLink(opts LinkOptions) (*Link, error) {
	ropts, err := redis.ParseURL(opts.URL)
	if err != nil {
		// url.Error repeats the whole URL, password included; keep only
		// the reason.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("replica: bad redis URL: %v", err)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ropts.DialTimeout = opts.Timeout
	ropts.ReadTimeout = opts.Timeout
	ropts.WriteTimeout = opts.Timeout
	ropts.PoolTimeout = opts.Timeout
	ropts.ContextTimeoutEnabled = true
	// Degrade rather than retry: a failed operation is a cache miss or a
	// signal not shared, and the prober notices when Redis is back.
	ropts.MaxRetries = -1
	ropts.DialerRetries = 1
	if floor := 4 * runtime.GOMAXPROCS(0); ropts.PoolSize < floor {
		ropts.PoolSize = floor
	}
	ropts.DisableIdentity = true
	ropts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

	quietGoRedis(opts.Logger)

	l := &Link{
		c:       redis.NewClient(ropts),
		prefix:  opts.Prefix,
		timeout: opts.Timeout,
		clock:   opts.Clock,
		log:     opts.Logger,
		addr:    ropts.Addr,
		id:      newID(),
		m:       newLinkMetrics(opts.Registry),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	if err := l.ping(); err == nil {
		l.up.Store(true)
		l.m.setUp(true)
	} else {
		l.m.errors.Inc()
		l.mu.Lock()
		l.downSince = l.clock.Now()
		l.mu.Unlock()
		l.warnDown(err)
		l.m.setUp(false)
	}
	l.wg.Add(1)
	go l.probe()
	return l, nil
}

// ID is this replica's identity in Redis: hostname-pid-random hex, stable
// for the Link's life.
func (l *Link) ID() string { return l.id }

// Up reports whether Redis was reachable at the last operation or probe.
func (l *Link) Up() bool { return l.up.Load() }

// Key is Prefix followed by parts, all joined by ":".
func (l *Link) Key(parts ...string) string {
	if l.prefix == "" {
		return strings.Join(parts, ":")
	}
	return l.prefix + ":" + strings.Join(parts, ":")
}

// Timeout is the bound on each operation.
func (l *Link) Timeout() time.Duration { return l.timeout }

// Do runs fn against Redis with ctx bounded by the link's Timeout. While the
// link is down it returns ErrDown at once without touching the network. A
// network or timeout error marks the link down; redis.Nil, Redis error
// replies and fn's own errors do not.
func (l *Link) Do(ctx context.Context, fn func(ctx context.Context, c *redis.Client) error) error {
	if l.closed.Load() || !l.up.Load() {
		return ErrDown
	}
	octx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	start := time.Now()
	err := fn(octx, l.c)
	l.m.seconds.Observe(time.Since(start).Seconds())
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	l.m.errors.Inc()
	// When the caller gave up first, the error says nothing about Redis.
	if ctx.Err() == nil && !l.closed.Load() && unreachable(err) {
		l.markDown(err)
	}
	return err
}

// Close stops the prober and closes the connections. Do returns ErrDown
// afterwards.
func (l *Link) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		close(l.done)
		l.wg.Wait()
		l.closeErr = l.c.Close()
	})
	return l.closeErr
}

// ping sends one PING bounded by the timeout.
func (l *Link) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	return l.c.Ping(ctx).Err()
}

// markDown records the start of an outage; only the first error of an
// outage logs.
func (l *Link) markDown(err error) {
	if !l.up.CompareAndSwap(true, false) {
		return
	}
	l.mu.Lock()
	l.downSince = l.clock.Now()
	l.mu.Unlock()
	l.m.setUp(false)
	l.warnDown(err)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *Link) warnDown(err error) {
	l.log.Warn("redis unreachable: each replica serves from its own memory until it is back",
		"addr", l.addr, "err", err.Error())
}

// markUp ends an outage.
func (l *Link) markUp() {
	if !l.up.CompareAndSwap(false, true) {
		return
	}
	l.mu.Lock()
	downFor := l.clock.Now().Sub(l.downSince)
	l.mu.Unlock()
	l.m.setUp(true)
	l.log.Info("redis reachable again: sharing resumed", "addr", l.addr, "down_for", downFor.Round(time.Millisecond).String())
}

// probe waits for the link to go down, then PINGs every second until Redis
// answers.
func (l *Link) probe() {
	defer l.wg.Done()
	for {
		if l.up.Load() {
			select {
			case <-l.done:
				return
			case <-l.wake:
			}
			continue
		}
		select {
		case <-l.done:
			return
		case <-l.clock.After(probeEvery):
		}
		if l.closed.Load() {
			return
		}
		if err := l.ping(); err == nil {
			l.markUp()
		}
	}
}

// unreachable reports whether err means Redis could not be reached in time,
// as opposed to an answer Redis gave.
func unreachable(err error) bool {
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return false
	}
	var nerr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.As(err, &nerr):
		return true
	}
	return false
}

// goRedisLog is where go-redis's own log lines go: its logger is global, and
// left alone it prints a line to stderr for every failed dial, once a second
// during an outage. The Link logs outages itself, so go-redis's lines are
// demoted to Debug on the logger of the most recent Link.
var goRedisLog struct {
	once sync.Once
	to   atomic.Pointer[slog.Logger]
}

type goRedisLogger struct{}

func (goRedisLogger) Printf(ctx context.Context, format string, v ...any) {
	if lg := goRedisLog.to.Load(); lg != nil {
		lg.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
	}
}

func quietGoRedis(lg *slog.Logger) {
	goRedisLog.to.Store(lg)
	goRedisLog.once.Do(func() { redis.SetLogger(goRedisLogger{}) })
}

// newID makes hostname-pid-random hex.
func newID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// linkMetrics are the link's collectors; without a registry they still
// count but nobody reads them.
type linkMetrics struct {
	up      prometheus.Gauge
	errors  prometheus.Counter
	seconds prometheus.Histogram
}

func newLinkMetrics(reg prometheus.Registerer) *linkMetrics {
	m := &linkMetrics{
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "braid", Subsystem: "redis", Name: "up",
			Help: "1 while the shared Redis is reachable, 0 while each replica serves from its own memory.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "braid", Subsystem: "redis", Name: "errors_total",
			Help: "Redis operations that failed (unreachable, timed out or refused), misses excluded.",
		}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "braid", Subsystem: "redis", Name: "operation_seconds",
			Help:    "Latency of Redis operations attempted while the link was up.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	if reg != nil {
		m.up = metric.MustRegister(reg, m.up)
		m.errors = metric.MustRegister(reg, m.errors)
		m.seconds = metric.MustRegister(reg, m.seconds)
	}
	return m
}

func (m *linkMetrics) setUp(up bool) {
	if up {
		m.up.Set(1)
	} else {
		m.up.Set(0)
	}
}
