package peers

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/verify"
)

// LocationSize is the size of a Location payload: the block's hash (32
// bytes), its number and the transaction's index (8 bytes each, big
// endian).
const LocationSize = common.HashLength + 8 + 8

// AppendLocation appends loc's Location payload to b.
func AppendLocation(b []byte, loc history.TxLocation) []byte {
	b = append(b, loc.BlockHash[:]...)
	b = binary.BigEndian.AppendUint64(b, loc.Number)
	return binary.BigEndian.AppendUint64(b, loc.Index)
}

// DecodeLocation decodes a Location payload: exactly LocationSize bytes.
// Anything else wraps verify.ErrMalformed (a peer that sends it lies).
func DecodeLocation(b []byte) (history.TxLocation, error) {
	if len(b) != LocationSize {
		return history.TxLocation{}, fmt.Errorf("%w: location of %d bytes, want %d", verify.ErrMalformed, len(b), LocationSize)
	}
	return history.TxLocation{
		BlockHash: common.BytesToHash(b[:common.HashLength]),
		Number:    binary.BigEndian.Uint64(b[common.HashLength:]),
		Index:     binary.BigEndian.Uint64(b[common.HashLength+8:]),
	}, nil
}

// Locate asks the braid peers this node is connected to where the
// transaction txHash is, one after another (peers that delivered before
// first, at most Limits.MaxHolders), until one's answer passes check —
// which must confirm the location on braid's trusted path: the block
// canonical, its verified body holding txHash at the index. An answer
// that fails check with a lie (IsLie) is recorded as the peer's lie, as
// Fetch records false content. Locations are not in the DHT (one record
// per transaction would be billions), so only connected peers are asked.
//
// Locate does not take a Fetch slot: check may fetch the block's body.
func (n *Node) Locate(ctx context.Context, txHash common.Hash, check Check) (history.TxLocation, Transfer, error) {
	key := Key{Kind: Location, Hash: txHash}
	ranked := n.tally.rank(n.contentPeers())
	asked := make([]peer.AddrInfo, 0, min(len(ranked), n.lim.MaxHolders))
	for _, id := range ranked[:min(len(ranked), n.lim.MaxHolders)] {
		asked = append(asked, peer.AddrInfo{ID: id})
	}
	if len(asked) == 0 {
		return history.TxLocation{}, Transfer{}, fmt.Errorf("%w: %s: no connected peer", ErrNoHolders, key)
	}
	data, t, err := n.ask(ctx, key, Age{}, asked, check)
	if err != nil {
		return history.TxLocation{}, t, err
	}
	loc, err := DecodeLocation(data)
	return loc, t, err
}

// contentPeers lists the connected peers that speak ContentProtocol,
// this node and banned peers left out.
func (n *Node) contentPeers() []peer.ID {
	var out []peer.ID
	for _, id := range n.host.Network().Peers() {
		if id == n.host.ID() || n.guard.banned(id) {
			continue
		}
		if ok, err := n.host.Peerstore().SupportsProtocols(id, ContentProtocol); err != nil || len(ok) == 0 {
			continue
		}
		out = append(out, id)
	}
	return slices.Clip(out)
}
