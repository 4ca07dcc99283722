package evm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/verify"
)

// devSource is the Source the trust stage will be, over devnet providers:
// every request pinned to the block's hash, one HTTP batch per Source
// call, every proof checked with verify.VerifyProof against the header's
// state root and code with verify.VerifyCode; a provider whose answer
// fails a check is struck (and not asked again), the next one asked.
type devSource struct {
	providers []*devnet.Provider
	client    *http.Client
	// tamper, when set, rewrites a provider's answer to one call: lies a
	// devnet fault cannot tell.
	tamper func(provider, method string, result json.RawMessage) json.RawMessage
	// record, when set, sees every honest answer (before tamper).
	record func(c rpcCall, result json.RawMessage)

	trips atomic.Int64 // HTTP requests: upstream round trips
	bytes atomic.Int64 // response bytes

	mu      sync.Mutex
	strikes map[string]int
}

var (
	_ Source       = (*devSource)(nil)
	_ TipSuggester = (*devSource)(nil)
)

func newDevSource(providers ...*devnet.Provider) *devSource {
	return &devSource{providers: providers, client: &http.Client{}, strikes: map[string]int{}}
}

func (s *devSource) struck(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.strikes[name]
}

func (s *devSource) strike(name string) {
	s.mu.Lock()
	s.strikes[name]++
	s.mu.Unlock()
}

// live are the providers not struck, in order.
func (s *devSource) live() []*devnet.Provider {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*devnet.Provider
	for _, p := range s.providers {
		if s.strikes[p.Name] == 0 {
			out = append(out, p)
		}
	}
	return out
}

type rpcCall struct {
	method string
	params []any
}

type rpcAnswer struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *jsonrpc.Error  `json:"error"`
}

// batch sends calls to p in one HTTP request.
func (s *devSource) batch(ctx context.Context, p *devnet.Provider, calls []rpcCall) ([]rpcAnswer, error) {
	reqs := make([]map[string]any, len(calls))
	for i, c := range calls {
		reqs[i] = map[string]any{"jsonrpc": "2.0", "id": i, "method": c.method, "params": c.params}
	}
	body, err := json.Marshal(reqs)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	s.trips.Add(1)
	resp, err := s.client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	s.bytes.Add(int64(len(raw)))
	if err != nil {
		return nil, err
	}
	var answers []rpcAnswer
	if err := json.Unmarshal(raw, &answers); err != nil {
		return nil, fmt.Errorf("%s: answer does not decode: %v", p.Name, err)
	}
	out := make([]rpcAnswer, len(calls))
	for _, a := range answers {
		if a.ID < 0 || a.ID >= len(calls) {
			return nil, fmt.Errorf("%s: answer to an id not asked", p.Name)
		}
		if a.Error == nil && s.record != nil {
			s.record(calls[a.ID], a.Result)
		}
		if a.Error == nil && s.tamper != nil {
			a.Result = s.tamper(p.Name, calls[a.ID].method, a.Result)
		}
		out[a.ID] = a
	}
	for i, a := range out {
		if a.Result == nil && a.Error == nil {
			return nil, fmt.Errorf("%s: no answer to call %d", p.Name, i)
		}
	}
	return out, nil
}

// each asks the live providers in turn until check accepts an answer; a
// *verify.Error from check strikes the provider.
func (s *devSource) each(ctx context.Context, calls []rpcCall, check func([]rpcAnswer) error) error {
	return s.eachFrom(ctx, 0, calls, check)
}

// eachFrom is each starting with the start-th live provider.
func (s *devSource) eachFrom(ctx context.Context, start int, calls []rpcCall, check func([]rpcAnswer) error) error {
	var errs []error
	live := s.live()
	if len(live) > 0 {
		start %= len(live)
		live = append(live[start:], live[:start]...)
	}
	for _, p := range live {
		answers, err := s.batch(ctx, p, calls)
		if err == nil {
			err = check(answers)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var lie *verify.Error
		if errors.As(err, &lie) {
			s.strike(p.Name)
		}
		errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
	}
	return fmt.Errorf("no provider gave a proven answer: %w", errors.Join(errs...))
}

func at(block *types.Header) map[string]string {
	return map[string]string{"blockHash": block.Hash().Hex()}
}

func proofCall(block *types.Header, q Query) rpcCall {
	keys := make([]string, len(q.Slots))
	for i, k := range q.Slots {
		keys[i] = k.Hex()
	}
	return rpcCall{"eth_getProof", []any{q.Address, keys, at(block)}}
}

func codeCall(block *types.Header, address common.Address) rpcCall {
	return rpcCall{"eth_getCode", []any{address, at(block)}}
}

func accessListCall(block *types.Header, args *TransactionArgs, overrides StateOverride) rpcCall {
	params := []any{args, at(block)}
	if overrides != nil {
		params = append(params, overrides)
	}
	return rpcCall{"eth_createAccessList", params}
}

// key names a call for a recording: its method and parameters.
func (c rpcCall) key() string {
	b, _ := json.Marshal(c.params)
	return c.method + string(b)
}

func (s *devSource) Proofs(ctx context.Context, block *types.Header, queries []Query) ([]Proven, error) {
	return s.proofs(ctx, 0, block, queries)
}

// proofs answers queries with one batch, starting with the start-th live
// provider.
func (s *devSource) proofs(ctx context.Context, start int, block *types.Header, queries []Query) ([]Proven, error) {
	var calls []rpcCall
	for _, q := range queries {
		calls = append(calls, proofCall(block, q))
		if q.Code {
			calls = append(calls, codeCall(block, q.Address))
		}
	}
	var out []Proven
	err := s.eachFrom(ctx, start, calls, func(answers []rpcAnswer) error {
		out = make([]Proven, len(queries))
		i := 0
		for qi, q := range queries {
			if answers[i].Error != nil {
				return answers[i].Error
			}
			acct, err := verify.VerifyProof(block.Root, q.Address, q.Slots, answers[i].Result)
			if err != nil {
				return err
			}
			out[qi].Account = acct
			i++
			if !q.Code {
				continue
			}
			if out[qi].Code, err = checkCode(acct, answers[i]); err != nil {
				return err
			}
			i++
		}
		return nil
	})
	return out, err
}

func checkCode(acct *verify.Account, a rpcAnswer) ([]byte, error) {
	if a.Error != nil {
		return nil, a.Error
	}
	var code hexutil.Bytes
	if err := json.Unmarshal(a.Result, &code); err != nil {
		return nil, &verify.Error{What: "code does not decode"}
	}
	return code, verify.VerifyCode(acct, code)
}

func (s *devSource) Code(ctx context.Context, block *types.Header, address common.Address, codeHash common.Hash) ([]byte, error) {
	var code []byte
	err := s.each(ctx, []rpcCall{codeCall(block, address)}, func(answers []rpcAnswer) error {
		var err error
		code, err = checkCode(&verify.Account{Address: address, CodeHash: codeHash}, answers[0])
		return err
	})
	return code, err
}

func (s *devSource) AccessList(ctx context.Context, block *types.Header, args *TransactionArgs, overrides StateOverride) (types.AccessList, error) {
	live := s.live()
	if len(live) == 0 {
		return nil, errors.New("no provider")
	}
	answers, err := s.batch(ctx, live[0], []rpcCall{accessListCall(block, args, overrides)})
	if err != nil {
		return nil, err
	}
	if answers[0].Error != nil {
		return nil, answers[0].Error
	}
	var res struct {
		AccessList types.AccessList `json:"accessList"`
	}
	if err := json.Unmarshal(answers[0].Result, &res); err != nil {
		return nil, err
	}
	return res.AccessList, nil
}

// BlockHashes fetches the headers from the lowest number up to the
// block's parent in one batch and checks that they link to the block by
// parent hashes.
func (s *devSource) BlockHashes(ctx context.Context, block *types.Header, numbers []uint64) ([]common.Hash, error) {
	low := block.Number.Uint64() - 1
	for _, n := range numbers {
		low = min(low, n)
	}
	var calls []rpcCall
	for n := low; n < block.Number.Uint64(); n++ {
		calls = append(calls, rpcCall{"eth_getBlockByNumber", []any{hexutil.Uint64(n), false}})
	}
	hashes := map[uint64]common.Hash{}
	err := s.each(ctx, calls, func(answers []rpcAnswer) error {
		want := block.ParentHash
		for i := len(answers) - 1; i >= 0; i-- {
			if answers[i].Error != nil {
				return answers[i].Error
			}
			h, err := verify.HeaderFromJSON(answers[i].Result, want)
			if err != nil {
				return err
			}
			hashes[h.Number.Uint64()] = want
			want = h.ParentHash
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]common.Hash, len(numbers))
	for i, n := range numbers {
		out[i] = hashes[n]
	}
	return out, nil
}

func (s *devSource) SuggestGasTipCap(ctx context.Context) (*big.Int, error) {
	live := s.live()
	if len(live) == 0 {
		return nil, errors.New("no provider")
	}
	answers, err := s.batch(ctx, live[0], []rpcCall{{"eth_maxPriorityFeePerGas", nil}})
	if err != nil {
		return nil, err
	}
	var tip hexutil.Big
	if err := json.Unmarshal(answers[0].Result, &tip); err != nil {
		return nil, err
	}
	return tip.ToInt(), nil
}

// keccak is a storage slot's or code's hash.
func keccak(b []byte) common.Hash { return crypto.Keccak256Hash(b) }
