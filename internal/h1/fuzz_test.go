package h1

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// FuzzReadResponse feeds arbitrary bytes as an upstream's answer: reading
// it must end in an error or an answer whose body is within the limit,
// never a panic, a hang or unbounded memory. A connection kept after it
// is read again, as a reused one would be.
func FuzzReadResponse(f *testing.F) {
	const limit = 1 << 10
	for _, seed := range []string{
		withLength("HTTP/1.1 200 OK\r\n", okBody),
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(okBody, 9),
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nabcd\r\n0\r\nX-Trailer: 1\r\n\r\n",
		withLength("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", gzipOf(okBody)),
		"HTTP/1.1 100 Continue\r\n\r\n" + withLength("HTTP/1.1 200 OK\r\n", okBody),
		"HTTP/1.0 200 OK\r\n\r\n" + okBody,
		withLength("HTTP/1.1 200 OK\r\n", okBody) + withLength("HTTP/1.1 429 Slow\r\nRetry-After: 3\r\n", "x"),
		"HTTP/1.1 200 OK\r\n\r\n" + strings.Repeat("y", limit+1),
		"\x00\xffgarbage\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), readBufferSize)
		for range 3 {
			a, err := readAnswer(br, limit)
			if err != nil {
				return
			}
			if int64(len(a.Body)) > limit {
				t.Fatalf("body of %d bytes, limit %d", len(a.Body), limit)
			}
			if a.StatusCode < 200 || a.StatusCode > 999 || (a.StatusCode != 200 && a.Body != nil) {
				t.Fatalf("status %d with a %d-byte body", a.StatusCode, len(a.Body))
			}
			if !a.keep {
				return
			}
		}
	})
}
