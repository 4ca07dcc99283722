package h1

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

func read(s string, limit int64) (answer, error) {
	return readAnswer(bufio.NewReaderSize(strings.NewReader(s), readBufferSize), limit)
}

func TestReadAnswerLimits(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		err    error
	}{
		{"chunk-size line longer than the buffer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("e", readBufferSize) + "\r\nx\r\n0\r\n\r\n", ErrMalformed},
		{"chunk-size line without CR", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n", ErrMalformed},
		{"chunk size overflowing", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n", ErrMalformed},
		{"chunk overhead", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("1;"+strings.Repeat("e", 2000)+"\r\nx\r\n", 20) + "0\r\n\r\n", ErrMalformed},
		{"trailers too large", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + strings.Repeat("t", maxHead) + "\r\n\r\n", ErrMalformed},
		{"trailers cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n", io.ErrUnexpectedEOF},
		{"head cut", "HTTP/1.1 200 OK\r\nContent-Le", io.ErrUnexpectedEOF},
		{"status line cut", "HTTP/1.1 2", io.ErrUnexpectedEOF},
		{"nothing", "", io.EOF},
		{"interim then nothing", "HTTP/1.1 100 Continue\r\n\r\n", io.ErrUnexpectedEOF},
		{"header name with a space", "HTTP/1.1 200 OK\r\nContent Length: 3\r\n\r\nabc", ErrMalformed},
		{"folded header", "HTTP/1.1 200 OK\r\n X: 1\r\n\r\n", ErrMalformed},
		{"status with no space after code", "HTTP/1.1 2000\r\n\r\n", ErrMalformed},
		{"two Transfer-Encodings", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ErrMalformed},
		{"two Content-Encodings", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n", ErrEncoding},
		{"Content-Length too long", "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := read(tt.answer, 1<<10); !errors.Is(err, tt.err) || (err == io.EOF) != (tt.err == io.EOF) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
		})
	}
}

func TestReadAnswerFraming(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		body   string
		keep   bool
	}{
		{"HTTP/1.0 ignores chunked", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + okBody, okBody, false},
		{"Content-Length repeated alike", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc", "abc", true},
		{"identity encoding", "HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc", "abc", true},
		{"status without reason", "HTTP/1.1 200\r\nContent-Length: 3\r\n\r\nabc", "abc", true},
		{"empty chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "", true},
		{"chunk size with spaces", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", "abc", true},
		{"long unrelated header", "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("l", 3*readBufferSize) + "\r\nContent-Length: 3\r\n\r\nabc", "abc", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := read(tt.answer, 1<<10)
			if err != nil || string(a.Body) != tt.body || a.keep != tt.keep {
				t.Fatalf("body %q keep %v error %v; want %q keep %v", a.Body, a.keep, err, tt.body, tt.keep)
			}
		})
	}
}

// endless is a reader that never ends, counting what it gives.
type endless struct {
	prefix string
	unit   string
	n      int // bytes given after the prefix
}

func (e *endless) Read(p []byte) (int, error) {
	if e.prefix != "" {
		n := copy(p, e.prefix)
		e.prefix = e.prefix[n:]
		return n, nil
	}
	n := 0
	for n < len(p) {
		n += copy(p[n:], e.unit[(e.n+n)%len(e.unit):])
	}
	e.n += n
	return n, nil
}

func TestEndlessBodiesStopPastTheLimit(t *testing.T) {
	const limit = 100 << 10
	for _, tt := range []struct {
		name, head, unit string
		most             int
	}{
		// Read to EOF: one byte past the limit, and the read buffer's
		// worth of look-ahead at most.
		{"to EOF", "HTTP/1.1 200 OK\r\n\r\n", "x", limit + 1 + readBufferSize},
		// Chunked: the chunk that passes the limit is refused unread.
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "400\r\n" + strings.Repeat("c", 0x400) + "\r\n", limit + 2*readBufferSize},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := &endless{prefix: tt.head, unit: tt.unit}
			if _, err := readAnswer(bufio.NewReaderSize(src, readBufferSize), limit); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v, want ErrTooLarge", err)
			}
			if src.n > tt.most {
				t.Fatalf("read %d bytes of an endless body, limit %d", src.n, limit)
			}
		})
	}
}

func TestWithoutAddress(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 8545},
		Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	if err := withoutAddress(reset); strings.Contains(err.Error(), "10.1.2.3") || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("%v", err)
	}
	lookup := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "key.node.example", IsNotFound: true}}
	err := withoutAddress(lookup)
	var dns *net.DNSError
	if strings.Contains(err.Error(), "example") || !errors.As(err, &dns) {
		t.Fatalf("%v", err)
	}
	timeout := &net.DNSError{Err: "i/o timeout", Name: "key.node.example", IsTimeout: true}
	if err := withoutAddress(timeout); strings.Contains(err.Error(), "example") {
		t.Fatalf("%v", err)
	}
}
