package peers

import (
	"context"
	"errors"
	"fmt"
	"testing"

	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	"github.com/multiformats/go-multiaddr"
)

func TestRecordsAreBounded(t *testing.T) {
	ctx := context.Background()
	r := newRecords(1000)
	val := make([]byte, 90)
	var refused int
	for i := range 100 {
		if err := r.Put(ctx, ds.NewKey(fmt.Sprint("/providers/", i)), val); errors.Is(err, errRecordsFull) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	size, n := r.stats()
	if size > 1000 || refused == 0 || n != int64(refused) {
		t.Fatalf("size %d, refused %d (counted %d)", size, refused, n)
	}
	// Overwriting and deleting keep the count exact; a batch is bounded.
	k := ds.NewKey("/providers/0")
	if err := r.Put(ctx, k, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	b, _ := r.Batch(ctx)
	for i := range 100 {
		b.Put(ctx, ds.NewKey(fmt.Sprint("/b/", i)), val)
	}
	if err := b.Commit(ctx); !errors.Is(err, errRecordsFull) {
		t.Fatalf("batch over the bound: %v", err)
	}
	if size, _ := r.stats(); size > 1000 {
		t.Fatalf("size %d after the batch", size)
	}
	var sum int64
	res, _ := r.Query(ctx, query.Query{})
	for e := range res.Next() {
		sum += int64(len(e.Key) + len(e.Value))
	}
	if size, _ := r.stats(); size != sum {
		t.Fatalf("accounted %d, held %d", size, sum)
	}
}

func TestGateDialRanges(t *testing.T) {
	o := Options{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DialRanges: []string{"127.0.0.0/8", "::1/128"}}
	p, err := o.parse()
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ranges: p.ranges, guard: newGuard(nil, DefaultLimits, nil)}
	for addr, want := range map[string]bool{
		"/ip4/127.0.0.1/tcp/4001":           true,
		"/ip4/127.9.9.9/udp/1/quic-v1":      true,
		"/ip6/::1/tcp/4001":                 true,
		"/ip4/10.0.0.1/tcp/4001":            false,
		"/ip4/192.0.2.1/tcp/4001":           false,
		"/dns4/localhost/tcp/4001":          false,
		"/ip6/::ffff:127.0.0.1/tcp/4001":    true,
		"/ip6/2001:db8::1/udp/4001/quic-v1": false,
	} {
		if got := g.InterceptAddrDial("", multiaddr.StringCast(addr)); got != want {
			t.Errorf("dial %s: %v, want %v", addr, got, want)
		}
	}
	if got := g.filterAddrs([]multiaddr.Multiaddr{multiaddr.StringCast("/ip4/10.0.0.1/tcp/1"), multiaddr.StringCast("/ip4/127.0.0.1/tcp/1")}); len(got) != 1 {
		t.Fatalf("filter kept %v", got)
	}
}
