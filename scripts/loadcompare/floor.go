package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/braidrpc/braid/internal/h1"
)

// The server floor (-serverfloor): what a Go HTTP server spends per call
// at one connection on this machine, with nothing behind it. Each mode
// serves floorAnswer from its own process ("floor-MODE" roles); one client
// connection sends calls one after another. Modes: raw (a loop on the
// net.Conn that finds the head's end and Content-Length by hand), readreq
// (the same loop, heads parsed by http.ReadRequest), h1 (braid's
// h1.Server), http (net/http's server).

var floorModes = []string{"raw", "readreq", "h1", "http"}

const floorAnswer = `{"jsonrpc":"2.0","id":1,"result":"0x1"}`

var floorHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, floorAnswer)
})

// serveFloor is the child of one mode.
func serveFloor(mode string) {
	ln := listenRole()
	switch mode {
	case "raw", "readreq":
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go answerLoop(c, mode == "readreq")
		}
	case "h1":
		s := &h1.Server{Handler: floorHandler, Fallback: &http.Server{Handler: floorHandler}}
		log.Fatal(s.Serve(ln))
	case "http":
		log.Fatal((&http.Server{Handler: floorHandler}).Serve(ln))
	default:
		log.Fatalf("no floor mode %q", mode)
	}
}

var floorResponse = []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
	strconv.Itoa(len(floorAnswer)) + "\r\n\r\n" + floorAnswer)

// answerLoop answers every request on c with floorResponse.
func answerLoop(c net.Conn, parse bool) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		n, err := readFloorRequest(br, parse)
		if err != nil {
			return
		}
		if _, err := br.Discard(n); err != nil {
			return
		}
		if _, err := c.Write(floorResponse); err != nil {
			return
		}
	}
}

// readFloorRequest reads one head and returns its body's length.
func readFloorRequest(br *bufio.Reader, parse bool) (int, error) {
	if parse {
		req, err := http.ReadRequest(br)
		if err != nil {
			return 0, err
		}
		return int(req.ContentLength), nil
	}
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			return n, nil
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			n, _ = strconv.Atoi(string(bytes.TrimSpace(value)))
		}
	}
}

// runServerFloor measures every mode o.rounds times, the modes
// interleaved, for o.duration each.
func runServerFloor(ctx context.Context, o options) error {
	fmt.Printf("server floor: one connection, calls one after another, %s per run (+2,000 unmeasured calls); cpu/call = the server process's\n", o.duration)
	for range o.rounds {
		for _, mode := range floorModes {
			rate, cpu, err := measureFloor(ctx, mode, o.duration)
			if err != nil {
				return fmt.Errorf("%s: %w", mode, err)
			}
			fmt.Printf("%-8s %7.0f calls/s  cpu/call %6.1f µs\n", mode, rate, float64(cpu.Nanoseconds())/1e3)
		}
	}
	return nil
}

// measureFloor starts mode's server and calls it for d over one connection.
func measureFloor(ctx context.Context, mode string, d time.Duration) (rate float64, cpuPerCall time.Duration, err error) {
	p, err := startRole(ctx, "floor-"+mode, "-role", "floor-"+mode)
	if err != nil {
		return 0, 0, err
	}
	defer p.stop()
	c, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(d + time.Minute)) // a hang detector
	body := `{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`
	req := []byte(fmt.Sprintf("POST / HTTP/1.1\r\nHost: floor\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	br := bufio.NewReader(c)
	call := func() error {
		if _, err := c.Write(req); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	for range 2000 { // warm-up
		if err := call(); err != nil {
			return 0, 0, err
		}
	}
	cpu0, t0, calls := p.cpu(), time.Now(), 0
	for time.Since(t0) < d && ctx.Err() == nil {
		if err := call(); err != nil {
			return 0, 0, err
		}
		calls++
	}
	elapsed, cpu := time.Since(t0), p.cpu()-cpu0
	if calls == 0 {
		return 0, 0, ctx.Err()
	}
	return float64(calls) / elapsed.Seconds(), cpu / time.Duration(calls), nil
}
