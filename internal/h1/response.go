package h1

import (
	"bufio"
	"bytes"
	"io"
)

// Bounds on what an answer's head may take.
const (
	// maxHead bounds the status lines and headers of one answer, interim
	// answers and trailers included.
	maxHead = 256 << 10
	// maxInterim bounds the 1xx answers skipped before the answer.
	maxInterim = 5
	// maxDrain: a non-200 answer's body up to this long is read and
	// discarded so that the connection can be reused; a longer one closes
	// it.
	maxDrain = 4 << 10
)

// answer is a read answer and whether its connection may be reused.
type answer struct {
	Response
	keep bool
}

// head is what the client uses of an answer's status line and headers.
type head struct {
	status     int
	http10     bool
	length     int64 // Content-Length; -1: none
	chunked    bool
	close      bool // the connection ends with this answer
	keepAlive  bool // Connection: keep-alive (matters for HTTP/1.0)
	encoding   encoding
	retryAfter string
}

type encoding int

const (
	identity encoding = iota
	gzipped
	unusable
)

// readAnswer reads one answer from br: a 200's body bounded by limit, or
// another status with its body drained if short. keep says whether the
// connection may serve another request. An EOF before the answer's first
// byte is io.EOF itself (the server had closed the connection).
func readAnswer(br *bufio.Reader, limit int64) (answer, error) {
	h, err := readHead(br)
	if err != nil {
		return answer{}, err
	}
	a := answer{Response: Response{StatusCode: h.status, RetryAfter: h.retryAfter}, keep: !h.close}
	if h.status != 200 {
		a.keep = a.keep && drain(br, &h)
		return a, nil
	}
	if h.encoding == unusable {
		return answer{}, ErrEncoding
	}
	body, err := readBody(br, &h, limit)
	if err != nil {
		return answer{}, err
	}
	if h.length < 0 && !h.chunked {
		a.keep = false // read to EOF: the connection is done
	}
	if h.encoding == gzipped {
		if body, err = gunzip(body, limit); err != nil {
			return answer{}, err
		}
	}
	a.Body = body
	return a, nil
}

// readHead reads the status line and headers, skipping interim (1xx)
// answers.
func readHead(br *bufio.Reader) (head, error) {
	budget := maxHead
	for interim := 0; ; interim++ {
		h, err := readOneHead(br, &budget, interim == 0)
		if err != nil {
			return head{}, err
		}
		switch {
		case h.status == 101:
			return head{}, malformed("101 Switching Protocols to a POST")
		case h.status < 200:
			if interim == maxInterim {
				return head{}, malformed("too many interim answers")
			}
			continue
		}
		return h, h.settle()
	}
}

// readOneHead reads one status line and its headers. first: an EOF before
// any byte is returned as io.EOF.
func readOneHead(br *bufio.Reader, budget *int, first bool) (head, error) {
	line, err := readLine(br, budget)
	if err != nil {
		if err == io.EOF && !first {
			err = io.ErrUnexpectedEOF
		}
		return head{}, err
	}
	h := head{length: -1}
	if h.status, h.http10, err = parseStatusLine(line); err != nil {
		return head{}, err
	}
	seen := seenHeaders{}
	for {
		line, err := readLine(br, budget)
		if err != nil {
			return head{}, unexpected(err)
		}
		if len(line) == 0 {
			return h, nil
		}
		if err := h.header(line, &seen); err != nil {
			return head{}, err
		}
	}
}

// readLine reads a line of the head, without its "\n" or "\r\n", taking its
// length from budget. A line longer than br's buffer is gathered in a
// slice of its own; otherwise the line is br's and valid until the next
// read.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		long := bytes.Clone(line)
		for err == bufio.ErrBufferFull && len(long) <= *budget {
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if *budget -= len(line); *budget < 0 {
		return nil, malformed("head too large")
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseStatusLine reads "HTTP/1.x NNN reason" (the reason may be absent).
func parseStatusLine(line []byte) (status int, http10 bool, err error) {
	switch {
	case bytes.HasPrefix(line, []byte("HTTP/1.1 ")):
	case bytes.HasPrefix(line, []byte("HTTP/1.0 ")):
		http10 = true
	default:
		return 0, false, malformed("status line is not HTTP/1.0 or HTTP/1.1")
	}
	code := line[len("HTTP/1.1 "):]
	if len(code) > 3 {
		if code[3] != ' ' {
			return 0, false, malformed("bad status code")
		}
		code = code[:3]
	}
	if len(code) != 3 || code[0] < '1' || code[0] > '9' || !isDigit(code[1]) || !isDigit(code[2]) {
		return 0, false, malformed("bad status code")
	}
	return int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0'), http10, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// seenHeaders notes which headers came, to refuse repeats that conflict.
type seenHeaders struct{ length, transfer, encoding, retryAfter bool }

// header reads one header line into h; only the headers the client acts
// on are looked at, but every name must be a token.
func (h *head) header(line []byte, seen *seenHeaders) error {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isToken(line[:colon]) {
		return malformed("bad header line")
	}
	name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
	switch {
	case bytes.EqualFold(name, []byte("Content-Length")):
		n, ok := parseLength(value)
		if !ok || (seen.length && n != h.length) {
			return malformed("bad or conflicting Content-Length")
		}
		h.length, seen.length = n, true
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		if seen.transfer || !bytes.EqualFold(value, []byte("chunked")) {
			return malformed("unsupported Transfer-Encoding")
		}
		h.chunked, seen.transfer = true, true
	case bytes.EqualFold(name, []byte("Connection")):
		h.connection(value)
	case bytes.EqualFold(name, []byte("Content-Encoding")):
		h.encoding = contentEncoding(value, seen.encoding)
		seen.encoding = true
	case bytes.EqualFold(name, []byte("Retry-After")):
		if !seen.retryAfter {
			h.retryAfter, seen.retryAfter = string(value), true
		}
	}
	return nil
}

// connection reads a Connection header's tokens.
func (h *head) connection(value []byte) {
	for len(value) > 0 {
		var token []byte
		token, value, _ = bytes.Cut(value, []byte(","))
		token = bytes.Trim(token, " \t")
		switch {
		case bytes.EqualFold(token, []byte("close")):
			h.close = true
		case bytes.EqualFold(token, []byte("keep-alive")):
			h.keepAlive = true
		}
	}
}

func contentEncoding(value []byte, repeated bool) encoding {
	switch {
	case repeated:
		return unusable
	case len(value) == 0 || bytes.EqualFold(value, []byte("identity")):
		return identity
	case bytes.EqualFold(value, []byte("gzip")):
		return gzipped
	}
	return unusable
}

// settle checks the head as a whole once all of it is read.
func (h *head) settle() error {
	if h.http10 {
		// HTTP/1.0 keeps a connection only when asked to, and knows no
		// chunking (net/http ignores the header there too).
		h.close = h.close || !h.keepAlive
		h.chunked = false
	}
	if h.chunked && h.length >= 0 {
		return malformed("both Content-Length and chunked")
	}
	if h.status == 204 || h.status == 304 {
		h.length, h.chunked = 0, false // no body, whatever the headers say
	}
	return nil
}

// parseLength reads a Content-Length: decimal digits only, at most 18.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// isToken reports whether b is an HTTP token (a header name).
func isToken(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	return len(b) > 0
}
