package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"golang.org/x/sync/errgroup"

	"github.com/braidrpc/braid/internal/ethjson"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
	"github.com/braidrpc/braid/internal/trust"
	"github.com/braidrpc/braid/internal/verify"
)

// historyBlock resolves a block parameter (a number, a hash, "earliest",
// or an EIP-1898 object) to a block of the served chain and returns it
// from the store or peers. Tags at the head are never history.
func (a *Archive) historyBlock(ctx context.Context, raw json.RawMessage, withReceipts bool) (*ethjson.Block, string, error) {
	hash, err := a.historyHash(ctx, raw)
	if err != nil {
		return nil, "", err
	}
	return a.blockParts(ctx, hash, withReceipts)
}

// historyHash is the block a parameter names: a hash as given, a number
// through braid's trusted path.
func (a *Archive) historyHash(ctx context.Context, raw json.RawMessage) (common.Hash, error) {
	var obj struct {
		BlockHash   *common.Hash    `json:"blockHash"`
		BlockNumber json.RawMessage `json:"blockNumber"`
	}
	if t := strings.TrimSpace(string(raw)); strings.HasPrefix(t, "{") {
		if json.Unmarshal(raw, &obj) != nil {
			return common.Hash{}, errNotHeld
		}
		if obj.BlockHash != nil {
			return *obj.BlockHash, nil
		}
		raw = obj.BlockNumber
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return common.Hash{}, errNotHeld
	}
	if len(s) == 66 {
		var h common.Hash
		if err := h.UnmarshalText([]byte(s)); err != nil {
			return common.Hash{}, errNotHeld
		}
		return h, nil
	}
	var number uint64
	switch s {
	case "earliest":
		number = 0
	default:
		v, err := hexutil.DecodeUint64(s)
		if err != nil {
			return common.Hash{}, errNotHeld // a tag: the head is not history
		}
		number = v
	}
	return a.trustedCanonical(ctx, number)
}

// trustedCanonical is the canonical hash of block number from braid's
// trusted path (canonical without the provenance).
func (a *Archive) trustedCanonical(ctx context.Context, number uint64) (common.Hash, error) {
	h, _, err := a.canonical(ctx, number)
	return h, err
}

// canonical is the canonical hash of block number from braid's trusted
// path, with how it was decided: the store's record for a finalized block
// (set by the trusted path before, or by the import of a published era1
// file; in strict mode only a proven record, never one an operators'
// quorum settled), else the served tip and EIP-2935 proofs back from it
// or a parent-hash walk (the verified reader), else — for a finalized
// number those do not reach — a parent-hash walk down from the nearest
// finalized block above it the store holds as canonical (a trusted
// header chain, as proven as that block's record), else, under a quorum
// and not in strict mode, the header the operators' quorum agrees on
// (agreedCanonical). Never from a peer.
func (a *Archive) canonical(ctx context.Context, number uint64) (common.Hash, history.Provenance, error) {
	fin := a.tip().Finalized.Number
	if number <= fin {
		if h, p, ok := a.store.Canonical(number, a.trusts()); ok {
			return h, p, nil
		}
	}
	hash, err := a.reader.CanonicalHash(ctx, number)
	if err == nil && number <= fin {
		a.upgrade(number, hash)
	}
	if err == nil || number >= fin {
		return hash, history.Proven, err
	}
	if from, p, ok := a.storedAnchor(number, fin); ok {
		if h, werr := a.reader.CanonicalBelow(ctx, from, number); werr == nil {
			return h, p, nil
		}
	}
	hash, err = a.agreedCanonical(ctx, number, err)
	return hash, history.Agreed, err
}

// upgrade marks the store's agreed canonical record of a finalized number
// proven when braid's proofs give the same hash, so strict mode trusts it
// from then on without proving it again.
func (a *Archive) upgrade(number uint64, proven common.Hash) {
	if h, p, ok := a.store.Canonical(number, history.Agreed); ok && h == proven && p < history.Proven {
		if err := a.store.SetCanonical(number, h, history.Proven); err != nil && !errors.Is(err, history.ErrFull) {
			a.log.Debug("history: marking a canonical record proven failed", "block", number, "err", err)
		}
	}
}

// trusts is the least provenance of a canonical record the archive
// trusts: in strict mode only Proven ("no answer that was not proven"),
// else an operators' agreement too.
func (a *Archive) trusts() history.Provenance {
	if a.strict {
		return history.Proven
	}
	return history.Agreed
}

// storedAnchor is the header of the lowest block above number, at most
// a.walk above it and at most fin (finalized), that the store holds as
// canonical (with a provenance the archive trusts), and that provenance.
func (a *Archive) storedAnchor(number, fin uint64) (*types.Header, history.Provenance, bool) {
	for n := number + 1; n <= fin && n-number <= a.walk; n++ {
		if h, p, ok := a.store.Canonical(n, a.trusts()); ok {
			if hdr, ok := a.store.Header(h); ok {
				return hdr, p, true
			}
		}
	}
	return nil, history.NotCanonical, false
}

// trustedHeader is the header of hash: stored (it was trusted when
// stored) or fetched from the providers, which keep headers when they
// prune bodies, and checked to hash to it.
func (a *Archive) trustedHeader(ctx context.Context, hash common.Hash) (*types.Header, error) {
	if h, ok := a.store.Header(hash); ok {
		return h, nil
	}
	h, err := a.reader.PrunedHeader(ctx, hash)
	if errors.Is(err, trust.ErrNotFound) {
		return nil, errNotHeld
	}
	return h, err
}

// blockParts returns the block of hash with its body (and receipts when
// asked), each from the store or, failing that, from peers — checked
// against the trusted header and kept in the store. The source is "peer"
// when any part came from a peer.
func (a *Archive) blockParts(ctx context.Context, hash common.Hash, withReceipts bool) (*ethjson.Block, string, error) {
	h, err := a.trustedHeader(ctx, hash)
	if err != nil {
		return nil, "", err
	}
	src := sourceStore
	if !a.store.Has(hash, history.HeaderPart) {
		if err := a.store.PutHeader(h); err != nil && !errors.Is(err, history.ErrFull) {
			return nil, "", err
		}
	}
	body, ok := a.store.Body(hash)
	if !ok {
		if body, err = a.peerBody(ctx, h); err != nil {
			return nil, "", err
		}
		src = sourcePeer
		a.markCanonical(ctx, h)
	}
	var receipts types.Receipts
	if withReceipts {
		if receipts, ok = a.store.Receipts(hash); !ok {
			if receipts, err = a.peerReceipts(ctx, h, body); err != nil {
				return nil, "", err
			}
			src = sourcePeer
		}
	}
	b, err := a.render.NewBlock(h, body, receipts)
	if err != nil {
		return nil, "", err
	}
	return b, src, nil
}

// peerBody fetches the body of header h from peers, checked against h,
// and keeps it.
func (a *Archive) peerBody(ctx context.Context, h *types.Header) (*types.Body, error) {
	hash := h.Hash()
	var body *types.Body
	_, _, err := a.node.Fetch(ctx, peers.Key{Kind: peers.Body, Hash: hash}, a.ageOf(h), func(raw []byte) error {
		b, err := verify.DecodeBody(h, raw)
		if err != nil {
			return err
		}
		body = b
		if err := a.store.PutBody(hash, b); err != nil && !errors.Is(err, history.ErrFull) {
			a.log.Warn("history: keeping a verified body failed", "block", hash, "err", err)
		}
		return nil
	})
	if err != nil {
		return nil, peerErr(err)
	}
	return body, nil
}

// peerReceipts fetches the receipts of header h (whose verified body is
// body) from peers, checked against h, and keeps them.
func (a *Archive) peerReceipts(ctx context.Context, h *types.Header, body *types.Body) (types.Receipts, error) {
	hash := h.Hash()
	var receipts types.Receipts
	_, _, err := a.node.Fetch(ctx, peers.Key{Kind: peers.Receipts, Hash: hash}, a.ageOf(h), func(raw []byte) error {
		rs, err := verify.DecodeReceipts(h, body.Transactions, raw, verify.ReceiptsStorage)
		if err != nil {
			return err
		}
		receipts = rs
		if a.store.Has(hash, history.BodyPart) {
			if err := a.store.PutReceiptsRLP(hash, raw, verify.ReceiptsStorage); err != nil && !errors.Is(err, history.ErrFull) {
				a.log.Warn("history: keeping verified receipts failed", "block", hash, "err", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, peerErr(err)
	}
	// The store decodes its own copy; this one is the caller's to render
	// (ethjson derives fields in place).
	return receipts, nil
}

// peerErr turns "no peer has it" into errNotHeld.
func peerErr(err error) error {
	if errors.Is(err, peers.ErrNoHolders) || errors.Is(err, peers.ErrUnavailable) {
		return fmt.Errorf("%w: %w", errNotHeld, err)
	}
	return err
}

// ageOf places a block for the peer layer's accounting.
func (a *Archive) ageOf(h *types.Header) peers.Age {
	age := peers.Age{Number: h.Number.Uint64(), Known: true}
	if tip := a.tip(); tip.Known && tip.Latest.Number >= age.Number {
		age.Depth = tip.Latest.Number - age.Number
	}
	return age
}

// historyLogs answers eth_getLogs over a range (at most verify.max_log_range
// blocks) or one block from the store and peers: every block of the range
// whose bloom may match has its receipts checked and read, and the logs are
// filtered as go-ethereum filters them.
func (a *Archive) historyLogs(ctx context.Context, raw json.RawMessage) (json.RawMessage, string, error) {
	f, err := a.reader.LogFilter(raw)
	if err != nil {
		return nil, "", errNotHeld // the providers' answer to a bad filter stands
	}
	var hashes []common.Hash
	if f.BlockHash != nil {
		hashes = []common.Hash{*f.BlockHash}
	} else {
		tip := a.tip()
		if !tip.Known || f.ToBlock > tip.Latest.Number || f.FromBlock > f.ToBlock || f.ToBlock-f.FromBlock >= a.reader.MaxLogRange() {
			return nil, "", errNotHeld
		}
		if hashes, err = a.canonicalRange(ctx, f.FromBlock, f.ToBlock); err != nil {
			return nil, "", err
		}
	}
	blocks := make([]*ethjson.Block, len(hashes))
	sources := make([]string, len(hashes))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(historyConcurrency)
	for i, hash := range hashes {
		g.Go(func() error {
			h, err := a.trustedHeader(gctx, hash)
			if err != nil || !f.BloomMayMatch(h.Bloom) {
				return err
			}
			blocks[i], sources[i], err = a.logBlock(gctx, h)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	src := sourceStore
	var matched []*ethjson.Block
	for i, b := range blocks {
		if b == nil {
			continue
		}
		matched = append(matched, b)
		if sources[i] == sourcePeer || (sources[i] == sourceProvider && src == sourceStore) {
			src = sources[i]
		}
	}
	out, err := a.render.Logs(f, matched)
	return out, src, err
}

// historyConcurrency bounds the blocks one history log read works on at
// once.
const historyConcurrency = 16

// canonicalRange is trustedCanonical for from..to: the store's records of
// finalized blocks (the ones the archive trusts), the rest proven at once
// by the verified reader.
func (a *Archive) canonicalRange(ctx context.Context, from, to uint64) ([]common.Hash, error) {
	out := make([]common.Hash, 0, to-from+1)
	fin := a.tip().Finalized.Number
	for num := from; num <= to; num++ {
		h, _, ok := a.store.Canonical(num, a.trusts())
		if !ok || num > fin {
			rest, err := a.reader.CanonicalRange(ctx, num, to)
			if err != nil {
				return nil, err
			}
			return append(out, rest...), nil
		}
		out = append(out, h)
	}
	return out, nil
}

// logBlock is a block with its receipts for eth_getLogs: from the store or
// peers, else (a block the providers still hold, in a range that starts
// below their window) through the verified reader.
func (a *Archive) logBlock(ctx context.Context, h *types.Header) (*ethjson.Block, string, error) {
	b, src, err := a.blockParts(ctx, h.Hash(), true)
	if err == nil || !errors.Is(err, errNotHeld) {
		return b, src, err
	}
	txs, err := a.reader.BlockTxs(ctx, h)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", errNotHeld, err)
	}
	receipts, err := a.reader.BlockReceipts(ctx, h)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", errNotHeld, err)
	}
	b, err = a.render.NewBlock(h, &types.Body{Transactions: txs}, receipts)
	if err != nil {
		return nil, "", err
	}
	return b, sourceProvider, nil
}

// markCanonical records in the store that h is its number's canonical
// block when braid's trusted path says so, with how it decided, so its
// transactions become findable by hash.
func (a *Archive) markCanonical(ctx context.Context, h *types.Header) {
	num := h.Number.Uint64()
	if c, p, err := a.canonical(ctx, num); err == nil && c == h.Hash() {
		if err := a.store.SetCanonical(num, c, p); err != nil && !errors.Is(err, history.ErrFull) {
			a.log.Debug("history: marking a block canonical failed", "block", num, "err", err)
		}
	}
}
