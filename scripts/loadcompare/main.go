// Command loadcompare measures braid against a bare Go reverse proxy
// (httputil.ReverseProxy) and a direct call, side by side in one run, in
// front of one fast fake upstream on loopback: answered locally
// (eth_blockNumber), a small pass-through (eth_getBalance), a 14 kB
// pass-through with braid's cache off (eth_getBlockByNumber with full
// transactions) and the same call answered from braid's cache, each at 1
// and 32 connections. It prints throughput, p50/p99 latency, the latency
// each gateway adds over the direct call, the CPU each process spends per
// call, and braid's ratios to the proxy.
//
// It is a development tool, not part of braid: every process it starts
// listens on 127.0.0.1, and every run is bounded in time.
//
//	go run ./scripts/loadcompare                       # about 3 minutes
//	go run ./scripts/loadcompare -duration 10s -conns 1,32,128
//	go run ./scripts/loadcompare -memory               # RSS with a full cache (see memory.go)
//	go run ./scripts/loadcompare -serverfloor -rounds 3 -duration 4s   # a Go server's CPU per call, four ways (see floor.go)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// scenario is one kind of call.
type scenario struct {
	name        string
	body        string
	cache       bool // braid with its cache on, warmed
	passThrough bool // every call goes to the upstream: the relay is a target too
}

var scenarios = []scenario{
	{name: "local", body: `{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}`},
	{name: "small", passThrough: true, body: `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x00000000219ab540356cbb839cbe05303d7705fa","latest"]}`},
	{name: "14kB", passThrough: true, body: `{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x1863c",true]}`},
	{name: "cachehit", body: `{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x1863c",true]}`, cache: true},
}

type options struct {
	duration, warm, timeout time.Duration
	rounds                  int
	conns                   []int
	only                    map[string]bool
	braidBin                string
	baseline                string // another braid binary, run as a fourth target
	memory                  bool
	serverFloor             bool
	cacheMB                 int64
	variants                string // -memory: only variants whose name holds one of these (comma-separated)
}

func main() {
	log.SetFlags(0)
	role := flag.String("role", "", "internal: run as the fake upstream (upstream), the reverse proxy (proxy) or the TCP relay (relay)")
	target := flag.String("target", "", "internal: the proxy's upstream URL (the relay's host:port)")
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per run")
	flag.DurationVar(&o.warm, "warm", time.Second, "unmeasured warm-up per run")
	flag.IntVar(&o.rounds, "rounds", 1, "rounds per scenario and connection count, the targets' order rotating each round")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "bound on the whole run")
	conns := flag.String("conns", "1,32", "connections, comma-separated")
	only := flag.String("scenarios", "local,small,14kB,cachehit", "scenarios to run")
	flag.StringVar(&o.braidBin, "braid", "", "braid binary (default: go build ./cmd/braid)")
	flag.StringVar(&o.baseline, "baseline", "", "another braid binary (say, built from an earlier commit) to run as a fourth target, \"baseline\"")
	flag.BoolVar(&o.memory, "memory", false, "measure braid's RSS with a full cache instead")
	flag.BoolVar(&o.serverFloor, "serverfloor", false, "measure instead what a Go HTTP server spends per call at one connection, four ways (-rounds runs of -duration each)")
	flag.Int64Var(&o.cacheMB, "cache-mb", 256, "cache size for -memory, MiB")
	flag.StringVar(&o.variants, "variants", "", "-memory: run only the variants whose name contains one of these, comma-separated (\"no cache\")")
	flag.Parse()
	switch *role {
	case "upstream":
		serveRole(newFakeUpstream())
		return
	case "proxy":
		u, err := url.Parse(*target)
		if err != nil || *target == "" {
			log.Fatal("proxy: -target URL is required")
		}
		serveRole(newProxy(u))
		return
	case "relay":
		serveRelay(*target)
		return
	}
	if mode, ok := strings.CutPrefix(*role, "floor-"); ok {
		serveFloor(mode)
		return
	}
	if o.rounds < 1 {
		log.Fatal("-rounds must be at least 1")
	}
	for _, c := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			log.Fatalf("-conns: %q is not a positive number", c)
		}
		o.conns = append(o.conns, n)
	}
	o.only = map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		o.only[strings.TrimSpace(s)] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

// serveRole serves h on a loopback port, printing it, until SIGINT/SIGTERM.
func serveRole(h http.Handler) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// listenRole listens on a loopback port, prints it for start, and exits
// the process on SIGINT/SIGTERM (proc.stop).
func listenRole() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening", ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		os.Exit(0) // the process ends: nothing to close first
	}()
	return ln
}

// newProxy is the bare reverse proxy: httputil.ReverseProxy with enough
// idle connections for the load (the default, 2 per host, would make it
// dial at 32 connections).
func newProxy(target *url.URL) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second},
	}
}

// writtenBack flushes a binary to disk, as an installed binary is: the
// kernel drops a file's pages from memory only once they are written back,
// so braid run straight after a build cannot release its start-up pages
// (internal/footprint), and its RSS would measure the build, not braid.
func writtenBack(bin string) error {
	if bin == "" {
		return nil
	}
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// buildBraid builds cmd/braid into dir.
func buildBraid(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "braid")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/braid")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/braid (run from the repository's root): %w", err)
	}
	return bin, nil
}

func run(ctx context.Context, o options) error {
	if o.serverFloor {
		return runServerFloor(ctx, o) // no braid in it
	}
	dir, err := os.MkdirTemp("", "loadcompare")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if o.braidBin == "" {
		if o.braidBin, err = buildBraid(ctx, dir); err != nil {
			return err
		}
	}
	for _, bin := range []string{o.braidBin, o.baseline} {
		if err := writtenBack(bin); err != nil {
			return err
		}
	}
	if o.memory {
		return runMemory(ctx, o, dir)
	}
	return runCompare(ctx, o, dir)
}
