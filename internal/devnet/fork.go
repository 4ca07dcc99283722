package devnet

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
)

// Fork rewinds the chain's head to parent, a canonical block at or above
// the finalized one, for reorg tests: the blocks above it stop being
// canonical and the next committed block builds on parent. geth puts the
// dropped blocks' transactions back in the pool, so they are mined again
// by the next Commit or Step. Forking at the head does nothing.
//
// The rewind is seen at once: until blocks are committed on the new
// branch, the head is parent, and newHeads subscribers get parent's header
// (geth announces the new head). A fork needs an empty pool: commit pending
// transactions first.
func (d *Devnet) Fork(ctx context.Context, parent common.Hash) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	return d.fork(ctx, parent)
}

// fork is Fork with d.mu held.
func (d *Devnet) fork(ctx context.Context, parent common.Hash) error {
	p, err := d.eth.HeaderByHash(ctx, parent)
	if errors.Is(err, ethereum.NotFound) {
		return fmt.Errorf("devnet: fork: unknown block %s", parent)
	}
	if err != nil {
		return fmt.Errorf("devnet: fork: read block %s: %w", parent, err)
	}
	canon, err := d.eth.HeaderByNumber(ctx, p.Number)
	if err != nil {
		return fmt.Errorf("devnet: fork: read block %d: %w", p.Number, err)
	}
	if canon.Hash() != parent {
		return fmt.Errorf("devnet: fork: block %d (%s) is not on the canonical chain", p.Number, parent)
	}
	head, err := d.eth.HeaderByNumber(ctx, nil)
	if err != nil {
		return fmt.Errorf("devnet: fork: read head: %w", err)
	}
	if head.Hash() == parent {
		return nil
	}
	// A real chain never reorganises a finalized block, and braid may
	// rely on that; the simulated beacon finalizes every 32nd block.
	fin, err := d.eth.HeaderByNumber(ctx, big.NewInt(rpc.FinalizedBlockNumber.Int64()))
	if err != nil {
		return fmt.Errorf("devnet: fork: read finalized block: %w", err)
	}
	if p.Number.Cmp(fin.Number) < 0 {
		return fmt.Errorf("devnet: fork at block %d would drop finalized block %d", p.Number, fin.Number)
	}
	if err := d.backend.Fork(parent); err != nil {
		if err.Error() == "pending block dirty" { // geth's words for a non-empty pool
			return fmt.Errorf("devnet: fork at block %d: transactions are pending; commit them first", p.Number)
		}
		return fmt.Errorf("devnet: fork at block %d: %w", p.Number, err)
	}
	// The pool takes back the dropped blocks' transactions, the stream's
	// among them, so the pending nonce is usually what it was; read it
	// again for the cases where geth does not re-inject them all.
	d.resyncNonce()
	return nil
}

// Reorg replaces the newest depth blocks with a longer branch: it forks at
// block head−depth, then commits length blocks (length > depth), each
// with a round of demo transactions as Step sends (ETH and token
// transfers, so the new branch has Transfer logs; the first block also
// re-mines the dropped blocks' transactions). It returns the hashes of
// the dropped blocks and of the new branch's blocks, both in ascending
// order. The block loop cannot commit in between, but readers see the
// head go back to the fork point before it moves forward again (see
// Fork). If committing fails part way, the error comes with the blocks
// committed so far.
func (d *Devnet) Reorg(ctx context.Context, depth, length int) (dropped, added []common.Hash, err error) {
	if depth < 1 {
		return nil, nil, fmt.Errorf("devnet: reorg depth must be at least 1, got %d", depth)
	}
	if length <= depth {
		return nil, nil, fmt.Errorf("devnet: reorg length must be greater than its depth %d, so the new branch is longer; got %d", depth, length)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, nil, ErrClosed
	}
	head, err := d.eth.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("devnet: reorg: read head: %w", err)
	}
	if n := head.Number.Uint64(); uint64(depth) >= n {
		return nil, nil, fmt.Errorf("devnet: reorg depth %d must be less than the head's number %d", depth, n)
	}
	// Walk back from the head by parent hash: the dropped blocks, then the
	// fork point.
	dropped = make([]common.Hash, depth)
	h := head
	for i := depth - 1; i >= 0; i-- {
		dropped[i] = h.Hash()
		if h, err = d.eth.HeaderByHash(ctx, h.ParentHash); err != nil {
			return nil, nil, fmt.Errorf("devnet: reorg: read block %s: %w", dropped[i], err)
		}
	}
	if err := d.fork(ctx, h.Hash()); err != nil {
		return nil, nil, err
	}
	prev := h
	for i := range length {
		hash, err := d.step(ctx)
		if err == nil {
			prev, err = d.child(ctx, prev, hash)
		}
		if err != nil {
			return dropped, added, fmt.Errorf("devnet: reorg: block %d of %d on the new branch: %w", i+1, length, err)
		}
		added = append(added, hash)
	}
	return dropped, added, nil
}

// child returns the header of the block just committed, or an error unless
// it is a child of prev (the simulated beacon logs sealing errors rather
// than returning them, and Commit then answers the unchanged head).
func (d *Devnet) child(ctx context.Context, prev *types.Header, hash common.Hash) (*types.Header, error) {
	if hash == prev.Hash() {
		return nil, errors.New("no block was sealed")
	}
	h, err := d.eth.HeaderByHash(ctx, hash)
	if err != nil {
		return nil, fmt.Errorf("read block %s: %w", hash, err)
	}
	if h.ParentHash != prev.Hash() {
		return nil, fmt.Errorf("block %s does not build on %s", hash, prev.Hash())
	}
	return h, nil
}
