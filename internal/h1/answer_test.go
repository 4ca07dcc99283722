package h1

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func gzipOf(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = io.WriteString(zw, s)
	_ = zw.Close()
	return b.String()
}

// chunked frames s in chunks of n bytes.
func chunked(s string, n int) string {
	var b strings.Builder
	for len(s) > 0 {
		k := min(n, len(s))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", k, s[:k])
		s = s[k:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

const okBody = `{"jsonrpc":"2.0","id":1,"result":"0x1"}`

func withLength(head, body string) string {
	return fmt.Sprintf("%sContent-Length: %d\r\n\r\n%s", head, len(body), body)
}

// TestAnswers sends each answer twice from a scripted server and checks
// what Post makes of it and whether the connection was reused (one
// connection accepted for both calls) or closed (two).
func TestAnswers(t *testing.T) {
	const limit = 1 << 10
	big := strings.Repeat("x", limit+1)
	gz := gzipOf(okBody)
	tests := []struct {
		name       string
		answer     string
		closeAfter bool  // the server closes the connection after answering
		err        error // both calls fail so
		status     int   // 0: 200 with okBody
		retryAfter string
		conns      int32 // connections accepted for the two calls
	}{
		{name: "Content-Length", answer: withLength("HTTP/1.1 200 OK\r\n", okBody), conns: 1},
		{name: "chunked", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(okBody, 7), conns: 1},
		{name: "chunked with extensions and trailers", conns: 1,
			answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nTrailer: X-T\r\n\r\n" +
				strings.TrimSuffix(chunked(okBody, 16), "0\r\n\r\n") + "0;ext=1\r\nX-T: 1\r\nX-U: 2\r\n\r\n"},
		{name: "read to EOF", answer: "HTTP/1.1 200 OK\r\n\r\n" + okBody, closeAfter: true, conns: 2},
		{name: "gzip", answer: withLength("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", gz), conns: 1},
		{name: "gzip chunked", answer: "HTTP/1.1 200 OK\r\nContent-Encoding: GZIP\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(gz, 5), conns: 1},
		{name: "100 Continue first", answer: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n" + withLength("HTTP/1.1 200 OK\r\n", okBody), conns: 1},
		{name: "HTTP/1.0", answer: withLength("HTTP/1.0 200 OK\r\n", okBody), conns: 2},
		{name: "HTTP/1.0 keep-alive", answer: withLength("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n", okBody), conns: 1},
		{name: "Connection: close", answer: withLength("HTTP/1.1 200 OK\r\nConnection: x, close\r\n", okBody), conns: 2},
		{name: "bare LF", answer: "HTTP/1.1 200 OK\nContent-Length: 39\n\n" + okBody, conns: 1},
		{name: "429 Retry-After", answer: "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 5\r\n\r\nslow!", status: 429, retryAfter: "7", conns: 1},
		{name: "503 short body drained", answer: "HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked("busy", 2), status: 503, conns: 1},
		{name: "503 long body closes", answer: withLength("HTTP/1.1 503 Busy\r\n", strings.Repeat("b", 5<<10)), status: 503, conns: 2},
		{name: "302 not followed", answer: "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n", status: 302, conns: 1},
		{name: "204", answer: "HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n", status: 204, conns: 1},
		{name: "malformed status line", answer: "HTTP/1.1 2x0 OK\r\n\r\n", err: ErrMalformed, conns: 2},
		{name: "not HTTP", answer: "ICY 200 OK\r\n\r\n", err: ErrMalformed, conns: 2},
		{name: "huge headers", answer: "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("h", maxHead) + "\r\n\r\n", err: ErrMalformed, conns: 2},
		{name: "101", answer: "HTTP/1.1 101 Switching Protocols\r\n\r\n", err: ErrMalformed, conns: 2},
		{name: "too many interim answers", answer: strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", maxInterim+1), err: ErrMalformed, conns: 2},
		{name: "bad Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: ErrMalformed, conns: 2},
		{name: "conflicting Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", err: ErrMalformed, conns: 2},
		{name: "Content-Length and chunked", answer: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked("abc", 3), err: ErrMalformed, conns: 2},
		{name: "Transfer-Encoding gzip", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", err: ErrMalformed, conns: 2},
		{name: "header without colon", answer: "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", err: ErrMalformed, conns: 2},
		{name: "wrong Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", closeAfter: true, err: io.ErrUnexpectedEOF, conns: 2},
		{name: "truncated chunk", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc", closeAfter: true, err: io.ErrUnexpectedEOF, conns: 2},
		{name: "chunk without CRLF", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", err: ErrMalformed, conns: 2},
		{name: "bad chunk size", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: ErrMalformed, conns: 2},
		{name: "too large by Content-Length", answer: withLength("HTTP/1.1 200 OK\r\n", big), err: ErrTooLarge, conns: 2},
		{name: "too large chunked", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(big, 100), err: ErrTooLarge, conns: 2},
		{name: "too large to EOF", answer: "HTTP/1.1 200 OK\r\n\r\n" + big, closeAfter: true, err: ErrTooLarge, conns: 2},
		{name: "too large gzipped", answer: withLength("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", gzipOf(big)), err: ErrTooLarge, conns: 2},
		{name: "brotli", answer: withLength("HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n", okBody), err: ErrEncoding, conns: 2},
		{name: "corrupt gzip", answer: withLength("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", okBody), err: ErrEncoding, conns: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, answerEach(tt.answer, tt.closeAfter))
			c := newClient(t, srv.url("/rpc"), Config{MaxIdle: 4})
			for call := range 2 {
				res, err := c.Post(testContext(t), []byte(`{"id":1}`), limit)
				if !errors.Is(err, tt.err) {
					t.Fatalf("call %d: error %v, want %v", call, err, tt.err)
				}
				if err != nil {
					continue
				}
				want := Response{StatusCode: 200, Body: []byte(okBody)}
				if tt.status != 0 {
					want = Response{StatusCode: tt.status, RetryAfter: tt.retryAfter}
				}
				if res.StatusCode != want.StatusCode || res.RetryAfter != want.RetryAfter || string(res.Body) != string(want.Body) {
					t.Fatalf("call %d: %d %q %q, want %d %q %q", call, res.StatusCode, res.RetryAfter, res.Body, want.StatusCode, want.RetryAfter, want.Body)
				}
			}
			if got := srv.accepted.Load(); got != tt.conns {
				t.Fatalf("%d connections accepted for two calls, want %d", got, tt.conns)
			}
		})
	}
}
