package peers

import (
	"context"
	"errors"
	"sync"

	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
)

// errRecordsFull is what the DHT's store answers once full.
var errRecordsFull = errors.New("peers: DHT record store full")

// records is the DHT's datastore: kad-dht keeps the provider records other
// peers send it in a datastore, by default an unbounded map, so a peer
// announcing many keys could grow this node's memory. records bounds the
// bytes (keys and values) it holds: once full, new records are refused
// (the DHT answers the announcing peer with an error) until expired ones
// are collected (kad-dht collects every hour; records live 48 h).
type records struct {
	ds.Batching
	mu      sync.Mutex
	max     int64
	size    int64
	refused int64
}

func newRecords(max int64) *records {
	return &records{Batching: dssync.MutexWrap(ds.NewMapDatastore()), max: max}
}

func (r *records) Put(ctx context.Context, k ds.Key, v []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delta := int64(len(k.String()) + len(v))
	old, err := r.Batching.GetSize(ctx, k)
	switch {
	case err == nil:
		delta = int64(len(v) - old)
	case !errors.Is(err, ds.ErrNotFound):
		return err
	}
	if r.size+delta > r.max {
		r.refused++
		return errRecordsFull
	}
	if err := r.Batching.Put(ctx, k, v); err != nil {
		return err
	}
	r.size += delta
	return nil
}

func (r *records) Delete(ctx context.Context, k ds.Key) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, err := r.Batching.GetSize(ctx, k)
	if errors.Is(err, ds.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := r.Batching.Delete(ctx, k); err != nil {
		return err
	}
	r.size -= int64(len(k.String()) + old)
	return nil
}

// Batch applies its writes through Put and Delete, so they are bounded too.
func (r *records) Batch(context.Context) (ds.Batch, error) { return ds.NewBasicBatch(r), nil }

// stats returns the bytes held and the records refused.
func (r *records) stats() (size, refused int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.size, r.refused
}
