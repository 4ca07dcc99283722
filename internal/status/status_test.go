package status

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/head"
	"github.com/braidrpc/braid/internal/upstream"
)

// fakeHeads knows one upstream's heads.
type fakeHeads struct{ known string }

func (f fakeHeads) Heads(u *upstream.Upstream) (head.Heads, bool) {
	return head.Heads{Latest: block.Block{Number: 7}}, u.Name == f.known
}
func (f fakeHeads) Lag(u *upstream.Upstream) (uint64, bool) { return 2, u.Name == f.known }
func (f fakeHeads) BehindHighest(u *upstream.Upstream) (uint64, bool) {
	return 3, u.Name == f.known
}

// An upstream's snapshot shows its URL without secrets, its depth, and
// its heads only when the tracker knows them.
func TestUpstreamOf(t *testing.T) {
	u := upstream.New(config.Upstream{Name: "a", Operator: "op", URL: "http://user:pw@127.0.0.1:1/secret-key?k=v", Archive: true},
		upstream.Options{Network: "n"})
	defer u.Close()
	s := UpstreamOf(u, fakeHeads{known: "a"})
	if s.Name != "a" || s.Operator != "op" || s.Head == nil || s.Head.Latest.Number != 7 || *s.LagBlocks != 2 || *s.BehindHighest != 3 {
		t.Fatalf("snapshot %+v", s)
	}
	b, _ := json.Marshal(s)
	for _, secret := range []string{"secret-key", "pw", "k=v"} {
		if strings.Contains(string(b), secret) {
			t.Fatalf("snapshot shows %q: %s", secret, b)
		}
	}
	if s := UpstreamOf(u, fakeHeads{}); s.Head != nil || s.LagBlocks != nil || s.BehindHighest != nil {
		t.Fatalf("unknown heads shown: %+v", s)
	}
}

func TestCacheOfAndRound3(t *testing.T) {
	if c := CacheOf(0, 0); c.HitRate != 0 {
		t.Fatalf("no lookups: %+v", c)
	}
	if c := CacheOf(1, 2); c.HitRate != 0.333 {
		t.Fatalf("1 of 3: %+v", c)
	}
	if Round3(math.NaN()) != 0 || Round3(math.Inf(1)) != 0 || Round3(1.23456) != 1.235 {
		t.Fatal("Round3")
	}
	if depthString(upstream.Unlimited) != "unlimited" || depthString(128) != "128 blocks" {
		t.Fatal("depthString")
	}
}
