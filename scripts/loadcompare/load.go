package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// result is one load run against one target.
type result struct {
	Calls, Errors int
	Elapsed       time.Duration
	Lat           []time.Duration // sorted
	CPU           time.Duration   // the target process's CPU during the run
	Example       string          // the first answer, cut short
}

// add is r with another run of the same target added.
func (r result) add(o result) result {
	r.Calls += o.Calls
	r.Errors += o.Errors
	r.Elapsed += o.Elapsed
	r.CPU += o.CPU
	r.Lat = append(r.Lat, o.Lat...)
	slices.Sort(r.Lat)
	if r.Example == "" || o.Errors > 0 {
		r.Example = o.Example
	}
	return r
}

func (r result) rate() float64 { return float64(r.Calls) / r.Elapsed.Seconds() }

// quantile is the q-quantile of the (sorted) latencies.
func (r result) quantile(q float64) time.Duration {
	if len(r.Lat) == 0 {
		return 0
	}
	return r.Lat[int(q*float64(len(r.Lat)-1))]
}

// cpuPerCall is the target's CPU per answered call.
func (r result) cpuPerCall() time.Duration {
	if r.Calls == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Calls)
}

// newClient is an HTTP client with room for conns keep-alive connections
// to one loopback host.
func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
	}, Timeout: 10 * time.Second}
}

// runLoad posts body to url from conns workers, each one call at a time,
// for d (after warm of calls that are not counted), and returns what it
// saw. A call counts when it is answered 200 with a JSON-RPC result.
func runLoad(ctx context.Context, url string, body []byte, conns int, warm, d time.Duration, cpu func() time.Duration) result {
	client := newClient(conns)
	defer client.CloseIdleConnections()
	var (
		mu  sync.Mutex
		res result
		wg  sync.WaitGroup
	)
	warmUntil := time.Now().Add(warm)
	var cpuStart time.Duration
	var start time.Time
	startOnce := sync.OnceFunc(func() { start, cpuStart = time.Now(), cpu() })
	stop := warmUntil.Add(d)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			calls, errs := 0, 0
			var example string
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(stop) {
					break
				}
				ok, status, out := call(client, url, body)
				t1 := time.Now()
				if example == "" || (!ok && errs == 0) {
					example = fmt.Sprintf("HTTP %d, %d bytes: %.80s", status, len(out), out)
				}
				if t0.Before(warmUntil) {
					continue
				}
				startOnce()
				if !ok {
					errs++
					continue
				}
				calls++
				lat = append(lat, t1.Sub(t0))
			}
			mu.Lock()
			if res.Example == "" || errs > 0 {
				res.Example = example
			}
			res.Calls += calls
			res.Errors += errs
			res.Lat = append(res.Lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	startOnce()
	res.Elapsed = time.Since(start)
	res.CPU = cpu() - cpuStart
	slices.Sort(res.Lat)
	return res
}

var resultMember = []byte(`"result"`)

// call posts body once and returns the answer.
func call(client *http.Client, url string, body []byte) (ok bool, status int, out []byte) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return false, 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, err = io.ReadAll(resp.Body)
	ok = err == nil && resp.StatusCode == http.StatusOK && bytes.Contains(out, resultMember)
	return ok, resp.StatusCode, out
}
