package archive

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/lru"

	"github.com/braidrpc/braid/internal/ethjson"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
	"github.com/braidrpc/braid/internal/verify"
)

// Lookups by transaction hash that neither the providers nor the store
// answer are asked of connected peers (peers.Node.Locate). A hash no peer
// located is not asked again for locateMissTTL: a wallet polling for the
// receipt of a transaction still pending gets null from the providers each
// time, and must not send every poll on to the peers. At most
// locateMisses hashes are remembered (least recently missed go first).
const (
	locateMissTTL = time.Minute
	locateMisses  = 4096
)

// txLocator asks peers where a transaction is (peers.Node.Locate).
type txLocator interface {
	Locate(ctx context.Context, txHash common.Hash, check peers.Check) (history.TxLocation, peers.Transfer, error)
}

// locator asks peers where transactions are and remembers the hashes
// they could not locate.
type locator struct {
	peers  txLocator
	misses *lru.Cache[common.Hash, time.Time] // hash → when it may be asked again
}

func newLocator(p txLocator) *locator {
	return &locator{peers: p, misses: lru.NewCache[common.Hash, time.Time](locateMisses)}
}

// peerTx finds the block holding txHash through peers: a peer says where
// it is, and the location is believed only when the block is canonical on
// braid's trusted path and its verified body (from the store or peers)
// holds txHash at the index. A location that fails that is the peer's lie.
func (a *Archive) peerTx(ctx context.Context, txHash common.Hash, withReceipts bool) (*ethjson.Block, string, error) {
	if a.locate == nil {
		return nil, "", errNotHeld
	}
	now := a.clock.Now()
	if until, ok := a.locate.misses.Get(txHash); ok && now.Before(until) {
		return nil, "", errNotHeld
	}
	var (
		b   *ethjson.Block
		src string
	)
	_, _, err := a.locate.peers.Locate(ctx, txHash, func(raw []byte) error {
		var err error
		b, src, err = a.confirmLocation(ctx, txHash, raw, withReceipts)
		return err
	})
	if err != nil {
		if errors.Is(err, peers.ErrNoHolders) || errors.Is(err, peers.ErrUnavailable) {
			a.locate.misses.Add(txHash, now.Add(locateMissTTL))
			return nil, "", errNotHeld
		}
		return nil, "", err
	}
	return b, src, nil
}

// confirmLocation checks a peer's Location payload for txHash on braid's
// trusted path and returns the block. Its error is a lie (verify.Error,
// verify.ErrMalformed) when the location is false; any other error means
// it could not be checked (the block's canonical hash or body is out of
// reach), which ends the lookup.
func (a *Archive) confirmLocation(ctx context.Context, txHash common.Hash, raw []byte, withReceipts bool) (*ethjson.Block, string, error) {
	loc, err := peers.DecodeLocation(raw)
	if err != nil {
		return nil, "", err
	}
	if tip := a.tip(); tip.Known && loc.Number > tip.Latest.Number {
		// A peer whose trusted chain is ahead of this gateway's may be
		// right: not checkable yet, so no lie (the client gets the
		// providers' null, as for a block above the served tip).
		return nil, "", fmt.Errorf("archive: located in block %d, above the served tip %d", loc.Number, tip.Latest.Number)
	}
	canon, err := a.trustedCanonical(ctx, loc.Number)
	if err != nil {
		return nil, "", fmt.Errorf("archive: canonical hash of block %d: %w", loc.Number, err)
	}
	if canon != loc.BlockHash {
		return nil, "", lieAbout(txHash, loc, "a block that is not canonical (%s is)", canon)
	}
	b, src, err := a.blockParts(ctx, loc.BlockHash, withReceipts)
	if err != nil {
		return nil, "", fmt.Errorf("archive: block %s: %w", loc.BlockHash, err)
	}
	if i, ok := b.Index(txHash); !ok || uint64(i) != loc.Index {
		return nil, "", lieAbout(txHash, loc, "a block that does not hold it there")
	}
	return b, src, nil
}

// lieAbout is the error of a false location.
func lieAbout(txHash common.Hash, loc history.TxLocation, format string, args ...any) error {
	return &verify.Error{What: fmt.Sprintf("transaction %s located at %d in block %d (%s): ", txHash, loc.Index, loc.Number, loc.BlockHash) +
		fmt.Sprintf(format, args...)}
}
