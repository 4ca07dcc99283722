package trust

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
)

// Read answers a call whose answer must be checked (verify: strict): an
// answer that passed its check, the nodes' own error answer when none
// could serve it, or an error.
func (r *Reader) Read(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	var (
		result json.RawMessage
		err    error
	)
	switch pl.Method {
	case "eth_getBalance", "eth_getTransactionCount", "eth_getCode", "eth_getStorageAt", "eth_getProof":
		result, err = r.verifiedState(ctx, pl)
	case "eth_getBlockByHash", "eth_getBlockByNumber":
		result, err = r.verifiedBlock(ctx, pl)
	case "eth_getTransactionByHash":
		result, err = r.verifiedTxByHash(ctx, pl)
	case "eth_getTransactionByBlockHashAndIndex", "eth_getTransactionByBlockNumberAndIndex":
		result, err = r.verifiedTxByIndex(ctx, pl)
	case "eth_getTransactionReceipt":
		result, err = r.verifiedReceipt(ctx, pl)
	case "eth_getBlockReceipts":
		result, err = r.verifiedBlockReceipts(ctx, pl)
	case "eth_getLogs":
		result, err = r.verifiedLogs(ctx, pl)
	default:
		return nil, jsonrpc.Errorf(jsonrpc.CodeUnverifiable, "%s cannot be verified", pl.Method)
	}
	var passthrough *rpcAnswer
	var above *aboveTipError
	switch {
	case errors.Is(err, errAllNull):
		return &jsonrpc.Response{Result: json.RawMessage("null")}, nil
	case errors.As(err, &passthrough):
		return passthrough.resp, nil
	case errors.As(err, &above):
		if resp, ok := aboveTipAnswer(pl.Method); ok {
			return resp, nil
		}
		return nil, err
	case err != nil:
		return nil, err
	}
	return &jsonrpc.Response{Result: result}, nil
}
