package ledger

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/peers"
)

// TestPrice: bytes × age factor (×5 from depth 128, Lava's latest−127) ×
// rarity factor (8 copies or more ×1, one copy ×8, capped).
func TestPrice(t *testing.T) {
	c := Config{}.WithDefaults()
	capped := Config{RarityCap: 3}.WithDefaults()
	newAge := peers.Age{Number: 900, Depth: 127, Known: true}
	oldAge := peers.Age{Number: 872, Depth: 128, Known: true}
	for _, tc := range []struct {
		name   string
		c      Config
		bytes  int
		age    peers.Age
		copies float64
		want   float64
	}{
		{"new, common", c, 1000, newAge, 8, 1000},
		{"new, very common", c, 1000, newAge, 16, 1000},
		{"old, common", c, 1000, oldAge, 8, 5000},
		{"age unknown", c, 1000, peers.Age{}, 8, 1000},
		{"new, two copies", c, 1000, newAge, 2, 4000},
		{"old, only copy", c, 1000, oldAge, 1, 40000},
		{"old, every holder discounted", c, 1000, oldAge, 0.2, 40000},
		{"old, NaN copies", c, 1000, oldAge, math.NaN(), 40000},
		{"rarity capped", capped, 1000, oldAge, 1, 15000},
		{"no bytes", c, 0, oldAge, 1, 0},
		{"negative bytes", c, -5, oldAge, 1, 0},
	} {
		if got := price(&tc.c, tc.bytes, tc.age, tc.copies); got != tc.want {
			t.Errorf("%s: price %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestBuckets: depths fall in the buckets their names say.
func TestBuckets(t *testing.T) {
	c := Config{}.WithDefaults()
	names := bucketNames(&c)
	want := []string{"unknown", "0-127", "128-7199", "7200-215999", "216000-2627999", "2628000+"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("names %v", names)
	}
	for depth, b := range map[uint64]int{0: 1, 127: 1, 128: 2, 7199: 2, 7200: 3, 2627999: 4, 2628000: 5, 1 << 40: 5} {
		if got := bucket(&c, peers.Age{Depth: depth, Known: true}); got != b {
			t.Errorf("depth %d: bucket %d (%s), want %d", depth, got, names[got], b)
		}
	}
	if bucket(&c, peers.Age{Depth: 500}) != 0 {
		t.Error("unknown age not in bucket 0")
	}
}

// TestConfigValidate: defaults validate; nonsense is refused with the key
// named.
func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
	for want, c := range map[string]Config{
		"age_multiplier": {AgeMultiplier: 0.5},
		"rarity_cap":     {RarityCap: 0.5},
		"debt_limit":     {DebtLimit: -1},
		"forgive_rate":   {ForgiveRate: math.Inf(1)},
		"capacity":       {Capacity: -1},
		"age_buckets":    {AgeBuckets: []uint64{200, 100}},
	} {
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: error %v, want one naming %s", c, err, want)
		}
	}
	if _, err := New(Options{Config: Config{Capacity: -1}}); err == nil {
		t.Error("New took a bad config")
	}
}

// TestArithmetic: a verified delivery credits its price, priced by the
// rarity its fetch saw (holders weighed by standing); serving charges;
// a lie and a miss cost their penalties; a refusal costs nothing; flows
// land in their age buckets.
func TestArithmetic(t *testing.T) {
	e := newEnv(t, Config{})
	l, p := e.l, id(1)
	c := l.Config()
	// The fetch of block 100 (old) found p and one other: 2 copies, ×4.
	l.Rank(key(peers.Receipts, 100), e.age(100), []peer.ID{p, id(2)})
	l.Delivered(e.delivered(p, 100, 1000))
	want := 1000 * 5 * 4.0
	if got := l.Balance(p); got != want {
		t.Fatalf("after an old delivery of 2 copies: %v, want %v", got, want)
	}
	// New content, common (its fetch found 10 holders).
	l.Rank(key(peers.Receipts, testHead-5), e.age(testHead-5), ids10())
	l.Delivered(e.delivered(p, testHead-5, 2000))
	want += 2000
	// This node serves p 3000 bytes of new content it never counted
	// holders of: UnknownCopies (4), ×2.
	l.Served(e.served(p, testHead-1, 3000))
	want -= 3000 * 2
	l.Lied(peers.Transfer{Peer: p, Direction: peers.In, Result: peers.Lie})
	want -= c.LiePenalty
	l.Missed(peers.Transfer{Peer: p, Direction: peers.In, Result: peers.NotHeld})
	l.Missed(peers.Transfer{Peer: p, Direction: peers.In, Result: peers.Failed})
	want -= 2 * c.MissPenalty
	l.Missed(peers.Transfer{Peer: p, Direction: peers.In, Result: peers.Refused}) // free
	l.Served(peers.Transfer{Peer: p, Direction: peers.Out, Result: peers.NotHeld, Bytes: 99})
	if got := l.Balance(p); got != want {
		t.Fatalf("balance %v, want %v", got, want)
	}
	s, _ := l.Peer(p)
	if s.Lies != 1 || s.Misses != 2 || s.Penalties != c.LiePenalty+2*c.MissPenalty {
		t.Fatalf("counts %+v", s)
	}
	if s.Received[3].Bytes != 1000 || s.Received[3].Credits != 20000 || s.Received[1].Bytes != 2000 ||
		s.Served[1].Bytes != 3000 || s.Served[1].Transfers != 1 {
		t.Fatalf("flows: received %+v served %+v", s.Received, s.Served)
	}
	if s.Standing >= 1 {
		t.Fatalf("a liar stands at %v", s.Standing)
	}
}

func ids10() []peer.ID {
	out := make([]peer.ID, 10)
	for i := range out {
		out[i] = id(100 + i)
	}
	return out
}

// TestForgiveness: debt is forgiven at ForgiveRate per second on the
// injected clock, down to zero; credit does not decay.
func TestForgiveness(t *testing.T) {
	e := newEnv(t, Config{ForgiveRate: 100})
	l := e.l
	debtor, giver := id(1), id(2)
	l.Served(e.served(debtor, testHead-1, 1000)) // unknown copies: ×2
	l.Rank(key(peers.Receipts, testHead-2), e.age(testHead-2), ids10())
	l.Delivered(e.delivered(giver, testHead-2, 500))
	if got := l.Balance(debtor); got != -2000 {
		t.Fatalf("debt %v", got)
	}
	e.clk.Advance(5 * time.Second)
	if got := l.Balance(debtor); got != -1500 {
		t.Fatalf("after 5 s: %v, want -1500", got)
	}
	e.clk.Advance(time.Hour)
	if got := l.Balance(debtor); got != 0 {
		t.Fatalf("after an hour: %v, want 0", got)
	}
	if got := l.Balance(giver); got != 500 {
		t.Fatalf("credit decayed: %v", got)
	}
	s, _ := l.Peer(debtor)
	if s.Forgiven != 2000 {
		t.Fatalf("forgiven %v", s.Forgiven)
	}
}

// TestStanding: audits passed raise standing, failed audits and lies
// lower it, and Rank puts low standing last while keeping the order of
// equals; the holders' weights are the content's copies.
func TestStanding(t *testing.T) {
	e := newEnv(t, Config{})
	l := e.l
	a, b, c, d := id(1), id(2), id(3), id(4)
	l.recordAudit(Audit{Peer: b, Outcome: Missing})
	l.recordAudit(Audit{Peer: c, Outcome: Passed})
	l.recordAudit(Audit{Peer: c, Outcome: Missing})
	l.Lied(peers.Transfer{Peer: d, Direction: peers.In, Result: peers.Lie})
	for p, want := range map[peer.ID]float64{a: 1, b: 1.0 / 3, c: 2.0 / 4, d: 1.0 / 5} {
		if got := l.Standing(p); math.Abs(got-want) > 1e-12 {
			t.Errorf("standing of %s: %v, want %v", p, got, want)
		}
	}
	k := key(peers.Body, 50)
	got := l.Rank(k, e.age(50), []peer.ID{d, b, a, c, id(5)})
	want := []peer.ID{a, id(5), c, b, d}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("rank %v, want %v", got, want)
		}
	}
	l.mu.Lock()
	copies, _ := l.found.get(k.Hash)
	l.mu.Unlock()
	if want := 1 + 1 + 0.5 + 1.0/3 + 0.2; math.Abs(copies-want) > 1e-9 {
		t.Fatalf("weighed copies %v, want %v", copies, want)
	}
}

// TestNotHeldWeighsOnStanding: a fetch answered "not held" by a peer
// found advertising the content lowers its standing by MissWeight; one
// that failed (offline) or was refused (busy) does not.
func TestNotHeldWeighsOnStanding(t *testing.T) {
	e := newEnv(t, Config{})
	l := e.l
	fake, offline := id(1), id(2)
	l.Missed(peers.Transfer{Peer: fake, Direction: peers.In, Result: peers.NotHeld})
	l.Missed(peers.Transfer{Peer: fake, Direction: peers.In, Result: peers.NotHeld})
	l.Missed(peers.Transfer{Peer: offline, Direction: peers.In, Result: peers.Failed})
	l.Missed(peers.Transfer{Peer: offline, Direction: peers.In, Result: peers.Refused})
	if got := l.Standing(fake); math.Abs(got-1.0/2) > 1e-12 {
		t.Fatalf("standing after two misses: %v, want 1/(1+2·0.5)", got)
	}
	if got := l.Standing(offline); got != 1 {
		t.Fatalf("an offline peer's standing: %v", got)
	}
	if s, _ := l.Peer(fake); s.NotHeld != 2 || s.Misses != 2 {
		t.Fatalf("counts %+v", s)
	}
}

// TestFoundSetRing: the rarity counts of fetched content are kept for the
// latest size keys, the oldest forgotten first, a key put again updated
// in place; the ring grows only as keys come.
func TestFoundSetRing(t *testing.T) {
	f := newFoundSet(3)
	if cap(f.ring) != 0 {
		t.Fatalf("an empty set holds a ring of %d", cap(f.ring))
	}
	h := func(i byte) common.Hash { return common.Hash{i} }
	for i := byte(1); i <= 3; i++ {
		f.put(h(i), float64(i))
	}
	f.put(h(2), 20) // updated, not added
	f.put(h(4), 4)  // forgets h(1), the oldest
	if _, ok := f.get(h(1)); ok {
		t.Fatal("the oldest key was kept past the ring's size")
	}
	for i, want := range map[byte]float64{2: 20, 3: 3, 4: 4} {
		if got, ok := f.get(h(i)); !ok || got != want {
			t.Errorf("key %d: %v %v, want %v", i, got, ok, want)
		}
	}
	f.put(h(5), 5) // forgets h(2)
	if _, ok := f.get(h(2)); ok || len(f.m) != 3 || len(f.ring) != 3 {
		t.Fatalf("after a second wrap: %d keys, ring %d", len(f.m), len(f.ring))
	}
}
