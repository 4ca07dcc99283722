package evm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus"
	"github.com/ethereum/go-ethereum/consensus/beacon"
	"github.com/ethereum/go-ethereum/consensus/ethash"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/triedb"

	"github.com/braidrpc/braid/internal/clock"
)

// Defaults for Config's zero values.
const (
	// DefaultGasCap is go-ethereum's default rpc.gascap.
	DefaultGasCap = 50_000_000
	// DefaultTimeout is go-ethereum's default rpc.evmtimeout.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxPrefetch bounds what the executor fetches ahead from its
	// own record of a call (what it read last time), in accounts plus
	// storage slots.
	DefaultMaxPrefetch = 1024
	// DefaultHintEntries bounds what an operator's eth_createAccessList
	// hint may make the executor fetch ahead, in accounts plus slots: a
	// hint is unchecked, so a bogus one costs at most this many proofs.
	DefaultHintEntries = 128
	// DefaultHintSlots bounds the slots of one account fetched ahead from
	// an operator's hint; the account's further hinted slots are fetched
	// a batch at a time when the call reads one of them (the hint was
	// right), and dropped when it reads one the hint did not name.
	DefaultHintSlots = 16
	// DefaultMaxFetches bounds a call's fetches on demand.
	DefaultMaxFetches = 256
	// DefaultCacheBlocks is how many blocks' proven state is kept.
	DefaultCacheBlocks = 4
	// DefaultCacheEntries bounds one block's proven state kept, in
	// accounts plus storage slots (about 150 bytes each).
	DefaultCacheEntries = 20_000
	// DefaultCodeCacheBytes bounds the code kept by hash.
	DefaultCodeCacheBytes = 16 << 20
)

// Config configures an Executor. Zero values take the defaults above.
type Config struct {
	// Chain is the network's chain configuration (ChainConfig for public
	// networks, the genesis configuration for a devnet). Required.
	Chain *params.ChainConfig
	// GasCap caps the gas of a call and of gas estimation, as geth's
	// rpc.gascap does (0: DefaultGasCap; braid has no uncapped mode).
	GasCap uint64
	// Timeout bounds eth_call's execution, fetches on demand included, as
	// geth's rpc.evmtimeout does (0: DefaultTimeout). eth_estimateGas and
	// eth_createAccessList run until the request's context ends, as in
	// geth.
	Timeout time.Duration
	// MaxPrefetch bounds the accounts plus slots taken from the
	// executor's own record of a call; the rest is fetched on demand.
	MaxPrefetch int
	// HintEntries and HintSlots bound what an operator's access-list
	// hint makes the executor fetch ahead: accounts plus slots in all,
	// and slots of one account.
	HintEntries int
	HintSlots   int
	// MaxFetches bounds a call's Source calls on demand; a call needing
	// more fails with -32005.
	MaxFetches int
	// CacheBlocks, CacheEntries and CodeCacheBytes bound the proven state
	// kept between calls.
	CacheBlocks    int
	CacheEntries   int
	CodeCacheBytes int
	// Clock times eth_call's Timeout (nil: the wall clock).
	Clock clock.Clock
	// Logger receives debug records of hints that failed (nil: discard).
	Logger *slog.Logger
}

func (c *Config) withDefaults() {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.GasCap == 0 {
		c.GasCap = DefaultGasCap
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	set(&c.MaxPrefetch, DefaultMaxPrefetch)
	set(&c.HintEntries, DefaultHintEntries)
	set(&c.HintSlots, DefaultHintSlots)
	set(&c.MaxFetches, DefaultMaxFetches)
	set(&c.CacheBlocks, DefaultCacheBlocks)
	set(&c.CacheEntries, DefaultCacheEntries)
	set(&c.CodeCacheBytes, DefaultCodeCacheBytes)
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Executor runs calls on a local EVM over proven state. It is safe for
// concurrent use; it keeps the proven state of recent blocks (bounded by
// its Config) so that calls on one block share what was fetched.
type Executor struct {
	cfg    Config
	engine consensus.Engine
	db     state.Database
	cache  *stateCache
}

// New returns an Executor for cfg.Chain.
func New(cfg Config) (*Executor, error) {
	if cfg.Chain == nil || cfg.Chain.ChainID == nil {
		return nil, errors.New("evm: a chain configuration with a chain id is required")
	}
	cfg.withDefaults()
	return &Executor{
		cfg:    cfg,
		engine: beacon.New(ethash.NewFaker()),
		db:     state.NewMPTDatabase(triedb.NewDatabase(rawdb.NewMemoryDatabase(), nil), nil),
		cache:  newStateCache(cfg.CacheBlocks, cfg.CacheEntries, cfg.CodeCacheBytes),
	}, nil
}

// Result is a call's answer and what it cost.
type Result struct {
	// Value is the JSON result, as a go-ethereum node encodes it; nil
	// when the call failed.
	Value json.RawMessage
	Stats Stats
}

// Do runs req on block, a header the caller trusts (its hash and state
// root are what every proof is checked against), with state from src.
//
// It always returns a Result with the call's Stats. The error is an
// *Error for an answer a go-ethereum node would give (a revert, a VM
// error, invalid parameters: pass it on), a *StateError when state could
// not be proven (retry, perhaps with other operators), or the context's
// error.
func (e *Executor) Do(ctx context.Context, src Source, block *types.Header, req *Request) (*Result, error) {
	if src == nil || block == nil || block.Number == nil || block.Difficulty == nil || req == nil {
		return &Result{}, errNoBlock
	}
	r := e.newRun(ctx, src, block, req)
	var (
		value any
		err   error
	)
	switch req.Method {
	case MethodCall:
		value, err = r.call()
	case MethodEstimateGas:
		value, err = r.estimateGas()
	case MethodCreateAccessList:
		value, err = r.accessList()
	default:
		err = &Error{Code: -32601, Message: fmt.Sprintf("the method %s does not exist/is not available", req.Method)}
	}
	res := &Result{Stats: r.reader.Stats()}
	if r.executed && r.reader.Err() == nil {
		if !r.reader.overflowed() {
			r.shared.sawCall(r.fingerprint)
		}
		read := r.reader.accessList()
		e.cache.hints.put(r.fingerprint, read)
		if key, ok := shapeKey(req); ok && r.preimages != nil && (res.Stats.Misses > 0 || !e.cache.shapes.has(key)) {
			e.cache.shapes.put(key, read, r.preimages, req.Args.data(), req.Args.from())
		}
	}
	if err != nil {
		return res, err
	}
	res.Value, err = json.Marshal(value)
	return res, err
}

// run is one call's execution state.
type run struct {
	e           *Executor
	ctx         context.Context
	src         Source
	block       *types.Header
	req         *Request
	shared      *blockState
	reader      *reader
	anc         *ancestors
	chain       *chainContext
	fingerprint common.Hash
	executed    bool // the EVM ran: the call's state is loaded
	// preimages are what the call's EVM hashed (eth_call only), to learn
	// its shape (shape.go).
	preimages map[common.Hash][]byte
}

func (e *Executor) newRun(ctx context.Context, src Source, block *types.Header, req *Request) *run {
	hash := block.Hash()
	shared := e.cache.block(hash)
	rd := newReader(ctx, src, block, shared, e.cache, e.cfg.MaxFetches, e.cfg.MaxPrefetch)
	rd.hintSlots = e.cfg.HintSlots
	anc := newAncestors(rd, e.cfg.Chain, block)
	return &run{
		e: e, ctx: ctx, src: src, block: block, req: req, shared: shared, reader: rd, anc: anc,
		chain:       &chainContext{config: e.cfg.Chain, engine: e.engine, block: block, hash: hash, anc: anc},
		fingerprint: fingerprint(req),
	}
}

// blockContext is the EVM's view of the call's block, BLOCKHASH served
// from proven state.
func (r *run) blockContext() vm.BlockContext {
	bc := core.NewEVMBlockContext(r.block, r.chain, nil)
	bc.GetHash = r.anc.hash
	return bc
}

// state is a fresh state of the block over the call's reader.
func (r *run) state() (*state.StateDB, error) {
	st, err := state.NewWithReader(r.block.Root, r.e.db, r.reader)
	if err != nil {
		return nil, fmt.Errorf("evm: state of block %d: %w", r.block.Number.Uint64(), err)
	}
	return st, nil
}

// failure is the reason a call ran on state it could not prove, nil if
// it did not: the reader's first failure, or the state's own error.
func (r *run) failure(st *state.StateDB) error {
	err := r.reader.Err()
	if err == nil && st != nil {
		err = st.Error()
	}
	if err == nil {
		return nil
	}
	var answer *Error
	if errors.As(err, &answer) {
		return answer
	}
	if r.ctx.Err() != nil && errors.Is(err, r.ctx.Err()) {
		return r.ctx.Err()
	}
	var se *StateError
	if errors.As(err, &se) {
		return se
	}
	return &StateError{Err: err}
}

// fingerprint names what a call touches: what it runs and with what
// overrides, not its gas or fee fields, so eth_estimateGas of a call that
// eth_call just ran has the same.
func fingerprint(req *Request) common.Hash {
	a := req.Args
	a.Gas, a.GasPrice, a.MaxFeePerGas, a.MaxPriorityFeePerGas, a.BlobFeeCap = nil, nil, nil, nil, nil
	a.Blobs, a.Commitments, a.Proofs = nil, nil, nil
	b, _ := json.Marshal(struct {
		Args      *TransactionArgs
		State     StateOverride
		Overrides *BlockOverrides
	}{&a, req.State, req.Overrides})
	return crypto.Keccak256Hash(b)
}
