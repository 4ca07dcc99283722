package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/peers"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// env is a ledger on a fake clock and a fixed head.
type env struct {
	clk  *clock.Fake
	head uint64
	l    *Ledger
}

const testHead = 10_000

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	e := &env{clk: clock.NewFake(epoch), head: testHead}
	l, err := New(e.opts(cfg))
	if err != nil {
		t.Fatal(err)
	}
	e.l = l
	t.Cleanup(func() { l.Close() })
	return e
}

func (e *env) opts(cfg Config) Options {
	return Options{Config: cfg, Clock: e.clk, Rand: rand.New(rand.NewPCG(1, 2)),
		Head: func() (uint64, bool) { return e.head, true }}
}

// age is the age of block n at the env's head.
func (e *env) age(n uint64) peers.Age { return peers.Age{Number: n, Depth: e.head - n, Known: true} }

// id is a test peer id.
func id(n int) peer.ID {
	h, err := multihash.Sum([]byte(fmt.Sprintf("peer-%03d", n)), multihash.IDENTITY, -1)
	if err != nil {
		panic(err)
	}
	return peer.ID(h)
}

// key is a key of kind k for block n of the synthetic chain.
func key(k peers.Kind, n uint64) peers.Key { return peers.Key{Kind: k, Hash: synthHeader(n).Hash()} }

// delivered is a verified delivery of bytes of block n from p.
func (e *env) delivered(p peer.ID, n uint64, bytes int) peers.Transfer {
	return peers.Transfer{Peer: p, Direction: peers.In, Key: key(peers.Receipts, n), Result: peers.Verified,
		Bytes: bytes, Age: e.age(n), At: e.clk.Now()}
}

// served is a request this node served p: bytes of block n.
func (e *env) served(p peer.ID, n uint64, bytes int) peers.Transfer {
	return peers.Transfer{Peer: p, Direction: peers.Out, Key: key(peers.Receipts, n), Result: peers.Served,
		Bytes: bytes, Age: e.age(n), At: e.clk.Now()}
}

// synthHeader is block n of a synthetic chain of empty blocks: its body
// and receipts are checkable against it.
func synthHeader(n uint64) *types.Header {
	return &types.Header{Number: new(big.Int).SetUint64(n), Difficulty: big.NewInt(0), GasLimit: 30_000_000,
		Time: 1_700_000_000 + 12*n, TxHash: types.EmptyTxsHash, ReceiptHash: types.EmptyReceiptsHash,
		UncleHash: types.EmptyUncleHash, Root: types.EmptyRootHash, Extra: []byte("braid-test")}
}

type synthHeaders struct{}

func (synthHeaders) Header(_ context.Context, n uint64) (*types.Header, error) {
	return synthHeader(n), nil
}

// content is what an honest holder of the synthetic chain sends.
func content(k peers.Kind, n uint64) []byte {
	switch k {
	case peers.Header:
		b, _ := rlp.EncodeToBytes(synthHeader(n))
		return b
	case peers.Body:
		b, _ := rlp.EncodeToBytes(&types.Body{})
		return b
	}
	return []byte{0xc0} // no receipts
}

// fakeNet is a peer network in memory: who holds what, how each peer
// behaves, and the auditor's ledger told of every transfer as a peers.Node
// tells it.
type fakeNet struct {
	l      *Ledger
	mu     sync.Mutex
	hold   map[peers.Key][]peer.ID
	behave map[peer.ID]string // honest (default), dropped, evicted, liar, offline, busy
	number map[common.Hash]uint64
	asked  []peers.Key
}

func newFakeNet(l *Ledger) *fakeNet {
	return &fakeNet{l: l, hold: map[peers.Key][]peer.ID{}, behave: map[peer.ID]string{}, number: map[common.Hash]uint64{}}
}

// advertise makes ps announce every kind of block n.
func (f *fakeNet) advertise(n uint64, ps ...peer.ID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range peers.Kinds {
		f.hold[key(k, n)] = append(f.hold[key(k, n)], ps...)
	}
	f.number[synthHeader(n).Hash()] = n
}

func (f *fakeNet) FindHolders(_ context.Context, k peers.Key) ([]peer.AddrInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []peer.AddrInfo
	for _, p := range f.hold[k] {
		out = append(out, peer.AddrInfo{ID: p})
	}
	return out, nil
}

var errUnavailable = errors.New("unavailable")

func (f *fakeNet) FetchFrom(_ context.Context, p peer.ID, k peers.Key, age peers.Age, check peers.Check) ([]byte, peers.Transfer, error) {
	f.mu.Lock()
	f.asked = append(f.asked, k)
	b := f.behave[p]
	n := f.number[k.Hash]
	f.mu.Unlock()
	t := peers.Transfer{Peer: p, Direction: peers.In, Key: k, Age: age, At: f.l.now()}
	switch b {
	case "dropped":
		t.Result = peers.NotHeld
	case "evicted":
		t.Result, t.EvictedAt = peers.Evicted, f.l.now().Add(-time.Hour)
	case "offline":
		t.Result, t.Err = peers.Failed, context.DeadlineExceeded
	case "busy":
		t.Result = peers.Refused
	case "liar":
		data := append(content(k.Kind, n), 0x01)
		t.Bytes, t.Result, t.Err = len(data), peers.Lie, check(data)
		f.l.Lied(t)
		return nil, t, errUnavailable
	default:
		data := content(k.Kind, n)
		if err := check(data); err != nil {
			return nil, t, err
		}
		t.Bytes, t.Result = len(data), peers.Verified
		f.l.Delivered(t)
		return data, t, nil
	}
	f.l.Missed(t)
	return nil, t, errUnavailable
}
