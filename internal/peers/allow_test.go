package peers

import (
	"context"
	"strings"
	"testing"
)

// TestAllowList: a node with an allow-list talks to the peers on it and
// refuses any other, whichever side dials.
func TestAllowList(t *testing.T) {
	friend := startNode(t, loopback(t))
	stranger := startNode(t, loopback(t))
	o := loopback(t)
	o.Allow = []string{friend.ID().String()}
	o.Holder = openStore(t)
	guarded := startNode(t, o)
	key := Key{Header, busyBlock(t).Hash()}

	resp, err := ask(friend, guarded, key)
	if err != nil || resp.Code != CodeNotHeld {
		t.Fatalf("friend: %v, %v", resp.Code, err)
	}
	if _, err := ask(stranger, guarded, key); err == nil {
		t.Fatal("a stranger was answered")
	}
	if err := guarded.Connect(context.Background(), stranger.Addrs()[0]); err == nil {
		t.Fatal("dialled a stranger")
	}
	if s, ok := guarded.Tally().Peer(stranger.ID()); ok {
		t.Fatalf("a stranger reached the tally: %+v", s)
	}
}

// TestOptionsErrors: bad addresses and a bootstrap peer off the
// allow-list are errors that name the problem.
func TestOptionsErrors(t *testing.T) {
	other := startNode(t, loopback(t))
	for _, tc := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.Listen = nil }, "no listen address"},
		{func(o *Options) { o.Listen = []string{"127.0.0.1:4001"} }, "listen address"},
		{func(o *Options) { o.Bootstrap = []string{"/ip4/127.0.0.1/tcp/1"} }, "/p2p/<peer id>"},
		{func(o *Options) { o.Allow = []string{"nobody"} }, "allow"},
		{func(o *Options) {
			o.Allow = []string{other.ID().String()}
			o.Bootstrap = []string{"/ip4/127.0.0.1/tcp/1/p2p/12D3KooWGC6TvWhfapngX6wvJHMYvKpDMXPb3ZnCZ6dMoaMtimQ5"}
		}, "not in the allow-list"},
		{func(o *Options) { o.DialRanges = []string{"localhost"} }, "dial range"},
	} {
		o := loopback(t)
		tc.edit(&o)
		n, err := New(o)
		if err == nil {
			n.Close()
			t.Fatalf("%s: no error", tc.want)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("error %q does not say %q", err, tc.want)
		}
	}
}
