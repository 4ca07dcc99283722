package h1

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"sync"
)

// readBody reads a 200's whole body as h frames it, never more than
// limit+1 bytes of it. A Content-Length body is read into a buffer of
// exactly that size; a chunked or read-to-EOF one into a pooled buffer,
// returned as an exact copy (the answer outlives the call, the buffer need
// not).
func readBody(br *bufio.Reader, h *head, limit int64) ([]byte, error) {
	if h.length >= 0 {
		if h.length > limit {
			return nil, ErrTooLarge
		}
		body := make([]byte, h.length)
		if _, err := io.ReadFull(br, body); err != nil {
			return nil, unexpected(err)
		}
		return body, nil
	}
	if h.chunked {
		return pooledRead(func(dst []byte) ([]byte, error) { return readChunked(br, dst, limit) })
	}
	return ReadToEnd(br, limit)
}

// ReadToEnd reads r to EOF, at most limit bytes (more: ErrTooLarge, after
// reading one byte past the limit, no more), into a pooled buffer, and
// returns an exact copy: the answer outlives the call (it is passed on,
// compared, cached), the buffer need not, so one allocation of the
// answer's size replaces a growing buffer's several. internal/upstream
// reads net/http's chunked bodies with it too.
func ReadToEnd(r io.Reader, limit int64) ([]byte, error) {
	return pooledRead(func(dst []byte) ([]byte, error) { return readToEOF(r, dst, limit) })
}

// pooledRead runs read over a pooled buffer (read appends to the buffer it
// is given and returns it, grown) and returns an exact copy of the result.
func pooledRead(read func(dst []byte) ([]byte, error)) ([]byte, error) {
	bp := bodyPool.Get().(*[]byte)
	defer putBody(bp)
	var err error
	if *bp, err = read((*bp)[:0]); err != nil {
		return nil, err
	}
	return bytes.Clone(*bp), nil
}

// bodyPool holds the buffers chunked and read-to-EOF bodies are read into.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooledBody: a buffer grown past this by a large answer is left to the
// collector, so the pool never holds megabytes per processor.
const maxPooledBody = 256 << 10

func putBody(bp *[]byte) {
	if cap(*bp) <= maxPooledBody {
		*bp = (*bp)[:0]
		bodyPool.Put(bp)
	}
}

// readToEOF appends what r sends until EOF to dst, erring with ErrTooLarge
// once more than limit bytes came (after reading one byte past it, no
// more).
func readToEOF(r io.Reader, dst []byte, limit int64) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)] // grow
		}
		room := min(int64(cap(dst)), limit+1)
		n, err := r.Read(dst[len(dst):room])
		dst = dst[:len(dst)+n]
		if int64(len(dst)) > limit {
			return dst, ErrTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// readChunked appends a chunked body's data to dst, then reads its
// trailers to the blank line so that the connection can be reused. A
// chunk that would take the body past limit is refused before it is read.
func readChunked(br *bufio.Reader, dst []byte, limit int64) ([]byte, error) {
	overhead := 0
	for {
		line, err := readChunkLine(br)
		if err != nil {
			return dst, err
		}
		overhead += len(line) + 2
		size, err := parseChunkSize(line)
		if err != nil {
			return dst, err
		}
		if size == 0 {
			budget := maxHead
			return dst, readTrailers(br, &budget)
		}
		if size > limit-int64(len(dst)) {
			return dst, ErrTooLarge
		}
		if dst, err = readN(br, dst, size); err != nil {
			return dst, err
		}
		if crlf, err := br.Peek(2); err != nil || crlf[0] != '\r' || crlf[1] != '\n' {
			if err != nil {
				return dst, unexpected(err)
			}
			return dst, malformed("chunk not followed by CRLF")
		}
		_, _ = br.Discard(2)
		// Many tiny chunks with long extensions: bound the bytes read
		// beside the data (net/http does the same).
		if overhead > 16<<10 && overhead > 16*len(dst) {
			return dst, malformed("too much chunk overhead")
		}
	}
}

// readChunkLine reads a chunk-size line, which must end in CRLF and fit
// the read buffer.
func readChunkLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, malformed("chunk-size line too long")
	case err != nil:
		return nil, unexpected(err)
	case len(line) < 2 || line[len(line)-2] != '\r':
		return nil, malformed("chunk-size line without CRLF")
	}
	return line[:len(line)-2], nil
}

// parseChunkSize reads a chunk size: hexadecimal, any extension after ';'
// ignored, trailing spaces allowed.
func parseChunkSize(line []byte) (int64, error) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, malformed("bad chunk size")
	}
	var n int64
	for _, c := range line {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, malformed("bad chunk size")
		}
		n = n<<4 | int64(d)
	}
	return n, nil
}

// readTrailers reads trailer lines up to and including the blank one.
func readTrailers(br *bufio.Reader, budget *int) error {
	for {
		line, err := readLine(br, budget)
		if err != nil {
			return unexpected(err)
		}
		if len(line) == 0 {
			return nil
		}
	}
}

// readN appends exactly n bytes from br to dst, growing dst as the bytes
// arrive rather than by n at once.
func readN(br *bufio.Reader, dst []byte, n int64) ([]byte, error) {
	for n > 0 {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		room := int(min(n, int64(cap(dst)-len(dst))))
		m, err := io.ReadFull(br, dst[len(dst):len(dst)+room])
		dst = dst[:len(dst)+m]
		n -= int64(m)
		if err != nil {
			return dst, unexpected(err)
		}
	}
	return dst, nil
}

// drain reads and discards a non-200 answer's body when it is short, and
// reports whether the connection is still usable.
func drain(br *bufio.Reader, h *head) bool {
	switch {
	case h.length == 0:
		return true
	case h.length > 0 && h.length <= maxDrain:
		_, err := br.Discard(int(h.length))
		return err == nil
	case h.chunked:
		bp := bodyPool.Get().(*[]byte)
		defer putBody(bp)
		var err error
		*bp, err = readChunked(br, (*bp)[:0], maxDrain)
		return err == nil
	}
	return false // longer, or read to EOF: close rather than read it
}

// gunzip decodes a gzip body, at most limit bytes of it.
func gunzip(raw []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", ErrEncoding, err)
	}
	bp := bodyPool.Get().(*[]byte)
	defer putBody(bp)
	*bp, err = readToEOF(zr, (*bp)[:0], limit)
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: gzip: %w", ErrEncoding, err)
	}
	return bytes.Clone(*bp), nil
}
