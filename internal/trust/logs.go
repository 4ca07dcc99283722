package trust

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"golang.org/x/sync/errgroup"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
)

// verifiedLogs answers eth_getLogs with logs that are in verified
// receipts and match the filter. For a range up to verify.max_log_range
// (or one block) the answer must also be complete: every block whose bloom
// may match has its receipts verified, so a dropped log is caught.
func (r *Reader) verifiedLogs(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
	tip, err := r.trusted()
	if err != nil {
		return nil, err
	}
	f, err := r.parseLogFilter(pl.Args[0], tip)
	if err != nil {
		return nil, err
	}
	if err := checkLogRange(f, tip.Number); err != nil {
		return nil, err
	}
	lr := &logReceipts{r: r, m: map[common.Hash][]*types.Receipt{}}
	var blocks []*types.Header // blocks to check for completeness
	complete := false
	switch {
	case f.BlockHash != nil:
		h, err := r.Header(ctx, *f.BlockHash)
		if err != nil {
			return nil, err
		}
		blocks, complete = []*types.Header{h}, true
	case f.ToBlock-f.FromBlock+1 <= r.cfg.MaxLogRange:
		if blocks, err = r.rangeHeaders(ctx, f.FromBlock, f.ToBlock); err != nil {
			return nil, err
		}
		complete = true
	}
	var mayMatch []*types.Header
	for _, h := range blocks {
		if f.BloomMayMatch(h.Bloom) {
			mayMatch = append(mayMatch, h)
		}
	}
	if err := lr.collect(ctx, mayMatch); err != nil {
		return nil, err
	}
	// Ask for the logs over the pinned range, then check them.
	params := pl.Params
	if f.BlockHash == nil {
		params = withRange(pl.Args[0], f.FromBlock, f.ToBlock)
	}
	res, err := r.fetchVerified(ctx, route.Call{Method: "eth_getLogs", Params: params, Class: plan.ClassLogs,
		Data: upstream.HistoryData, Hedge: true}, false, func(res *route.Result) error {
		if !complete {
			// Too wide to check completeness: check each log's block.
			hs, err := r.logHeaders(ctx, res.Response.Result, lr)
			if err != nil {
				return err
			}
			if err := lr.collect(ctx, hs); err != nil {
				return err
			}
		}
		lr.mu.Lock()
		defer lr.mu.Unlock()
		return verify.VerifyLogs(f, res.Response.Result, lr.m, complete)
	})
	if err != nil {
		return nil, err
	}
	return answer(res)
}

// parseLogFilter reads an eth_getLogs filter with its tags resolved
// against the trusted tip (and the served safe and finalized blocks).
func (r *Reader) parseLogFilter(raw json.RawMessage, tip block.Block) (*verify.LogFilter, error) {
	t := r.root.Trusted()
	f, err := verify.ParseLogFilter(raw, func(tag string) (uint64, error) {
		switch tag {
		case "latest", "pending", "":
			return tip.Number, nil
		case "safe":
			return t.Safe.Number, nil
		case "finalized":
			return t.Finalized.Number, nil
		case "earliest":
			return 0, nil
		}
		return 0, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid block tag %q", tag)
	})
	if err != nil {
		var je *jsonrpc.Error
		if errors.As(err, &je) {
			return nil, je
		}
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: filter: %v", err)
	}
	return f, nil
}

// logReceipts are the verified receipts of the blocks a log answer is
// checked against, by block hash.
type logReceipts struct {
	r  *Reader
	mu sync.Mutex
	m  map[common.Hash][]*types.Receipt
}

// collect fetches (and verifies) the receipts of hs.
func (lr *logReceipts) collect(ctx context.Context, hs []*types.Header) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchConcurrency)
	for _, h := range hs {
		g.Go(func() error {
			rs, _, _, err := lr.r.blockReceipts(gctx, h)
			if err != nil {
				return err
			}
			lr.mu.Lock()
			lr.m[h.Hash()] = rs
			lr.mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

func (lr *logReceipts) have(hash common.Hash) bool {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	_, ok := lr.m[hash]
	return ok
}

// logHeaders returns the verified headers of the blocks a log answer
// names whose receipts lr lacks; a block not on the served chain (or
// beyond the range asked) makes the answer a lie.
func (r *Reader) logHeaders(ctx context.Context, result json.RawMessage, lr *logReceipts) ([]*types.Header, error) {
	hashes, err := verify.LogBlocks(result)
	if err != nil {
		return nil, err
	}
	var hs []*types.Header
	for _, hash := range hashes {
		if lr.have(hash) {
			continue
		}
		h, err := r.Header(ctx, hash)
		if err != nil {
			if errors.Is(err, errAllNull) {
				return nil, &verify.Error{What: "a log names block " + hash.Hex() + ", which no operator knows"}
			}
			return nil, err
		}
		var above *aboveTipError
		if c, err := r.CanonicalHash(ctx, h.Number.Uint64()); errors.As(err, &above) {
			return nil, &verify.Error{What: "a log names block " + hash.Hex() + ", beyond the range asked"}
		} else if err != nil {
			return nil, err
		} else if c != hash {
			return nil, &verify.Error{What: "a log names block " + hash.Hex() + ", which is not on the served chain"}
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// rangeHeaders returns the verified headers of the served chain's blocks
// from..to.
func (r *Reader) rangeHeaders(ctx context.Context, from, to uint64) ([]*types.Header, error) {
	hashes, err := r.canonicalRange(ctx, from, to)
	if err != nil {
		return nil, err
	}
	blocks := make([]*types.Header, len(hashes))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchConcurrency)
	for i, hash := range hashes {
		g.Go(func() error {
			h, err := r.Header(gctx, hash)
			blocks[i] = h
			return err
		})
	}
	return blocks, g.Wait()
}

// withRange returns the eth_getLogs params for filter with its range
// pinned to explicit block numbers.
func withRange(filter json.RawMessage, from, to uint64) json.RawMessage {
	var o map[string]json.RawMessage
	_ = json.Unmarshal(filter, &o) // the planner checked it is an object
	if o == nil {
		o = map[string]json.RawMessage{}
	}
	o["fromBlock"] = json.RawMessage(strconv.Quote(hexutil.EncodeUint64(from)))
	o["toBlock"] = json.RawMessage(strconv.Quote(hexutil.EncodeUint64(to)))
	p, _ := json.Marshal([]any{o})
	return p
}
