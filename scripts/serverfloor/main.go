// Command serverfloor measures what a Go HTTP server spends per call at one
// connection on this machine, with nothing behind it: each mode serves a
// fixed JSON-RPC answer from a child process, one client connection sends
// calls one after another for the duration, and the child's CPU per call
// is printed. Modes: raw (a loop on the net.Conn that finds the head's end
// and Content-Length by hand), readreq (the same loop, parsing each head
// with http.ReadRequest), h1 (braid's h1.Server), http (net/http's
// server). Loopback only, bounded by -duration.
//
//	go run ./scripts/serverfloor -duration 4s -runs 3
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/braidrpc/braid/internal/h1"
)

const answer = `{"jsonrpc":"2.0","id":1,"result":"0x1"}`

var response = []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
	strconv.Itoa(len(answer)) + "\r\n\r\n" + answer)

var handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, answer)
})

func main() {
	log.SetFlags(0)
	serve := flag.String("serve", "", "internal: serve this mode and print the address")
	d := flag.Duration("duration", 4*time.Second, "measured time per run")
	runs := flag.Int("runs", 3, "runs per mode, the modes interleaved")
	flag.Parse()
	if *serve != "" {
		serveMode(*serve)
		return
	}
	fmt.Printf("one connection, calls one after another, %s per run; cpu/call = the server process's\n", *d)
	for range *runs {
		for _, mode := range []string{"raw", "readreq", "h1", "http"} {
			rate, cpu, err := measure(mode, *d)
			if err != nil {
				log.Fatalf("%s: %v", mode, err)
			}
			fmt.Printf("%-8s %7.0f calls/s  cpu/call %6.1f µs\n", mode, rate, cpu)
		}
	}
}

func serveMode(mode string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr())
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
		s := &h1.Server{Handler: handler, Fallback: &http.Server{Handler: handler}}
		log.Fatal(s.Serve(ln))
	default:
		log.Fatal((&http.Server{Handler: handler}).Serve(ln))
	}
}

// answerLoop answers every request on c with response.
func answerLoop(c net.Conn, parse bool) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		n, err := readRequest(br, parse)
		if err != nil {
			return
		}
		if _, err := br.Discard(n); err != nil {
			return
		}
		if _, err := c.Write(response); err != nil {
			return
		}
	}
}

// readRequest reads one head and returns its body's length.
func readRequest(br *bufio.Reader, parse bool) (int, error) {
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

// measure starts mode's server and calls it for d over one connection.
func measure(mode string, d time.Duration) (rate, cpuPerCall float64, err error) {
	cmd := exec.Command(os.Args[0], "-serve", mode)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return 0, 0, err
	}
	c, err := net.Dial("tcp", strings.TrimSpace(addr))
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
	cpu0, t0, calls := cpuOf(cmd.Process.Pid), time.Now(), 0
	for time.Since(t0) < d {
		if err := call(); err != nil {
			return 0, 0, err
		}
		calls++
	}
	elapsed, cpu := time.Since(t0), cpuOf(cmd.Process.Pid)-cpu0
	return float64(calls) / elapsed.Seconds(), float64(cpu.Microseconds()) / float64(calls), nil
}

// cpuOf is a process's user + system CPU so far (/proc/PID/stat, in
// clock ticks of 10 ms).
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.Atoi(f[11])
	k, _ := strconv.Atoi(f[12])
	return time.Duration(u+k) * 10 * time.Millisecond
}
