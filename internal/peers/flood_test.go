package peers

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
)

// heapInUse is the heap in use after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// maxGrowth is the heap growth a flood may cause, generously: far below
// what serving or buffering the flood would take.
const maxGrowth = 64 << 20

// victimAndAttacker starts a victim (on a fake clock: its token buckets do
// not refill, its scores do not decay) and an attacker connected to it.
func victimAndAttacker(t *testing.T, lim Limits) (victim, attacker *Node) {
	t.Helper()
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	nodes := cluster(t, 2, func(i int, o *Options) {
		if i == 0 {
			o.Clock, o.Limits = fake, lim
			o.Holder = openStore(t)
		}
	})
	return nodes[0], nodes[1]
}

// TestRequestFloodIsCutOff: a peer sending requests as fast as it can is
// served its burst, told busy, then banned and disconnected, and the
// victim's heap does not grow with the flood.
func TestRequestFloodIsCutOff(t *testing.T) {
	victim, attacker := victimAndAttacker(t, Limits{Rate: 10, Burst: 20})
	before := heapInUse()
	key := Key{Body, common.Hash{1}}
	var served, busy, cut int
	for i := 0; i < 1000 && cut == 0; i++ {
		resp, err := ask(attacker, victim, key)
		switch {
		case err != nil:
			cut++
		case resp.Code == CodeBusy:
			busy++
		default:
			served++
		}
	}
	t.Logf("served %d, busy %d, then cut off", served, busy)
	if cut == 0 {
		t.Fatal("a flooding peer was never cut off")
	}
	if served != 20 || busy > 120 {
		t.Fatalf("served %d (want the burst, 20), busy %d (want at most a burst of debt and 100 offences)", served, busy)
	}
	if !victim.guard.banned(attacker.ID()) {
		t.Fatal("flooder not banned")
	}
	if _, err := ask(attacker, victim, key); err == nil {
		t.Fatal("a banned flooder was answered")
	}
	if grown := heapInUse() - before; grown > maxGrowth {
		t.Fatalf("heap grew %d bytes", grown)
	}
}

// TestStreamFloodIsCutOff: a peer opening hundreds of streams at once,
// each idle (never sending its request), gets its stream cap; the rest
// are refused or reset, it is banned, and every stream goroutine ends.
func TestStreamFloodIsCutOff(t *testing.T) {
	victim, _ := victimAndAttacker(t, Limits{StreamsPerPeer: 4, RequestTimeout: time.Minute})
	attacker := rawHost(t) // no limits of its own on what it opens
	before, goroutines := heapInUse(), runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := attacker.Connect(ctx, peer.AddrInfo{ID: victim.ID(), Addrs: victim.host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		streams []network.Stream
	)
	for range 300 {
		wg.Go(func() {
			s, err := attacker.NewStream(ctx, victim.ID(), ContentProtocol)
			if err != nil {
				return
			}
			s.Write([]byte{byte(Body)}) // a third of a request, then nothing
			mu.Lock()
			streams = append(streams, s)
			mu.Unlock()
		})
	}
	wg.Wait()
	await.Within(t, peerWait, "the flooder banned", func() bool { return victim.guard.banned(attacker.ID()) })
	t.Logf("%d streams opened", len(streams))
	await.Within(t, peerWait, "the flooder disconnected", func() bool {
		return victim.host.Network().Connectedness(attacker.ID()) != network.Connected
	})
	for _, s := range streams {
		s.Reset()
	}
	await.Within(t, peerWait, "stream goroutines to end", func() bool { return runtime.NumGoroutine() < goroutines+50 })
	if grown := heapInUse() - before; grown > maxGrowth {
		t.Fatalf("heap grew %d bytes", grown)
	}
}

// TestOversizedResponseIsCutOff: a holder announcing a payload over the
// kind's bound is cut off before the payload is read, its lie recorded and
// it is banned at once; the fetch goes on to an honest holder.
func TestOversizedResponseIsCutOff(t *testing.T) {
	b := busyBlock(t)
	store := openStore(t)
	storeBlock(t, store, b)
	nodes := cluster(t, 3, func(i int, o *Options) { o.Holder = store })
	fetcher, big, honest := nodes[0], nodes[1], nodes[2]
	big.host.SetStreamHandler(ContentProtocol, func(s network.Stream) {
		defer s.Reset()
		if _, err := ReadRequest(s); err != nil {
			return
		}
		s.Write(AppendResponseHeader(nil, CodeOK, 1<<30))
		junk := make([]byte, 64<<10)
		for range 64 { // up to 4 MiB, if the fetcher kept reading
			if _, err := s.Write(junk); err != nil {
				return
			}
		}
	})
	key := Key{Body, b.Hash()}
	big.Provide(key)
	honest.Provide(key)
	waitHolders(t, fetcher, key, 2)
	prefer(fetcher, big.ID())
	before := heapInUse()
	data, tr, err := fetcher.Fetch(context.Background(), key, Age{}, CheckBody(b.Header))
	if err != nil || tr.Peer != honest.ID() || len(data) != len(b.BodyRLP) {
		t.Fatalf("fetch: %v from %s", err, tr.Peer)
	}
	if s, _ := fetcher.Tally().Peer(big.ID()); s.Lies != 1 {
		t.Fatalf("oversized holder's tally %+v", s)
	}
	if !fetcher.guard.banned(big.ID()) {
		t.Fatal("oversized holder not banned")
	}
	if grown := heapInUse() - before; grown > maxGrowth {
		t.Fatalf("heap grew %d bytes", grown)
	}
}

// TestGarbageAtTheBoundIsALie: a holder sending a full-size payload of
// junk costs one payload's memory while read, then it is a lie.
func TestGarbageAtTheBoundIsALie(t *testing.T) {
	b := busyBlock(t)
	nodes := cluster(t, 2, nil)
	fetcher, junk := nodes[0], nodes[1]
	junk.host.SetStreamHandler(ContentProtocol, func(s network.Stream) {
		defer s.Close()
		k, err := ReadRequest(s)
		if err != nil {
			return
		}
		s.Write(AppendResponseHeader(nil, CodeOK, k.Kind.MaxSize()))
		s.Write(make([]byte, k.Kind.MaxSize()))
	})
	key := Key{Receipts, b.Hash()}
	junk.Provide(key)
	waitHolders(t, fetcher, key, 1)
	_, _, err := fetcher.Fetch(context.Background(), key, Age{}, checkFor(b, Receipts))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if s, _ := fetcher.Tally().Peer(junk.ID()); s.Lies != 1 || s.In.Bytes != 0 {
		t.Fatalf("junk holder's tally %+v", s)
	}
}

// TestMalformedRequestsAreCutOff: requests of an unknown kind, or a
// megabyte of junk, are answered with an error without being read past
// the request's 33 bytes, and a peer sending them is banned.
func TestMalformedRequestsAreCutOff(t *testing.T) {
	victim, attacker := victimAndAttacker(t, Limits{})
	before := heapInUse()
	junk := make([]byte, 1<<20)
	for i := range junk {
		junk[i] = 0xff // kind 255
	}
	var answered int
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := attacker.host.NewStream(ctx, victim.ID(), ContentProtocol)
		cancel()
		if err != nil {
			break
		}
		s.SetDeadline(time.Now().Add(10 * time.Second))
		go s.Write(junk) // blocks once the victim stops reading
		resp, err := ReadResponse(s, Body, nil)
		s.Reset()
		if err != nil {
			break
		}
		if resp.Code != CodeError {
			t.Fatalf("answered %s", resp.Code)
		}
		answered++
	}
	if answered == 0 || answered > 4 {
		t.Fatalf("answered %d malformed requests, want 1 to 4 before the ban", answered)
	}
	await.Within(t, peerWait, "the sender banned", func() bool { return victim.guard.banned(attacker.ID()) })
	if grown := heapInUse() - before; grown > maxGrowth {
		t.Fatalf("heap grew %d bytes", grown)
	}
}

// TestHeavyHonestFetcherIsNotBanned: a braid node fetching far faster
// than a holder's rate allows is told busy, backs off and retries, and is
// never banned; every fetch succeeds.
func TestHeavyHonestFetcherIsNotBanned(t *testing.T) {
	b := busyBlock(t)
	store := openStore(t)
	storeBlock(t, store, b)
	nodes := cluster(t, 2, func(i int, o *Options) {
		if i == 1 {
			o.Holder, o.Limits = store, Limits{Rate: 20, Burst: 4, StreamsPerPeer: 2}
		}
	})
	fetcher, holder := nodes[0], nodes[1]
	key := Key{Header, b.Hash()}
	holder.Provide(key)
	waitHolders(t, fetcher, key, 1)
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for range 60 {
		wg.Go(func() {
			_, _, err := fetcher.Fetch(context.Background(), key, Age{}, CheckHeader(b.Hash()))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	var failed int
	for err := range errs {
		if err != nil {
			failed++
			t.Log(err)
		}
	}
	if holder.guard.banned(fetcher.ID()) {
		t.Fatal("an honest fetcher was banned")
	}
	s, _ := holder.Tally().Peer(fetcher.ID())
	t.Logf("served %d, refused %d, failed fetches %d", s.Out.Transfers, s.Refused, failed)
	if failed > 0 {
		t.Fatalf("%d fetches failed", failed)
	}
}
