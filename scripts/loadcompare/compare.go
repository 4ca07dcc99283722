package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"
)

// target is where one run's calls go, and whose CPU it counts.
type target struct {
	name string
	url  string
	proc *proc
}

// fleet is every process of a comparison.
type fleet struct {
	up, proxy, relay, braid, cached *proc
	base, baseCached                *proc // nil without -baseline
}

func (f *fleet) stop() {
	for _, p := range []*proc{f.baseCached, f.base, f.cached, f.braid, f.relay, f.proxy, f.up} {
		p.stop() // nil-safe
	}
}

// startFleet starts the fake upstream, the proxy and braid (cache off,
// and cache on), plus the baseline braid when asked; on error it stops
// what it started.
func startFleet(ctx context.Context, o options, dir string) (f *fleet, err error) {
	f = &fleet{}
	defer func() {
		if err != nil {
			f.stop()
		}
	}()
	if f.up, err = startRole(ctx, "upstream", "-role", "upstream"); err != nil {
		return f, err
	}
	if f.proxy, err = startRole(ctx, "proxy", "-role", "proxy", "-target", f.up.URL); err != nil {
		return f, err
	}
	if f.relay, err = startRole(ctx, "relay", "-role", "relay", "-target", strings.TrimPrefix(f.up.URL, "http://")); err != nil {
		return f, err
	}
	if f.braid, err = startBraid(ctx, o.braidBin, dir, "braid", f.up.URL, 0); err != nil {
		return f, err
	}
	if f.cached, err = startBraid(ctx, o.braidBin, dir, "braid-cache", f.up.URL, 64<<20); err != nil {
		return f, err
	}
	if o.baseline == "" {
		return f, nil
	}
	if f.base, err = startBraid(ctx, o.baseline, dir, "baseline", f.up.URL, 0); err != nil {
		return f, err
	}
	f.baseCached, err = startBraid(ctx, o.baseline, dir, "baseline-cache", f.up.URL, 64<<20)
	return f, err
}

func runCompare(ctx context.Context, o options, dir string) error {
	f, err := startFleet(ctx, o, dir)
	if err != nil {
		return err
	}
	defer f.stop()
	fmt.Printf("loadcompare: %s, GOMAXPROCS %d, %d CPUs; %s measured (+%s warm-up) per target, %d round(s) in rotating order; fake upstream %s\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), o.duration, o.warm, o.rounds, f.up.URL)
	fmt.Println("Every process on 127.0.0.1; direct = the fake upstream itself; proxy = httputil.ReverseProxy; relay = a TCP relay that parses nothing, the floor for any gateway (pass-through only); cpu/call = that process's CPU per answered call.")
	fmt.Printf("%-9s %5s %-9s %8s %7s %7s %9s %8s %6s\n", "scenario", "conns", "target", "req/s", "p50 µs", "p99 µs", "added p50", "cpu/call", "errors")
	var summary []string
	for _, sc := range scenarios {
		if !o.only[sc.name] {
			continue
		}
		targets, err := f.targets(sc)
		if err != nil {
			return err
		}
		for _, conns := range o.conns {
			res, err := measure(ctx, o, sc, conns, targets)
			if err != nil {
				return err
			}
			for _, t := range targets {
				r := res[t.name]
				added := "-"
				if t.name != "direct" {
					added = fmt.Sprint(micro(r.quantile(0.5) - res["direct"].quantile(0.5)))
				}
				fmt.Printf("%-9s %5d %-9s %8.0f %7d %7d %9s %8d %6d\n", sc.name, conns, t.name, r.rate(),
					micro(r.quantile(0.5)), micro(r.quantile(0.99)), added, micro(r.cpuPerCall()), r.Errors)
				if r.Errors > 0 || r.Calls == 0 {
					fmt.Fprintf(os.Stderr, "%s %s: %d errors, e.g. %s\n", sc.name, t.name, r.Errors, r.Example)
				}
			}
			summary = append(summary, ratios(sc.name, conns, res))
		}
	}
	fmt.Println("\nbraid against the bare proxy (same scenario, same connections, same run):")
	for _, s := range summary {
		fmt.Println(s)
	}
	return nil
}

// targets are where sc's calls go: direct, the proxy, braid (and the
// baseline), with braid's cache warmed for a cache-hit scenario.
func (f *fleet) targets(sc scenario) ([]target, error) {
	b, bb := f.braid, f.base
	if sc.cache {
		b, bb = f.cached, f.baseCached
		for _, p := range []*proc{b, bb} {
			if p == nil {
				continue
			}
			if err := warmCache(p.URL, sc.body); err != nil {
				return nil, err
			}
		}
	}
	targets := []target{{"direct", f.up.URL, f.up}, {"proxy", f.proxy.URL, f.proxy}, {"braid", b.URL, b}}
	if sc.passThrough {
		targets = append(targets, target{"relay", f.relay.URL, f.relay})
	}
	if bb != nil {
		targets = append(targets, target{"baseline", bb.URL, bb})
	}
	return targets, nil
}

// measure loads every target with sc at conns, o.rounds times, the order
// rotating each round so that a neighbour's load on the machine falls on
// all of them alike; each target's rounds are added up.
func measure(ctx context.Context, o options, sc scenario, conns int, targets []target) (map[string]result, error) {
	res := map[string]result{}
	for round := range o.rounds {
		for i := range targets {
			t := targets[(i+round)%len(targets)]
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r := runLoad(ctx, t.url, []byte(sc.body), conns, o.warm, o.duration, t.proc.cpu)
			res[t.name] = res[t.name].add(r)
		}
	}
	return res, nil
}

// ratios sums up braid against the proxy for one scenario and
// connection count.
func ratios(name string, conns int, res map[string]result) string {
	b, p, d := res["braid"], res["proxy"], res["direct"]
	base, hasBase := res["baseline"]
	ratio := func(x, y float64) string {
		if y == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f×", x/y)
	}
	line := fmt.Sprintf("  %-9s %3d conns: throughput %s the proxy's (direct: %s); added p50 %d µs vs the proxy's %d µs; cpu/call %d µs vs %d µs (%s)",
		name, conns, ratio(b.rate(), p.rate()), ratio(b.rate(), d.rate()),
		micro(b.quantile(0.5)-d.quantile(0.5)), micro(p.quantile(0.5)-d.quantile(0.5)),
		micro(b.cpuPerCall()), micro(p.cpuPerCall()), ratio(float64(b.cpuPerCall()), float64(p.cpuPerCall())))
	if relay, ok := res["relay"]; ok {
		line += fmt.Sprintf("; the relay (floor): added p50 %d µs, cpu/call %d µs",
			micro(relay.quantile(0.5)-d.quantile(0.5)), micro(relay.cpuPerCall()))
	}
	if hasBase {
		line += fmt.Sprintf("; vs baseline: throughput %s, cpu/call %d µs → %d µs",
			ratio(b.rate(), base.rate()), micro(base.cpuPerCall()), micro(b.cpuPerCall()))
	}
	return line
}

func micro(d time.Duration) int64 { return d.Microseconds() }

// warmCache asks braid for body until it says the answer came from its
// cache (bounded).
func warmCache(base, body string) error {
	for range 50 {
		resp, err := http.Post(base, "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.Header.Get("Braid-Cache") == "hit" {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("braid never answered %s from its cache", body)
}
