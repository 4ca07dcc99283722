package strict

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
)

// feeOperators is how many operators are asked for a fee suggestion.
const feeOperators = 3

// Fee answers in strict mode: what the chain fixes (base fees, blob base
// fees, gas used) comes from verified headers; what is a suggestion (the
// priority fee, eth_feeHistory's rewards) is the median of what several
// operators suggest, and the answer says so in its Braid-Proof header.

// askOperators sends call to up to feeOperators distinct operators at
// once and returns their results; with none, the first error answer one
// gave (or the router's error).
func (s *Stage) askOperators(ctx context.Context, call route.Call) ([]json.RawMessage, *jsonrpc.Response, error) {
	ops := s.o.Router.Operators(call)
	if len(ops) > feeOperators {
		ops = ops[:feeOperators]
	}
	if len(ops) == 0 {
		ops = []string{""} // let the router say why nobody can take it
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		results []json.RawMessage
		errResp *jsonrpc.Response
		lastErr error
	)
	for _, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := call
			c.Operator = op
			res, err := s.o.Router.Do(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				lastErr = err
			case res.Response.Error != nil:
				errResp = res.Response
			default:
				results = append(results, res.Response.Result)
			}
		}()
	}
	wg.Wait()
	if len(results) == 0 && errResp == nil && lastErr == nil {
		lastErr = errors.New("no operator answered")
	}
	return results, errResp, lastErr
}

// median of values (sorted in place); the mean of the middle two for an
// even count.
func median(values []*big.Int) *big.Int {
	slices.SortFunc(values, func(a, b *big.Int) int { return a.Cmp(b) })
	m := len(values) / 2
	if len(values)%2 == 1 {
		return new(big.Int).Set(values[m])
	}
	sum := new(big.Int).Add(values[m-1], values[m])
	return sum.Rsh(sum, 1)
}

// suggestTip is the median of the operators' eth_maxPriorityFeePerGas.
func (s *Stage) suggestTip(ctx context.Context) (*big.Int, error) {
	results, errResp, err := s.askOperators(ctx, route.Call{Method: "eth_maxPriorityFeePerGas", Params: json.RawMessage("[]"), Class: plan.ClassOther})
	var tips []*big.Int
	for _, r := range results {
		var q hexutil.Big
		if json.Unmarshal(r, &q) == nil && q.ToInt().Sign() >= 0 {
			tips = append(tips, q.ToInt())
		}
	}
	switch {
	case len(tips) > 0:
		return median(tips), nil
	case errResp != nil:
		return nil, errResp.Error
	case err != nil:
		return nil, err
	}
	return nil, jsonrpc.Errorf(jsonrpc.CodeUpstreamsFailed, "no operator suggested a priority fee")
}

// maxPriorityFee answers eth_maxPriorityFeePerGas: the operators' median.
func (c *call) maxPriorityFee(ctx context.Context) (*jsonrpc.Response, error) {
	tip, err := c.s.suggestTip(ctx)
	if err != nil {
		return nil, err
	}
	c.partial("the priority fee is the operators' median suggestion")
	return quantity(tip), nil
}

// gasPrice answers eth_gasPrice as geth does, the suggested priority fee
// plus the base fee of the latest block: here the operators' median tip
// and the base fee of the trusted tip's verified header.
func (c *call) gasPrice(ctx context.Context) (*jsonrpc.Response, error) {
	h, err := c.s.o.Verified.TipHeader(ctx)
	if err != nil {
		return nil, err
	}
	tip, err := c.s.suggestTip(ctx)
	if err != nil {
		return nil, err
	}
	if h.BaseFee != nil {
		tip.Add(tip, h.BaseFee)
	}
	c.partial("the base fee is the trusted tip's; the priority fee added is the operators' median suggestion")
	return quantity(tip), nil
}

// blobBaseFee answers eth_blobBaseFee as geth does, from the trusted
// tip's verified header (null before Cancun). It needs the chain
// configuration (the blob schedule); without one it is the operators'.
func (c *call) blobBaseFee(ctx context.Context) (*jsonrpc.Response, error) {
	if c.s.o.Chain == nil {
		c.note(ProofNone, "eth_blobBaseFee is the operators' answer: braid has no chain configuration for this network")
		return c.s.o.Operators.Forward(ctx, &plan.Plan{Method: "eth_blobBaseFee", Kind: plan.Forward, Spec: plan.Lookup("eth_blobBaseFee"), Params: json.RawMessage("[]")})
	}
	h, err := c.s.o.Verified.TipHeader(ctx)
	if err != nil {
		return nil, err
	}
	if h.ExcessBlobGas == nil {
		return &jsonrpc.Response{Result: json.RawMessage("null")}, nil
	}
	return quantity(eip4844.CalcBlobFee(c.s.o.Chain, h)), nil
}

// feeHistoryAnswer is eth_feeHistory's answer, member for member.
type feeHistoryAnswer struct {
	OldestBlock      *hexutil.Big     `json:"oldestBlock"`
	Reward           [][]*hexutil.Big `json:"reward,omitempty"`
	BaseFee          []*hexutil.Big   `json:"baseFeePerGas,omitempty"`
	GasUsedRatio     []float64        `json:"gasUsedRatio"`
	BlobBaseFee      []*hexutil.Big   `json:"baseFeePerBlobGas,omitempty"`
	BlobGasUsedRatio []float64        `json:"blobGasUsedRatio,omitempty"`
}

// feeHistory answers eth_feeHistory with the newest block pinned to a
// number on the trusted chain. The operators' answers say which range they
// cover (and give the rewards, whose median is the answer's); base fees,
// blob base fees and gas used ratios are computed as geth computes them
// from the verified headers of that range.
func (c *call) feeHistory(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	if c.s.o.Chain == nil {
		c.note(ProofNone, "eth_feeHistory is the operators' answer: braid has no chain configuration for this network")
		return c.s.o.Operators.Forward(ctx, pl)
	}
	newest, err := c.s.feeNewest(ctx, pl.Args[1])
	if err != nil {
		return nil, err
	}
	args := slices.Clone(pl.Args)
	args[1], _ = json.Marshal(hexutil.Uint64(newest))
	params, _ := json.Marshal(args)
	results, errResp, err := c.s.askOperators(ctx, route.Call{Method: "eth_feeHistory", Params: params, Class: plan.ClassBlock})
	answers := fitting(results, newest)
	switch {
	case len(answers) == 0 && errResp != nil:
		return errResp, nil
	case len(answers) == 0 && err != nil:
		return nil, err
	case len(answers) == 0:
		return nil, jsonrpc.Errorf(jsonrpc.CodeVerificationFailed, "no operator's eth_feeHistory covered a range ending at block %d", newest)
	}
	out := answers[0]
	count := uint64(len(out.GasUsedRatio))
	if count == 0 {
		return marshalFees(out)
	}
	oldest := out.OldestBlock.ToInt().Uint64()
	hs, err := c.s.o.Verified.RangeHeaders(ctx, oldest, oldest+count-1)
	if err != nil {
		return nil, err
	}
	c.s.headerFees(out, hs)
	if out.Reward != nil {
		out.Reward = medianRewards(answers)
		c.partial("the rewards are the operators' median; base fees and gas used ratios are from verified headers")
	}
	return marshalFees(out)
}

func marshalFees(a *feeHistoryAnswer) (*jsonrpc.Response, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return &jsonrpc.Response{Result: b}, nil
}

// feeNewest resolves eth_feeHistory's newest block to a trusted number:
// "pending" and "latest" are the trusted tip.
func (s *Stage) feeNewest(ctx context.Context, raw json.RawMessage) (uint64, error) {
	if IsPending(raw) {
		raw = nil
	}
	h, answer, err := s.o.Verified.CallBlock(ctx, raw)
	if answer != nil {
		return 0, answer.Error
	}
	if err != nil {
		return 0, err
	}
	return h.Number.Uint64(), nil
}

// fitting decodes the answers that cover a range ending at newest, all of
// the same range as the first, with rewards of the same shape.
func fitting(results []json.RawMessage, newest uint64) []*feeHistoryAnswer {
	var out []*feeHistoryAnswer
	for _, r := range results {
		var a feeHistoryAnswer
		if json.Unmarshal(r, &a) != nil || a.OldestBlock == nil || !a.OldestBlock.ToInt().IsUint64() {
			continue
		}
		count := uint64(len(a.GasUsedRatio))
		oldest := a.OldestBlock.ToInt().Uint64()
		if count > 0 && oldest+count-1 != newest {
			continue
		}
		if a.Reward != nil && (uint64(len(a.Reward)) != count || !rectangular(a.Reward)) {
			continue
		}
		if len(out) > 0 {
			first := out[0]
			if first.OldestBlock.ToInt().Cmp(a.OldestBlock.ToInt()) != 0 || len(first.GasUsedRatio) != len(a.GasUsedRatio) ||
				(first.Reward == nil) != (a.Reward == nil) || (len(a.Reward) > 0 && len(a.Reward[0]) != len(first.Reward[0])) {
				continue
			}
		}
		out = append(out, &a)
	}
	return out
}

// rectangular reports whether every row of rewards has the first's length.
func rectangular(rewards [][]*hexutil.Big) bool {
	for _, row := range rewards {
		if len(row) != len(rewards[0]) {
			return false
		}
	}
	return true
}

// headerFees fills a's header-derived members from hs (its range, oldest
// first) as geth's fee oracle computes them.
func (s *Stage) headerFees(a *feeHistoryAnswer, hs []*types.Header) {
	cfg := s.o.Chain
	a.BaseFee = make([]*hexutil.Big, len(hs)+1)
	a.BlobBaseFee = make([]*hexutil.Big, len(hs)+1)
	a.GasUsedRatio = make([]float64, len(hs))
	a.BlobGasUsedRatio = make([]float64, len(hs))
	for i, h := range hs {
		base := h.BaseFee
		if base == nil {
			base = new(big.Int)
		}
		a.BaseFee[i] = (*hexutil.Big)(base)
		next := new(big.Int)
		if cfg.IsLondon(new(big.Int).Add(h.Number, big.NewInt(1))) {
			next = eip1559.CalcBaseFee(cfg, h)
		}
		a.BaseFee[i+1] = (*hexutil.Big)(next)
		blob, nextBlob := new(big.Int), new(big.Int)
		if h.ExcessBlobGas != nil {
			blob = eip4844.CalcBlobFee(cfg, h)
			excess := eip4844.CalcExcessBlobGas(cfg, h, h.Time)
			nextBlob = eip4844.CalcBlobFee(cfg, &types.Header{Number: h.Number, Time: h.Time, ExcessBlobGas: &excess})
		}
		a.BlobBaseFee[i], a.BlobBaseFee[i+1] = (*hexutil.Big)(blob), (*hexutil.Big)(nextBlob)
		a.GasUsedRatio[i] = float64(h.GasUsed) / float64(h.GasLimit)
		if h.BlobGasUsed != nil {
			if limit := eip4844.MaxBlobGasPerBlock(cfg, h.Time); limit != 0 {
				a.BlobGasUsedRatio[i] = float64(*h.BlobGasUsed) / float64(limit)
			}
		}
	}
}

// medianRewards is, entry by entry, the median of the answers' rewards.
func medianRewards(answers []*feeHistoryAnswer) [][]*hexutil.Big {
	first := answers[0].Reward
	out := make([][]*hexutil.Big, len(first))
	for i := range first {
		out[i] = make([]*hexutil.Big, len(first[i]))
		for j := range first[i] {
			var vals []*big.Int
			for _, a := range answers {
				if v := a.Reward[i][j]; v != nil {
					vals = append(vals, v.ToInt())
				}
			}
			if len(vals) > 0 {
				out[i][j] = (*hexutil.Big)(median(vals))
			}
		}
	}
	return out
}
