package peers

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/history"
)

func TestEvictedRoundTrip(t *testing.T) {
	at := time.Unix(1_800_000_123, 0)
	payload := AppendEvicted(nil, at)
	frame := append(AppendResponseHeader(nil, CodeEvicted, len(payload)), payload...)
	resp, err := ReadResponse(bytes.NewReader(frame), Body, nil)
	if err != nil || resp.Code != CodeEvicted || !resp.EvictedAt.Equal(at) {
		t.Fatalf("got %v at %v: %v", resp.Code, resp.EvictedAt, err)
	}
	for name, bad := range map[string][]byte{
		"short":        append(AppendResponseHeader(nil, CodeEvicted, 7), make([]byte, 7)...),
		"long":         append(AppendResponseHeader(nil, CodeEvicted, 9), make([]byte, 9)...),
		"empty":        AppendResponseHeader(nil, CodeEvicted, 0),
		"out of range": append(AppendResponseHeader(nil, CodeEvicted, 8), 0x80, 0, 0, 0, 0, 0, 0, 0),
		"a reason":     append(AppendResponseHeader(nil, CodeEvicted, 12), "evicted, sir"...),
	} {
		if _, err := ReadResponse(bytes.NewReader(bad), Body, nil); !errors.Is(err, ErrFrame) {
			t.Fatalf("%s: err = %v, want ErrFrame", name, err)
		}
	}
}

// evictor is a Holder that evicted everything of one block at one time
// (as history.Store answers within its tombstone window) and never held
// anything else.
type evictor struct {
	hash common.Hash
	at   time.Time
}

func (evictor) HeaderRLP(common.Hash) ([]byte, bool)   { return nil, false }
func (evictor) BodyRLP(common.Hash) ([]byte, bool)     { return nil, false }
func (evictor) ReceiptsRLP(common.Hash) ([]byte, bool) { return nil, false }
func (e evictor) Evicted(hash common.Hash, _ history.Parts) (time.Time, bool) {
	return e.at, hash == e.hash
}

// TestEvictedHolderIsSkipped: a holder whose provider record outlived the
// content answers "evicted" with the time (not "not held"); a fetch
// records it as Evicted — no lie, no not-held — and asks the next holder,
// which delivers. Content it never held is still "not held".
func TestEvictedHolderIsSkipped(t *testing.T) {
	b := busyBlock(t)
	at := time.Unix(1_800_000_000, 0)
	var book ledger
	nodes := cluster(t, 3, func(i int, o *Options) {
		switch i {
		case 0:
			o.Ledger = &book
		case 1:
			o.Holder = evictor{hash: b.Hash(), at: at}
		case 2:
			s := openStore(t)
			storeBlock(t, s, b)
			o.Holder = s
		}
	})
	fetcher, gone, holder := nodes[0], nodes[1], nodes[2]
	key := Key{Body, b.Hash()}
	resp, err := ask(fetcher, gone, key)
	if err != nil || resp.Code != CodeEvicted || !resp.EvictedAt.Equal(at) {
		t.Fatalf("asked the evicting holder: %v %v: %v", resp.Code, resp.EvictedAt, err)
	}
	if resp, err := ask(fetcher, gone, Key{Body, common.Hash{1}}); err != nil || resp.Code != CodeNotHeld {
		t.Fatalf("content never held: %v: %v", resp.Code, err)
	}
	gone.Provide(key)
	holder.Provide(key)
	waitHolders(t, fetcher, key, 2)
	prefer(fetcher, gone.ID(), holder.ID()) // the evicting holder is asked first
	data, tr, err := fetcher.Fetch(context.Background(), key, Age{Number: b.Number(), Known: true}, checkFor(b, Body))
	if err != nil || !bytes.Equal(data, b.BodyRLP) || tr.Peer != holder.ID() {
		t.Fatalf("fetch: %v from %s", err, tr.Peer)
	}
	_, _, missed, _ := book.snapshot()
	if len(missed) != 1 || missed[0].Peer != gone.ID() || missed[0].Result != Evicted || !missed[0].EvictedAt.Equal(at) {
		t.Fatalf("missed %+v: want one Evicted transfer from the evicting holder at %v", missed, at)
	}
	_, tr, err = fetcher.FetchFrom(context.Background(), gone.ID(), key, Age{}, checkFor(b, Body))
	if !errors.Is(err, ErrUnavailable) || tr.Result != Evicted || IsLie(tr.Err) {
		t.Fatalf("FetchFrom the evicting holder: %v %+v", err, tr)
	}
}
