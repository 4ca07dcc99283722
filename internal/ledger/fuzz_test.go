package ledger

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/peers"
)

// FuzzDecodeAccount: any bytes under any key decode to an account whose
// values are finite and bounded, or to an error; never a panic. What
// decodes encodes and decodes again to the same account.
func FuzzDecodeAccount(f *testing.F) {
	c := Config{ClaimsPerPeer: 4}.WithDefaults()
	e := newEnv(f, Config{})
	e.give(id(1), 5000)
	e.take(id(1), 300)
	e.l.Rank(key(peers.Body, 10), e.age(10), []peer.ID{id(1)})
	good, _ := json.Marshal(e.l.accounts[id(1)])
	f.Add([]byte(id(1)), good)
	f.Add([]byte(id(2)), []byte(`{"balance":1e308,"in":[{"transfers":-1}]}`))
	f.Add([]byte(id(3)), []byte(`{"claims":[{"k":9}]}`))
	f.Add([]byte("not an id"), []byte(`{}`))
	f.Add([]byte(id(4)), []byte(`{"in":[{},{},{},{},{},{},{},{},{}],"claims":[{"k":1},{"k":2},{"k":3},{"k":1},{"k":2}]}`))
	f.Fuzz(func(t *testing.T, k, data []byte) {
		_, a, err := decodeAccount(k, data, &c)
		if err != nil {
			return
		}
		if a.check() != nil || len(a.Claims) > c.ClaimsPerPeer || len(a.In) != len(c.AgeBuckets)+2 || len(a.Out) != len(a.In) {
			t.Fatalf("decoded an account out of bounds: %+v", a)
		}
		if s := a.standing(&c); !(s > 0 && s <= 1) {
			t.Fatalf("standing %v", s)
		}
		again, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := decodeAccount(k, again, &c); err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
	})
}

// FuzzDecodeHeld: any bytes decode to a held block's rarity with finite,
// non-negative copies, or to an error.
func FuzzDecodeHeld(f *testing.F) {
	good, _ := json.Marshal(heldEntry{Number: 5, Parts: 7, Copies: 2.5, Raw: 3, Sampled: epoch})
	f.Add(good)
	f.Add([]byte(`{"c":-1}`))
	f.Add([]byte(`{"c":1e309}`))
	f.Add([]byte(`{"s":"99999-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodeHeld(data)
		if err != nil {
			return
		}
		if !finite(e.Copies) || e.Copies < 0 || e.Raw < 0 {
			t.Fatalf("decoded %+v", e)
		}
	})
}

// FuzzDecodeMeta: any bytes decode to the persisted tip and survey with
// sane values (a time, finite non-negative figures, counts within what
// was sampled, a bounded number of buckets), or to an error; what decodes
// prints.
func FuzzDecodeMeta(f *testing.F) {
	head, _ := json.Marshal(headMark{Number: 7, At: epoch})
	sv, _ := json.Marshal(Survey{At: epoch, Head: 9, TargetCopies: 8, Buckets: []SurveyBucket{
		{Name: "0-127", Sampled: 4, MeanHolders: 2, MeanCopies: 1.5, BelowTarget: 4}}})
	f.Add(head)
	f.Add(sv)
	f.Add([]byte(`{"at":"2026-01-01T00:00:00Z","buckets":[{"sampled":1,"none":2}]}`))
	f.Add([]byte(`{"at":"2026-01-01T00:00:00Z","buckets":[{"mean_holders":-1}]}`))
	f.Add([]byte(`{"n":1,"at":"0001-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := decodeHead(data); err == nil && (m.At.IsZero() || m.At.After(farFuture)) {
			t.Fatalf("decoded head %+v", m)
		}
		s, err := decodeSurvey(data)
		if err != nil {
			return
		}
		if len(s.Buckets) > maxSurveyBuckets || s.At.IsZero() || !finite(s.TargetCopies) {
			t.Fatalf("decoded survey %+v", s)
		}
		for _, b := range s.Buckets {
			if b.None > b.Sampled || b.BelowTarget > b.Sampled || b.Sampled < 0 || !finite(b.MeanHolders) || b.MeanHolders < 0 {
				t.Fatalf("decoded survey bucket %+v", b)
			}
		}
		if err := s.WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzTransfers: whatever peers send — deliveries of any size and age,
// lies, misses, refusals, advertisements of any content — in any order,
// balances stay finite and equal to what came in less what went out and
// penalties plus forgiveness; accounts and claims stay within their
// bounds. Each event is 8 bytes: op, peer, kind, a size and a depth.
func FuzzTransfers(f *testing.F) {
	f.Add([]byte{0, 1, 3, 0xff, 0xff, 0xff, 0x7f, 200})
	f.Add([]byte{1, 2, 1, 0, 0, 0, 0, 0, 2, 2, 2, 1, 1, 1, 1, 1, 3, 2, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{4, 9, 2, 10, 0, 0, 0, 255, 5, 9, 2, 0, 0, 0, 0, 3, 6, 9, 2, 0, 0, 0, 0, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		e := newEnv(t, Config{MaxPeers: 8, ClaimsPerPeer: 3, MaxHeld: 4})
		l := e.l
		for len(data) >= 8 {
			ev := data[:8]
			data = data[8:]
			p := id(int(ev[1] % 16))
			n := uint64(ev[7]) * 60
			k := peers.Key{Kind: peers.Kind(ev[2] % 4), Hash: key(peers.Body, n).Hash}
			size := int(int32(binary.LittleEndian.Uint32(ev[3:7])))
			tr := peers.Transfer{Peer: p, Key: k, Bytes: size, Age: e.age(n), Holders: int(ev[6]), At: e.clk.Now()}
			switch ev[0] % 7 {
			case 0:
				tr.Result = peers.Verified
				l.Delivered(tr)
			case 1:
				tr.Result = peers.Lie
				l.Lied(tr)
			case 2:
				tr.Result = peers.Result(ev[3] % 6)
				l.Missed(tr)
			case 3:
				tr.Direction, tr.Result = peers.Out, peers.Served
				l.Served(tr)
			case 4:
				l.Rank(k, e.age(n), []peer.ID{p, id(int(ev[3] % 16))})
			case 5:
				l.recordAudit(Audit{Peer: p, Key: k, Outcome: Outcome(ev[3] % uint8(auditOutcomes))})
			case 6:
				e.clk.Advance(time.Duration(ev[3]) * time.Second)
			}
		}
		checkInvariants(t, l)
	})
}

// checkInvariants fails t if an account's arithmetic or a bound is off.
func checkInvariants(t *testing.T, l *Ledger) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.accounts) > l.cfg.MaxPeers {
		t.Fatalf("%d accounts, max %d", len(l.accounts), l.cfg.MaxPeers)
	}
	for id, a := range l.accounts {
		if err := a.check(); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		want := a.InCredits - a.OutCredits - a.Penalties + a.Forgiven
		if math.Abs(a.Balance-want) > 1e-6*max(1, math.Abs(want)) {
			t.Fatalf("%s: balance %v, want %v", id, a.Balance, want)
		}
		if len(a.Claims) > l.cfg.ClaimsPerPeer {
			t.Fatalf("%s: %d claims", id, len(a.Claims))
		}
	}
}
