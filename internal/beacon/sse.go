package beacon

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxEventSize bounds one server-sent event (a finality update is ~5 KB).
const maxEventSize = 1 << 20

var errEventTooLarge = errors.New("event stream: event over 1 MiB")

// sseEvent is one server-sent event.
type sseEvent struct {
	name string
	data []byte
}

// sseReader reads a text/event-stream (WHATWG HTML, server-sent events):
// "event:" and "data:" fields up to a blank line; comments, "id:" and
// "retry:" are ignored. Lines end in LF or CRLF.
type sseReader struct {
	sc *bufio.Scanner
}

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventSize)
	return &sseReader{sc: sc}
}

// next returns the next event with data; io.EOF at the end of the stream.
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data []byte
	hasData := false
	for s.sc.Scan() {
		line := s.sc.Bytes() // ScanLines drops the LF and a CR before it
		if len(line) == 0 {
			if hasData {
				ev.data = data
				return ev, nil
			}
			ev = sseEvent{}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			ev.name = string(value)
		case "data":
			if len(data)+len(value)+1 > maxEventSize {
				return sseEvent{}, errEventTooLarge
			}
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		}
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return sseEvent{}, errEventTooLarge
		}
		return sseEvent{}, err
	}
	return sseEvent{}, io.EOF
}
