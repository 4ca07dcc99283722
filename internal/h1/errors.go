package h1

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

var (
	// ErrTooLarge: a 200's body is longer than the caller's limit.
	ErrTooLarge = errors.New("answer larger than the limit")
	// ErrEncoding: a 200's body came in a Content-Encoding other than gzip,
	// or as gzip that does not decode.
	ErrEncoding = errors.New("answer in an unusable content encoding")
	// ErrMalformed: the answer is not HTTP/1.x as this client reads it
	// (status line, headers, framing).
	ErrMalformed = errors.New("malformed HTTP answer")
)

// errDeadline is what a read or write past the connection's deadline
// returns.
var errDeadline = os.ErrDeadlineExceeded

// malformed is an ErrMalformed saying what was wrong; it never quotes the
// answer.
type malformed string

func (m malformed) Error() string        { return ErrMalformed.Error() + ": " + string(m) }
func (m malformed) Is(target error) bool { return target == ErrMalformed }

// closedEarly reports whether err is what reading from a connection the
// server had already closed gives: EOF before any byte, or a reset.
func closedEarly(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// withoutAddress strips the net.OpError layer, whose text names the
// upstream's address, keeping its cause (a *os.SyscallError, a timeout):
// "read: connection reset by peer" rather than "read tcp
// 127.0.0.1:1->127.0.0.1:2: …". A lookup failure keeps only its reason.
func withoutAddress(err error) error {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return &lookupError{dns: dns}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// lookupError is a failed name lookup without the name.
type lookupError struct{ dns *net.DNSError }

func (e *lookupError) Error() string {
	if e.dns.IsNotFound {
		return "lookup: no such host"
	}
	return "lookup failed: " + e.dns.Err
}

func (e *lookupError) Unwrap() error { return e.dns }
