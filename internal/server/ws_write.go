package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/coder/websocket"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// wsSmallMessage: answers up to this size are built in memory and written
// as one frame; larger ones are streamed from the answers themselves in
// frames of about this size, so an answer of many megabytes is never
// copied into a message buffer.
const wsSmallMessage = 32 << 10

// wsBuffers hold small messages being built, and stream larger ones.
var (
	wsMessageBuffers = sync.Pool{New: func() any { b := make([]byte, 0, wsSmallMessage); return &b }}
	wsStreamWriters  = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, wsSmallMessage) }}
)

// wsOut is a message waiting to be written: msg as it is, or answers (one,
// or a batch) written from their own bytes. release, if set, frees the
// slot of the message it answers once it is written.
type wsOut struct {
	msg     []byte
	answers []*jsonrpc.Response
	batch   bool
	release func()
}

// send queues msg for the writer without blocking. A full queue means the
// client does not read what it is sent: the connection is closed with 1008
// rather than let memory grow. release runs once msg is written, or now
// if it is not queued.
func (c *wsConn) send(msg []byte, release func()) bool {
	return c.queueOut(wsOut{msg: msg, release: release})
}

// sendAnswers queues the answers to one message (batch: as an array),
// like send.
func (c *wsConn) sendAnswers(answers []*jsonrpc.Response, batch bool, release func()) bool {
	return c.queueOut(wsOut{answers: answers, batch: batch, release: release})
}

func (c *wsConn) queueOut(out wsOut) bool {
	release := out.release
	if !c.failing() {
		if c.queue.push(out) {
			return true
		}
		c.slowConsumer()
	}
	if release != nil {
		release()
	}
	return false
}

// slowConsumer closes the connection of a client that leaves a full queue
// unread, with status 1008.
func (c *wsConn) slowConsumer() {
	c.fail(websocket.StatusPolicyViolation,
		fmt.Sprintf("slow consumer: %d messages unread", c.queue.limit), reasonSlowConsumer)
}

// writeLoop writes queued messages one at a time, each within
// WriteTimeout, until the connection fails.
func (c *wsConn) writeLoop() {
	defer c.bg.Done()
	for {
		select {
		case <-c.done:
			return
		case <-c.queue.ready:
		}
		batch := c.queue.take()
		for i, out := range batch {
			batch[i] = wsOut{} // what is written is not held any longer
			if c.failing() || !c.write(out) {
				for _, rest := range batch[i+1:] {
					if rest.release != nil {
						rest.release()
					}
				}
				return
			}
		}
	}
}

// write writes one message and reports whether the connection is still
// good.
func (c *wsConn) write(out wsOut) bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.s.ws.WriteTimeout)
	err := c.writeMessage(ctx, out)
	cancel()
	// Room in the queue first, then the slot: the answer to the message
	// the slot lets in must find room.
	c.queue.written()
	if out.release != nil {
		out.release()
	}
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			c.failWith(websocket.StatusPolicyViolation, "slow consumer: write timed out", reasonSlowConsumer, err)
		case goneAway(err):
			c.failWith(websocket.StatusNormalClosure, "", reasonClient, err)
		default:
			c.failWith(websocket.StatusInternalError, "write failed", reasonError, err)
		}
		return false
	}
	c.s.wsm.message("out")
	return true
}

// sendQueue is a connection's bounded queue of messages to write. It
// holds memory only for what is waiting (a channel of SendBuffer slots
// would cost every idle connection its full size): limit counts messages
// queued or being written.
type sendQueue struct {
	limit int
	ready chan struct{} // signalled when items are added

	mu      sync.Mutex
	items   []wsOut
	pending int // queued plus taken but not yet written
}

func newSendQueue(limit int) *sendQueue {
	return &sendQueue{limit: limit, ready: make(chan struct{}, 1)}
}

// push adds o unless limit messages are already waiting.
func (q *sendQueue) push(o wsOut) bool {
	q.mu.Lock()
	if q.pending >= q.limit {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, o)
	q.pending++
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// take hands the writer everything queued; each message still counts
// against limit until written.
func (q *sendQueue) take() []wsOut {
	q.mu.Lock()
	defer q.mu.Unlock()
	batch := q.items
	q.items = nil
	return batch
}

// written marks one taken message as written.
func (q *sendQueue) written() {
	q.mu.Lock()
	q.pending--
	q.mu.Unlock()
}

// writeMessage writes out as one text message.
func (c *wsConn) writeMessage(ctx context.Context, out wsOut) error {
	if out.answers == nil {
		return c.conn.Write(ctx, websocket.MessageText, out.msg)
	}
	size := out.answers[0].Size()
	if out.batch {
		size = jsonrpc.BatchSize(out.answers)
	}
	if size <= wsSmallMessage {
		bp := wsMessageBuffers.Get().(*[]byte)
		defer wsMessageBuffers.Put(bp)
		buf := bytes.NewBuffer((*bp)[:0])
		writeAnswers(buf, out)
		*bp = buf.Bytes()[:0]
		return c.conn.Write(ctx, websocket.MessageText, buf.Bytes())
	}
	w, err := c.conn.Writer(ctx, websocket.MessageText)
	if err != nil {
		return err
	}
	bw := wsStreamWriters.Get().(*bufio.Writer)
	bw.Reset(w)
	defer func() {
		bw.Reset(nil)
		wsStreamWriters.Put(bw)
	}()
	err = writeAnswers(bw, out)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeAnswers(w io.Writer, out wsOut) error {
	var err error
	if out.batch {
		_, err = jsonrpc.WriteBatch(w, out.answers)
	} else {
		_, err = out.answers[0].WriteTo(w)
	}
	return err
}
