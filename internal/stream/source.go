package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// Caller answers one call through braid's own request path (the
// executor): an answer (a result, or an upstream's error answer to pass
// on) or a braid error. The stream asks it for blocks and logs, so they
// are pinned by hash, quorum-checked and, in strict mode, verified
// exactly as a client's reads are.
type Caller func(ctx context.Context, req *jsonrpc.Request) (*jsonrpc.Response, error)

// Requests is the Source that asks a Caller: eth_getBlockByHash for a
// header, eth_getLogs by blockHash for the logs.
type Requests struct{ Call Caller }

var _ Source = Requests{}

// ErrNoBlock: every operator said the block is unknown.
var ErrNoBlock = errors.New("block not found")

// headerBody are the members of a block object that are not its header.
var headerBody = []string{"transactions", "uncles", "withdrawals", "size", "totalDifficulty"}

// Header returns the block's header with the object newHeads sends: the
// block without its body members.
func (r Requests) Header(ctx context.Context, hash common.Hash) (block.Header, error) {
	raw, err := r.result(ctx, "eth_getBlockByHash", `[`+strconv.Quote(hash.Hex())+`,false]`)
	if err != nil {
		return block.Header{}, err
	}
	if isNull(raw) {
		return block.Header{}, ErrNoBlock
	}
	var b block.Block
	if err := json.Unmarshal(raw, &b); err != nil {
		return block.Header{}, fmt.Errorf("block %s: %w", hash, err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return block.Header{}, fmt.Errorf("block %s: %w", hash, err)
	}
	for _, k := range headerBody {
		delete(obj, k)
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return block.Header{}, err
	}
	return block.Header{Block: b, JSON: out}, nil
}

// Logs returns the block's logs.
func (r Requests) Logs(ctx context.Context, hash common.Hash) ([]*types.Log, error) {
	raw, err := r.result(ctx, "eth_getLogs", `[{"blockHash":`+strconv.Quote(hash.Hex())+`}]`)
	if err != nil {
		return nil, err
	}
	var logs []*types.Log
	if err := json.Unmarshal(raw, &logs); err != nil {
		return nil, fmt.Errorf("logs of block %s: %w", hash, err)
	}
	return logs, nil
}

// result is the result of one call, or its error (an error answer too).
func (r Requests) result(ctx context.Context, method, params string) (json.RawMessage, error) {
	res, err := r.Call(ctx, &jsonrpc.Request{Method: method, Params: json.RawMessage(params)})
	if err != nil {
		return nil, err
	}
	if res.Error != nil {
		return nil, res.Error
	}
	return res.Result, nil
}
