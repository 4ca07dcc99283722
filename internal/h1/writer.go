package h1

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/net/http/httpguts"
)

// pendingMax is how much of a body of unknown length is held to send it
// with a Content-Length; past it (or on Flush) it goes chunked, as
// net/http's server does past its buffer.
const pendingMax = 4 << 10

var errWriteAfterHandler = errors.New("h1: write after the handler returned")

// respWriter is the http.ResponseWriter of a request the Server answers.
// Its head goes out with the first body bytes past what is held, on
// Flush, or when the handler returns. It writes into the connection's
// buffered writer, whose first error sticks and is seen at the flush.
type respWriter struct {
	c      *serverConn
	req    *http.Request
	header http.Header
	status int
	length int64 // the Content-Length the handler set; -1: none
	// written counts the body bytes taken; pending holds them while the
	// head is not sent and the length unknown.
	written int64
	pending []byte

	wroteHeader, headSent, chunked, closeAfter, done bool
}

func (w *respWriter) Header() http.Header { return w.header }

// WriteHeader sends a 1xx at once; any other status is kept for the head.
func (w *respWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic("h1: invalid WriteHeader code " + strconv.Itoa(code)) // as net/http
	}
	if !w.done {
		w.writeHeader(code)
	}
}

func (w *respWriter) writeHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 200 {
		w.c.bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
		_ = w.header.Write(w.c.bw)
		w.c.bw.WriteString("\r\n")
		_ = w.c.bw.Flush()
		return
	}
	w.wroteHeader, w.status = true, code
	if cl := w.header.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			w.header.Del("Content-Length") // net/http drops it too
		} else {
			w.length = n
		}
	}
}

// bodyAllowed: 204 and 304 answers have none.
func (w *respWriter) bodyAllowed() bool {
	return w.status != http.StatusNoContent && w.status != http.StatusNotModified
}

func (w *respWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errWriteAfterHandler
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.length >= 0 {
		if w.written+int64(len(p)) > w.length {
			return 0, http.ErrContentLength
		}
		w.sendHead(p)
		n, err := w.c.bw.Write(p)
		w.written += int64(n)
		return n, err
	}
	if !w.chunked {
		if len(w.pending)+len(p) <= pendingMax {
			w.pending = append(w.pending, p...)
			w.written += int64(len(p))
			return len(p), nil
		}
		w.startChunked()
	}
	if len(p) == 0 {
		return 0, nil
	}
	w.writeChunk(p)
	w.written += int64(len(p))
	return len(p), nil
}

// Flush sends the head and what is written so far; a body of unknown
// length goes chunked from there.
func (w *respWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush, with the connection's error (http.ResponseController
// calls it).
func (w *respWriter) FlushError() error {
	if w.done {
		return errWriteAfterHandler
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headSent {
		if w.length < 0 && w.bodyAllowed() {
			w.startChunked()
		} else {
			w.sendHead(nil)
		}
	}
	return w.c.bw.Flush()
}

// SetReadDeadline and SetWriteDeadline are http.ResponseController's.
func (w *respWriter) SetReadDeadline(t time.Time) error  { return w.c.nc.SetReadDeadline(t) }
func (w *respWriter) SetWriteDeadline(t time.Time) error { return w.c.nc.SetWriteDeadline(t) }

// EnableFullDuplex is http.ResponseController's: this server never stops
// reading a body because an answer has started.
func (w *respWriter) EnableFullDuplex() error { return nil }

// startChunked sends the head for a chunked body, then what is held.
func (w *respWriter) startChunked() {
	w.chunked = true
	w.sendHead(w.pending)
	if len(w.pending) > 0 {
		w.writeChunk(w.pending)
		w.pending = w.pending[:0]
	}
}

func (w *respWriter) writeChunk(p []byte) {
	bw := w.c.bw
	var size [16]byte
	bw.Write(strconv.AppendInt(size[:0], int64(len(p)), 16))
	bw.WriteString("\r\n")
	bw.Write(p)
	bw.WriteString("\r\n")
}

// finish completes the answer once the handler has returned and reports
// whether the connection may serve another request.
func (w *respWriter) finish() bool {
	w.writeHeader(http.StatusOK)
	w.done = true
	switch {
	case !w.headSent:
		if w.length < 0 && w.bodyAllowed() {
			w.length = int64(len(w.pending))
			w.header.Set("Content-Length", strconv.Itoa(len(w.pending)))
		}
		w.sendHead(w.pending)
		w.c.bw.Write(w.pending)
	case w.chunked:
		w.c.bw.WriteString("0\r\n\r\n")
	}
	short := w.length >= 0 && w.written < w.length && w.bodyAllowed()
	if err := w.c.bw.Flush(); err != nil || short {
		return false // a body shorter than announced: the client is told by the close
	}
	return !w.closeAfter
}

// sendHead writes the status line and headers once; sniff is the first
// of the body, for a Content-Type the handler did not set.
func (w *respWriter) sendHead(sniff []byte) {
	if w.headSent {
		return
	}
	w.headSent = true
	h := w.header
	if !w.bodyAllowed() {
		h.Del("Content-Length")
		h.Del("Transfer-Encoding")
	} else {
		if _, ok := h["Content-Type"]; !ok && len(sniff) > 0 {
			h.Set("Content-Type", http.DetectContentType(sniff))
		}
		if w.chunked {
			h.Del("Content-Length")
			h.Set("Transfer-Encoding", "chunked")
		}
	}
	if w.req.Close || w.c.s.isClosing() || httpguts.HeaderValuesContainsToken(h["Connection"], "close") {
		w.closeAfter = true
	}
	if w.closeAfter {
		h.Set("Connection", "close")
	}
	bw := w.c.bw
	var line [64]byte
	b := append(line[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(w.status)...)
	b = append(b, "\r\n"...)
	if _, ok := h["Date"]; !ok {
		b = append(b, "Date: "...)
		b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
		b = append(b, "\r\n"...)
	}
	bw.Write(b)
	_ = h.Write(bw)
	bw.WriteString("\r\n")
}
