package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// writeThenRead is a client like Python's http.client: it writes the
// request line, headers and the whole body, and only then reads the
// answer.
func writeThenRead(t *testing.T, baseURL, headers string, body []byte) (*http.Response, string) {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(wsWait))
	req := "POST / HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\n" + headers + "\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(body); err != nil {
		t.Fatalf("writing the %d-byte body: %v (braid closed the connection before reading it)", len(body), err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer after writing the body: %v", err)
	}
	out, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("reading the answer body: %v", err)
	}
	return res, string(out)
}

// chunked frames body in chunks of 64 KiB.
func chunked(body []byte) []byte {
	var b bytes.Buffer
	for len(body) > 0 {
		n := min(len(body), 64<<10)
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

// TestBodyTooLargeWrittenBeforeRead: a 6 MiB body (the default limit is
// 5 MiB) from a client that writes all of it before it reads still gets
// its 413: braid reads on (a bounded amount) before it closes, instead of
// resetting the connection under the client's write.
func TestBodyTooLargeWrittenBeforeRead(t *testing.T) {
	b := startBraid(t, nil, mainnet(newFake(t, "a", 1)))
	limit := b.cfg.Limits.MaxBodyBytes
	body := []byte(paddedCall(6 << 20))
	for _, tc := range []struct {
		name, headers string
		body          []byte
	}{
		{"content-length", fmt.Sprintf("Content-Length: %d\r\n", len(body)), body},
		{"chunked", "Transfer-Encoding: chunked\r\n", chunked(body)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, out := writeThenRead(t, b.URL, tc.headers, tc.body)
			wantTooLarge(t, res.StatusCode, out, limit)
			if !res.Close {
				t.Error("the connection is kept open after a refused body")
			}
		})
	}
	if got := b.calls("eth_getCode"); got != 0 {
		t.Errorf("%d refused calls reached the upstream", got)
	}
}

// TestBodyTooLargeExpectContinue: a client that waits for 100 Continue is
// refused on its Content-Length without sending its body.
func TestBodyTooLargeExpectContinue(t *testing.T) {
	b := startBraid(t, nil, mainnet(newFake(t, "a", 1)))
	limit := b.cfg.Limits.MaxBodyBytes
	res, out := writeThenRead(t, b.URL, fmt.Sprintf("Content-Length: %d\r\nExpect: 100-continue\r\n", 6<<20), nil)
	wantTooLarge(t, res.StatusCode, out, limit)
}
