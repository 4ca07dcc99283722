package peers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// handle serves one content stream: one request, one response. Every
// step is bounded: the stream and request slots and the request rate are
// taken before anything is read, the request is 33 bytes read under a
// deadline, the Ledger's admission under another, the payload is
// reserved in the resource manager before it is written under a third.
func (n *Node) handle(s network.Stream) {
	p := s.Conn().RemotePeer()
	if n.guard.banned(p) {
		_ = s.Reset()
		return
	}
	release, reason, offence := n.guard.admitInbound(p)
	if release == nil {
		n.refuseEarly(s, p, reason, offence)
		return
	}
	defer release()
	start := n.clock.Now()
	_ = s.SetReadDeadline(time.Now().Add(n.lim.RequestTimeout))
	key, err := ReadRequest(s)
	if err != nil {
		if errors.Is(err, ErrFrame) {
			n.guard.offend(p, offenceMalformed, "malformed request")
			_, _ = n.reply(s, CodeError, []byte("malformed request"))
		}
		_ = s.Reset()
		return
	}
	t := Transfer{Peer: p, Direction: Out, Key: key, At: start, Age: n.heldAge(key)}
	code, data, done, err := n.answer(p, key, t.Age)
	if done != nil {
		defer done()
	}
	if code != CodeOK && code != CodeEvicted {
		data = reasonOf(err)
	}
	sent, werr := n.reply(s, code, data)
	switch {
	case werr != nil:
		t.Result, t.Err = Failed, werr
	case sent != code:
		t.Result, t.Err = Refused, errors.New(string(reasonOf(errNoMemory)))
	case code == CodeOK:
		t.Result, t.Bytes = Served, len(data)
	default:
		t.Result, t.Err = resultOf(code), err
		if code == CodeEvicted {
			t.EvictedAt, _ = DecodeEvicted(data)
		}
	}
	t.Latency = n.clock.Now().Sub(start)
	n.record(t)
}

// answer decides a request: admission by the Ledger, the content from the
// Holder, its memory reserved.
func (n *Node) answer(p peer.ID, key Key, age Age) (Code, []byte, func(), error) {
	var done func()
	if n.opts.Ledger != nil {
		ctx, cancel := context.WithTimeout(n.ctx, n.lim.AdmitTimeout)
		var err error
		done, err = n.opts.Ledger.Admit(ctx, Inbound{Peer: p, Key: key, Age: age, At: n.clock.Now()})
		cancel()
		if err != nil {
			var r *Refusal
			if errors.As(err, &r) && r.Code != CodeOK && r.Code.valid() {
				return r.Code, nil, done, err
			}
			return CodeBusy, nil, done, fmt.Errorf("not admitted: %w", err)
		}
	}
	data, ok := get(n.opts.Holder, key)
	if !ok {
		if at, ok := evicted(n.opts.Holder, key); ok {
			return CodeEvicted, AppendEvicted(nil, at), done, errEvicted
		}
		return CodeNotHeld, nil, done, errNotHeld
	}
	if len(data) > key.Kind.MaxSize() { // never stored: the store verified it
		n.log.Warn("held content over its size bound", "key", key.String(), "bytes", len(data))
		return CodeNotHeld, nil, done, errNotHeld
	}
	return CodeOK, data, done, nil
}

var (
	errNotHeld = errors.New("not held")
	errEvicted = errors.New("evicted")
)

// heldAge is the age of held content, when the Holder knows its number.
func (n *Node) heldAge(key Key) Age {
	if num, ok := n.opts.Holder.(Numberer); ok {
		if number, ok := num.Number(key.Hash); ok {
			return n.age(Age{Number: number, Known: true})
		}
	}
	return Age{}
}

// refuseEarly answers a request refused before it was read: over the
// peer's limits (an offence; the peer is banned when they add up) or
// this node's capacity.
func (n *Node) refuseEarly(s network.Stream, p peer.ID, reason string, offence bool) {
	if offence && n.guard.offend(p, offenceExcess, "request flood: "+reason) {
		_ = s.Reset()
		return
	}
	_, _ = n.reply(s, CodeBusy, truncate(reason))
	n.record(Transfer{Peer: p, Direction: Out, Result: Refused, At: n.clock.Now(), Err: errors.New(reason)})
}

// reply writes a response frame and closes the stream, returning the
// status sent. A payload is reserved in the resource manager first (at
// high priority, leaving room for this node's own fetches); when memory is
// short the peer is told CodeBusy instead.
func (n *Node) reply(s network.Stream, code Code, payload []byte) (Code, error) {
	if code == CodeOK {
		if err := s.Scope().ReserveMemory(len(payload), network.ReservationPriorityHigh); err != nil {
			code, payload = CodeBusy, reasonOf(errNoMemory)
		}
	}
	_ = s.SetWriteDeadline(time.Now().Add(n.lim.WriteTimeout))
	frame := AppendResponseHeader(make([]byte, 0, 11), code, len(payload))
	if _, err := s.Write(frame); err != nil {
		_ = s.Reset()
		return code, err
	}
	if _, err := s.Write(payload); err != nil {
		_ = s.Reset()
		return code, err
	}
	return code, s.Close()
}

var errNoMemory = errors.New("out of memory for content now")

// resultOf is the served transfer's result for a code.
func resultOf(s Code) Result {
	switch s {
	case CodeOK:
		return Served
	case CodeNotHeld:
		return NotHeld
	case CodeEvicted:
		return Evicted
	case CodeError:
		return Failed
	}
	return Refused
}

// reasonOf is the reason told to the peer: a Refusal's own, else the
// error's text, cut to MaxReason.
func reasonOf(err error) []byte {
	var r *Refusal
	if errors.As(err, &r) {
		return truncate(r.Reason)
	}
	if err == nil {
		return nil
	}
	return truncate(err.Error())
}

// truncate cuts s to at most MaxReason bytes of valid UTF-8.
func truncate(s string) []byte {
	s = strings.ToValidUTF8(s, "?")
	if len(s) > MaxReason {
		s = s[:MaxReason]
		for !utf8.ValidString(s) { // a rune cut in two: drop its start
			s = s[:len(s)-1]
		}
	}
	return []byte(s)
}
