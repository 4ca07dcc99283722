package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// target is where one run's calls go, and whose CPU it counts.
type target struct {
	name string
	url  string
	proc *proc
}

func runCompare(ctx context.Context, o options, dir string) error {
	up, err := startRole(ctx, "upstream", "-role", "upstream")
	if err != nil {
		return err
	}
	defer up.stop()
	proxy, err := startRole(ctx, "proxy", "-role", "proxy", "-target", up.URL)
	if err != nil {
		return err
	}
	defer proxy.stop()
	braid, err := startBraid(ctx, o.braidBin, dir, "braid", up.URL, 0)
	if err != nil {
		return err
	}
	defer braid.stop()
	cached, err := startBraid(ctx, o.braidBin, dir, "braid-cache", up.URL, 64<<20)
	if err != nil {
		return err
	}
	defer cached.stop()

	fmt.Printf("loadcompare: %s, GOMAXPROCS %d, %d CPUs; %s measured (+%s warm-up) per run; fake upstream %s\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), o.duration, o.warm, up.URL)
	fmt.Println("Every process on 127.0.0.1; direct = the fake upstream itself; proxy = httputil.ReverseProxy; cpu/call = that process's CPU per answered call.")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "scenario\tconns\ttarget\treq/s\tp50 µs\tp99 µs\tadded p50 µs\tcpu/call µs\terrors\t")
	var summary []string
	for _, sc := range scenarios {
		if !o.only[sc.name] {
			continue
		}
		b := braid
		if sc.cache {
			b = cached
			if err := warmCache(cached.URL, sc.body); err != nil {
				return err
			}
		}
		targets := []target{{"direct", up.URL, up}, {"proxy", proxy.URL, proxy}, {"braid", b.URL, b}}
		for _, conns := range o.conns {
			res := map[string]result{}
			for _, t := range targets {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r := runLoad(ctx, t.url, []byte(sc.body), conns, o.warm, o.duration, t.proc.cpu)
				res[t.name] = r
				added := "-"
				if t.name != "direct" {
					added = fmt.Sprint(micro(r.quantile(0.5) - res["direct"].quantile(0.5)))
				}
				fmt.Fprintf(w, "%s\t%d\t%s\t%.0f\t%d\t%d\t%s\t%d\t%d\t\n", sc.name, conns, t.name, r.rate(),
					micro(r.quantile(0.5)), micro(r.quantile(0.99)), added, micro(r.cpuPerCall()), r.Errors)
				if r.Errors > 0 || r.Calls == 0 {
					fmt.Fprintf(os.Stderr, "%s %s: %d errors, e.g. %s\n", sc.name, t.name, r.Errors, r.Example)
				}
			}
			w.Flush()
			summary = append(summary, ratios(sc.name, conns, res))
		}
	}
	w.Flush()
	fmt.Println("\nbraid against the bare proxy (same scenario, same connections, same run):")
	for _, s := range summary {
		fmt.Println(s)
	}
	return nil
}

// ratios sums up braid against the proxy for one scenario and
// connection count.
func ratios(name string, conns int, res map[string]result) string {
	b, p, d := res["braid"], res["proxy"], res["direct"]
	ratio := func(x, y float64) string {
		if y == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f×", x/y)
	}
	return fmt.Sprintf("  %-9s %3d conns: throughput %s the proxy's (direct: %s); added p50 %d µs vs the proxy's %d µs; cpu/call %d µs vs %d µs (%s)",
		name, conns, ratio(b.rate(), p.rate()), ratio(b.rate(), d.rate()),
		micro(b.quantile(0.5)-d.quantile(0.5)), micro(p.quantile(0.5)-d.quantile(0.5)),
		micro(b.cpuPerCall()), micro(p.cpuPerCall()), ratio(float64(b.cpuPerCall()), float64(p.cpuPerCall())))
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
