package evm

import (
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
)

// maxHashWindow is the most ancestors' hashes one walk step fetches: the
// reach of BLOCKHASH.
const maxHashWindow = 256

// ancestors serves BLOCKHASH for a call's block: the parent's hash from
// the header, older ones from the EIP-2935 history contract's storage in
// the block's own proven state (which holds exactly the block's
// ancestors, canonical or not), and from the Source where that storage
// cannot tell (before Prague, or before the contract held them).
type ancestors struct {
	r      *reader
	config *params.ChainConfig
	block  *types.Header

	mu     sync.Mutex
	known  map[uint64]common.Hash
	window uint64 // how many hashes the next walk step fetches
}

func newAncestors(r *reader, config *params.ChainConfig, block *types.Header) *ancestors {
	return &ancestors{r: r, config: config, block: block, known: map[uint64]common.Hash{}, window: 1}
}

// hash is the hash of the block's ancestor number n, as the EVM's GetHash
// answers: zero for the block itself and later ones, and zero when it
// cannot be proven (the failure is recorded in the reader).
func (a *ancestors) hash(n uint64) common.Hash {
	head := a.block.Number.Uint64()
	switch {
	case n >= head:
		return common.Hash{}
	case n == head-1:
		return a.block.ParentHash
	}
	if h, ok := a.lookup(n); ok {
		return h
	}
	a.fetch([]uint64{n})
	h, _ := a.lookup(n)
	return h
}

func (a *ancestors) lookup(n uint64) (common.Hash, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h, ok := a.known[n]
	return h, ok
}

// parentOf is the hash of block number-1 for a walk down the chain, which
// goes on block by block: each fetch takes twice as many hashes below as
// the last, up to BLOCKHASH's reach.
func (a *ancestors) parentOf(number uint64) common.Hash {
	if number == 0 {
		return common.Hash{}
	}
	n := number - 1
	if n+1 == a.block.Number.Uint64() {
		return a.block.ParentHash
	}
	if h, ok := a.lookup(n); ok {
		return h
	}
	a.mu.Lock()
	w := min(a.window, n+1)
	a.window = min(2*a.window, maxHashWindow)
	a.mu.Unlock()
	var numbers []uint64
	for m := n + 1 - w; m <= n; m++ {
		if _, ok := a.lookup(m); !ok {
			numbers = append(numbers, m)
		}
	}
	a.fetch(numbers)
	h, _ := a.lookup(n)
	return h
}

// fetch proves the hashes of numbers (all below the block's parent).
func (a *ancestors) fetch(numbers []uint64) {
	rest := numbers
	if a.config.IsPrague(a.block.Number, a.block.Time) {
		rest = a.fromHistory(numbers)
	}
	if len(rest) == 0 || !a.r.spend() {
		return
	}
	hashes, err := a.r.src.BlockHashes(a.r.context(), a.block, rest)
	a.r.count(func(s *Stats) { s.BlockHashes++; s.Misses++ })
	switch {
	case err != nil:
		a.r.fail(err)
		return
	case len(hashes) != len(rest):
		a.r.fail(contractErr("%d block hashes for %d numbers", len(hashes), len(rest)))
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, n := range rest {
		a.known[n] = hashes[i]
	}
}

// fromHistory reads numbers' hashes from the history contract's proven
// storage and returns the numbers it holds none for.
func (a *ancestors) fromHistory(numbers []uint64) []uint64 {
	slots := make([]common.Hash, len(numbers))
	for i, n := range numbers {
		slots[i] = common.BigToHash(new(big.Int).SetUint64(n % params.HistoryServeWindow))
	}
	if err := a.r.load([]Query{{Address: params.HistoryStorageAddress, Slots: slots}}, true); err != nil {
		return nil
	}
	var rest []uint64
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, n := range numbers {
		h, _ := a.r.slot(params.HistoryStorageAddress, slots[i])
		if h == (common.Hash{}) {
			rest = append(rest, n)
			continue
		}
		a.known[n] = h
	}
	return rest
}

// chainContext is the chain as go-ethereum's block context and gas
// estimator see it: the call's block, its ancestors by hash and number
// (headers carrying only what BLOCKHASH's walk reads: number and parent
// hash), and the consensus engine that names the fee recipient.
type chainContext struct {
	config *params.ChainConfig
	engine consensus.Engine
	block  *types.Header
	hash   common.Hash
	anc    *ancestors
}

var _ core.ChainContext = (*chainContext)(nil)

func (c *chainContext) Config() *params.ChainConfig { return c.config }
func (c *chainContext) Engine() consensus.Engine    { return c.engine }
func (c *chainContext) CurrentHeader() *types.Header {
	return c.block
}

// GetHeader returns the block or one of its ancestors, nil when hash is
// not that block's (as a node's database answers).
func (c *chainContext) GetHeader(hash common.Hash, number uint64) *types.Header {
	head := c.block.Number.Uint64()
	switch {
	case number == head && hash == c.hash:
		return c.block
	case number >= head:
		return nil
	case c.anc.hash(number) != hash:
		return nil
	}
	return &types.Header{Number: new(big.Int).SetUint64(number), ParentHash: c.anc.parentOf(number)}
}

func (c *chainContext) GetHeaderByNumber(number uint64) *types.Header {
	if number == c.block.Number.Uint64() {
		return c.block
	}
	return nil
}

func (c *chainContext) GetHeaderByHash(hash common.Hash) *types.Header {
	if hash == c.hash {
		return c.block
	}
	return nil
}
