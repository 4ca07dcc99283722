package h1

import (
	"net"
	"strconv"
	"sync"
)

// writeRequest writes the request, prefix then Content-Length and body,
// in one write: built in a pooled buffer, or for a large body (a big
// batch) handed to writev beside the head instead of copied.
func writeRequest(nc net.Conn, prefix, body []byte) error {
	bp := requestPool.Get().(*[]byte)
	b := append((*bp)[:0], prefix...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	var err error
	if len(body) <= maxCopiedBody {
		b = append(b, body...)
		_, err = nc.Write(b)
	} else {
		bufs := net.Buffers{b, body}
		_, err = bufs.WriteTo(nc)
	}
	if cap(b) <= maxPooledRequest {
		*bp = b[:0]
		requestPool.Put(bp)
	}
	return err
}

const (
	// maxCopiedBody: a longer body is written from where it is.
	maxCopiedBody = 16 << 10
	// maxPooledRequest: a buffer grown past this is left to the collector.
	maxPooledRequest = 32 << 10
)

var requestPool = sync.Pool{New: func() any { b := make([]byte, 0, 1<<10); return &b }}
