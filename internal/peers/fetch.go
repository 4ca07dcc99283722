package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

var (
	// ErrNoHolders: the DHT found nobody (besides this node) holding the
	// content.
	ErrNoHolders = errors.New("peers: no holder found")
	// ErrUnavailable: holders were found, but none delivered content that
	// passed the check.
	ErrUnavailable = errors.New("peers: no holder delivered")
)

// Fetch finds the holders of key in the DHT and asks them, one after
// another (peers that delivered before first, peers that lied last),
// until one's content passes check; holders that said busy are asked
// again after their backoff, for up to Limits.FetchTimeout. Content that fails it is dropped and
// recorded as the peer's lie (and counts towards its ban); a peer that is
// not holding, busy, unreachable or dies mid-transfer is recorded and the
// next one asked. It returns the verified bytes and the transfer that
// delivered them. age, if known, goes into every transfer record (its
// depth is filled from Options.Head when 0).
//
// At most Limits.Fetches run at once (more wait), and each holder gets
// Limits.FetchTimeout; ctx bounds the whole.
func (n *Node) Fetch(ctx context.Context, key Key, age Age, check Check) ([]byte, Transfer, error) {
	if !key.Kind.Valid() {
		return nil, Transfer{}, fmt.Errorf("peers: fetch of unknown kind %d", key.Kind)
	}
	select {
	case n.fetches <- struct{}{}:
		defer func() { <-n.fetches }()
	case <-ctx.Done():
		return nil, Transfer{}, ctx.Err()
	case <-n.ctx.Done():
		return nil, Transfer{}, errClosed
	}
	holders, err := n.FindHolders(ctx, key)
	if err != nil {
		return nil, Transfer{}, err
	}
	if len(holders) == 0 {
		return nil, Transfer{}, fmt.Errorf("%w: %s", ErrNoHolders, key)
	}
	return n.ask(ctx, key, age, holders, check)
}

// ask asks holders for key, one after another (peers that delivered
// before first, peers that lied last, as the Ranker orders them), until
// one's content passes check; holders that said busy are asked again after
// their backoff, for up to Limits.FetchTimeout. Every answer is recorded.
func (n *Node) ask(ctx context.Context, key Key, age Age, holders []peer.AddrInfo, check Check) ([]byte, Transfer, error) {
	age = n.age(age)
	byID := make(map[peer.ID]peer.AddrInfo, len(holders))
	ids := make([]peer.ID, len(holders))
	for i, h := range holders {
		byID[h.ID], ids[i] = h, h.ID
	}
	var counts [Evicted + 1]int
	order := n.tally.rank(ids)
	if n.opts.Ranker != nil {
		order = reorder(n.opts.Ranker.Rank(key, age, slices.Clone(order)), order)
	}
	retryUntil := n.clock.Now().Add(n.lim.FetchTimeout)
	for round := 0; len(order) > 0 && (round == 0 || n.clock.Now().Before(retryUntil)); round++ {
		var later []peer.ID // busy: asked again after their backoff
		for _, id := range order {
			if err := ctx.Err(); err != nil {
				return nil, Transfer{}, err
			}
			if n.guard.banned(id) {
				continue
			}
			t, data := n.attempt(ctx, byID[id], key)
			t.Age = age
			if key.Kind != Location { // asked peers are no holder count
				t.Holders = len(holders)
			}
			if err := n.judge(&t, data, check); err != nil {
				return nil, t, err
			}
			n.record(t)
			counts[t.Result]++
			switch t.Result {
			case Verified:
				return data, t, nil
			case Refused:
				later = append(later, id)
			}
		}
		order = later
	}
	return nil, Transfer{}, fmt.Errorf("%w: %s: %d holders, %d lied, %d not holding, %d evicted, %d refused, %d failed",
		ErrUnavailable, key, len(holders), counts[Lie], counts[NotHeld], counts[Evicted], counts[Refused], counts[Failed])
}

var errClosed = errors.New("peers: node closed")

// judge checks delivered content (t.Result Verified) with check: content
// that fails it becomes the peer's lie (an offence). A check's error that
// is no lie is the caller's own, returned as is (nothing is recorded).
func (n *Node) judge(t *Transfer, data []byte, check Check) error {
	if t.Result != Verified {
		return nil
	}
	if err := check(data); err != nil {
		if !IsLie(err) {
			return fmt.Errorf("peers: keeping %s from %s: %w", t.Key, t.Peer, err)
		}
		t.Result, t.Err = Lie, err
		n.guard.offend(t.Peer, offenceLie, "content failed verification")
	}
	return nil
}

// reorder returns the ids of ranked that are in order (each once), then
// those of order that ranked left out, in order's order: a Ranker can
// reorder the holders but neither add nor drop one.
func reorder(ranked, order []peer.ID) []peer.ID {
	known := make(map[peer.ID]bool, len(order))
	for _, id := range order {
		known[id] = true
	}
	out := make([]peer.ID, 0, len(order))
	for _, id := range ranked {
		if known[id] {
			out = append(out, id)
			delete(known, id)
		}
	}
	for _, id := range order {
		if known[id] {
			out = append(out, id)
		}
	}
	return out
}

// FetchFrom asks one peer, id, for key, as Fetch asks each holder (the
// same limits, check, records and offences) but without a DHT search:
// a retention audit (issue 16) asks a peer for content it advertised.
// The peer's addresses come from the peerstore (a FindHolders keeps them
// a while) or, when it is neither known nor connected, from a DHT search.
// It returns the verified bytes and the transfer; any other outcome is an
// error wrapping ErrUnavailable, with the transfer saying what happened
// (Lie, NotHeld, Evicted, Refused, Failed; Holders is 0: nobody searched). A banned
// peer is not asked (Result Refused, nothing recorded).
func (n *Node) FetchFrom(ctx context.Context, id peer.ID, key Key, age Age, check Check) ([]byte, Transfer, error) {
	if !key.Kind.Valid() {
		return nil, Transfer{}, fmt.Errorf("peers: fetch of unknown kind %d", key.Kind)
	}
	if id == n.host.ID() {
		return nil, Transfer{}, errors.New("peers: fetch from this node itself")
	}
	select {
	case n.fetches <- struct{}{}:
		defer func() { <-n.fetches }()
	case <-ctx.Done():
		return nil, Transfer{}, ctx.Err()
	case <-n.ctx.Done():
		return nil, Transfer{}, errClosed
	}
	age = n.age(age)
	if n.guard.banned(id) {
		t := Transfer{Peer: id, Direction: In, Key: key, Result: Refused, Age: age, At: n.clock.Now(), Err: errBanned}
		return nil, t, fmt.Errorf("%w: %s from %s: %w", ErrUnavailable, key, id, errBanned)
	}
	t, data := n.attempt(ctx, n.addrInfo(ctx, id), key)
	t.Age = age
	if err := n.judge(&t, data, check); err != nil {
		return nil, t, err
	}
	n.record(t)
	if t.Result != Verified {
		return nil, t, fmt.Errorf("%w: %s from %s: %s: %w", ErrUnavailable, key, id, t.Result, t.Err)
	}
	return data, t, nil
}

var errBanned = errors.New("peer banned")

// addrInfo is how to reach id: as the host knows it (connected, or with
// addresses in the peerstore), else as the DHT finds it.
func (n *Node) addrInfo(ctx context.Context, id peer.ID) peer.AddrInfo {
	info := peer.AddrInfo{ID: id}
	if n.host.Network().Connectedness(id) == network.Connected || len(n.host.Peerstore().Addrs(id)) > 0 {
		return info
	}
	fctx, cancel := context.WithTimeout(ctx, n.lim.FindTimeout)
	defer cancel()
	if found, err := n.dht.FindPeer(fctx, id); err == nil {
		return found
	}
	return info
}

// FindHolders asks the DHT who holds key, within Limits.FindTimeout and
// up to Limits.MaxHolders peers, this node left out. The count is the
// content's rarity as this node sees it.
func (n *Node) FindHolders(ctx context.Context, key Key) ([]peer.AddrInfo, error) {
	fctx, cancel := context.WithTimeout(ctx, n.lim.FindTimeout)
	defer cancel()
	// Provider records outlive their holders (48 h): collect a few times
	// the holders wanted and keep those this node is connected to first,
	// so records of holders that are gone cannot crowd out live ones.
	var out []peer.AddrInfo
	for ai := range n.dht.FindProvidersAsync(fctx, key.CID(), holderSearch*n.lim.MaxHolders+1) {
		if ai.ID == n.host.ID() || len(out) >= holderSearch*n.lim.MaxHolders {
			continue
		}
		out = append(out, ai)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	connected := func(ai peer.AddrInfo) bool {
		return n.host.Network().Connectedness(ai.ID) == network.Connected
	}
	slices.SortStableFunc(out, func(a, b peer.AddrInfo) int {
		switch ca, cb := connected(a), connected(b); {
		case ca && !cb:
			return -1
		case cb && !ca:
			return 1
		}
		return 0
	})
	return out[:min(len(out), n.lim.MaxHolders)], nil
}

// holderSearch is how many times Limits.MaxHolders a search collects
// before keeping the connected ones first.
const holderSearch = 4

// attempt asks one holder for key. A delivered payload comes back with
// Result Verified, for the caller to check.
func (n *Node) attempt(ctx context.Context, h peer.AddrInfo, key Key) (Transfer, []byte) {
	start := n.clock.Now()
	t := Transfer{Peer: h.ID, Direction: In, Key: key, At: start}
	fail := func(r Result, err error) (Transfer, []byte) {
		t.Result, t.Err, t.Latency = r, err, n.clock.Now().Sub(start)
		return t, nil
	}
	ctx, cancel := context.WithTimeout(ctx, n.lim.FetchTimeout)
	defer cancel()
	release, err := n.guard.admitOutbound(ctx, h.ID)
	if err != nil {
		return fail(Failed, err)
	}
	defer release()
	if len(h.Addrs) > 0 {
		n.host.Peerstore().AddAddrs(h.ID, h.Addrs, peerstore.TempAddrTTL)
	}
	s, err := n.host.NewStream(ctx, h.ID, ContentProtocol)
	if err != nil {
		return fail(Failed, err)
	}
	defer context.AfterFunc(ctx, func() { _ = s.Reset() })()
	_ = s.SetWriteDeadline(time.Now().Add(n.lim.IdleTimeout))
	if _, err := s.Write(AppendRequest(make([]byte, 0, RequestSize), key)); err != nil {
		_ = s.Reset()
		return fail(Failed, err)
	}
	_ = s.CloseWrite()
	resp, err := ReadResponse(idleReader{s: s, idle: n.lim.IdleTimeout}, key.Kind, func(size int) error {
		return s.Scope().ReserveMemory(size, network.ReservationPriorityAlways)
	})
	if err != nil {
		_ = s.Reset()
		if errors.Is(err, ErrFrame) {
			weight := offenceMalformed
			if errors.Is(err, ErrOversized) {
				weight = offenceOversized
			}
			n.guard.offend(h.ID, weight, err.Error())
			return fail(Lie, err)
		}
		return fail(Failed, err)
	}
	_ = s.Close()
	switch resp.Code {
	case CodeOK:
		n.guard.answered(h.ID)
		t.Result, t.Bytes, t.Latency = Verified, len(resp.Payload), n.clock.Now().Sub(start)
		return t, resp.Payload
	case CodeNotHeld:
		n.guard.answered(h.ID)
		return fail(NotHeld, refusal(resp))
	case CodeEvicted:
		n.guard.answered(h.ID)
		t.EvictedAt = resp.EvictedAt
		return fail(Evicted, fmt.Errorf("evicted at %s", resp.EvictedAt.UTC().Format(time.RFC3339)))
	case CodeBusy, CodeLowStanding:
		n.guard.busy(h.ID)
		return fail(Refused, refusal(resp))
	}
	return fail(Failed, refusal(resp))
}

// refusal is a non-OK response as an error.
func refusal(r Response) error {
	return &Refusal{Code: r.Code, Reason: string(r.Payload)}
}

// idleReader renews the stream's read deadline before every read, so a
// holder that stalls is dropped after idle, whatever the payload's size.
type idleReader struct {
	s    network.Stream
	idle time.Duration
}

func (r idleReader) Read(b []byte) (int, error) {
	_ = r.s.SetReadDeadline(time.Now().Add(r.idle))
	return r.s.Read(b)
}

var _ io.Reader = idleReader{}
