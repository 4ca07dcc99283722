package h1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzServer sends arbitrary bytes as a client's side of a connection to
// a Server and to net/http's own server, both serving the same echoing
// handler, and compares what comes back: the same answers (status and
// body), in the same order. Whatever the fast path takes, it must answer
// as net/http does; whatever it must not take, it hands over. Neither may
// panic or hang (each connection's reads are bounded as a hang detector).
func FuzzServer(f *testing.F) {
	for _, seed := range []string{
		post(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`),
		post(`"a"`) + post(`"b"`),
		post(`"a"`) + "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nabcde",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n X: folded\r\n\r\n{}",
		"POST / HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}",
		"POST / HTTP/1.1\r\nhOsT: x\r\ncontent-length: 2\r\nConnection: close\r\n\r\n{}" + post(`"after close"`),
		"POST * HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"\x00\x01\x02",
	} {
		f.Add([]byte(seed))
	}
	ts := startServer(f, echo)
	ref := referenceServer(f, echo)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, want := exchange(t, ts.addr, data), exchange(t, ref, data)
		// Bytes after the last whole request, then the client's close: net/http
		// answers 400 or closes without a word depending on whether its
		// background read saw them; either is a fair answer to garbage.
		got, want = strings.TrimSuffix(got, " | "+badRequest), strings.TrimSuffix(want, " | "+badRequest)
		if got != want {
			t.Fatalf("for %q:\n got %q\nwant %q (net/http)", data, got, want)
		}
	})
}

const badRequest = "400 400 Bad Request"

// exchange writes data on a new connection, closes its sending side, and
// returns the answers read until the server closes: "status body" each.
func exchange(t *testing.T, addr string, data []byte) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // a hang detector
	if _, err := c.Write(data); err != nil {
		return "write: " + err.Error()
	}
	_ = c.(*net.TCPConn).CloseWrite()
	br := bufio.NewReader(c)
	var answers []string
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the server hung on %q", data)
			}
			break
		}
		b, _ := io.ReadAll(resp.Body)
		answers = append(answers, strconv.Itoa(resp.StatusCode)+" "+string(b))
	}
	return strings.Join(answers, " | ")
}
