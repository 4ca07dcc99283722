// Package historytest builds a devnet chain whose blocks hold every kind of
// content braid keeps for history — ETH and token transfers with logs,
// contract creations, a reverted call, empty blocks and one transaction of
// every type go-ethereum knows (legacy, access list, dynamic fee, blob,
// set code) — and reads each block back in canonical RLP straight from
// go-ethereum (debug_getRawHeader, debug_getRawBlock,
// debug_getRawReceipts).
//
// It is a non-test package so that the tests of history, verify and the
// JSON renderer share one chain builder; nothing in production imports it.
package historytest

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/braidrpc/braid/internal/devnet"
)

// Block is one block as go-ethereum keeps it.
type Block struct {
	Header   *types.Header
	Body     *types.Body
	Receipts types.Receipts // consensus fields only (type, status, gas, bloom, logs)

	HeaderRLP   []byte // rlp(header)
	BodyRLP     []byte // rlp(body)
	ReceiptsRLP []byte // rlp(receipts), the consensus encoding (eth/68, era1)
	StorageRLP  []byte // the receipts as go-ethereum's database stores them
}

// Hash is the block's hash.
func (b *Block) Hash() common.Hash { return b.Header.Hash() }

// Number is the block's number.
func (b *Block) Number() uint64 { return b.Header.Number.Uint64() }

// Chain is a running devnet and its blocks from genesis to the head.
type Chain struct {
	Devnet *devnet.Devnet
	// Config is the devnet's chain configuration, which decides signers,
	// effective gas prices and blob fees.
	Config *params.ChainConfig
	// Blocks are the canonical blocks by number, genesis first.
	Blocks []*Block
	// Special names transactions of interest: "legacy", "accessList",
	// "create", "reverted", "blob", "setCode".
	Special map[string]common.Hash
}

// buildTimeout bounds a build whose caller set no deadline. It guards
// against a hang and sets no pace: the first build in a process computes
// the KZG tables and takes over a minute on a loaded two-core machine.
// The deadline is also what go-ethereum's RPC client gives each write to
// the in-process chain (a net.Pipe); without one it allows ten seconds,
// which a starved test process exceeded ("write pipe: i/o timeout").
const buildTimeout = 5 * time.Minute

// New starts a devnet, makes blocks of every kind and reads them back. The
// caller closes c.Devnet. ctx bounds the build only; without a deadline
// the build gets buildTimeout.
func New(ctx context.Context) (c *Chain, err error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, buildTimeout)
		defer cancel()
	}
	d, err := devnet.New(ctx, devnet.Options{Providers: 1})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	c = &Chain{Devnet: d, Config: params.AllDevChainProtocolChanges, Special: map[string]common.Hash{}}
	if err := c.makeBlocks(ctx); err != nil {
		return nil, err
	}
	if err := c.Reload(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Step adds one block of demo transactions (ETH and token transfers) and
// reloads the chain.
func (c *Chain) Step(ctx context.Context) error {
	if _, err := c.Devnet.Step(ctx); err != nil {
		return err
	}
	return c.Reload(ctx)
}

// makeBlocks commits the blocks after the devnet's setup (blocks 1 and 2:
// the token's deployment and funding).
func (c *Chain) makeBlocks(ctx context.Context) error {
	s, err := newSender(ctx, c.Devnet)
	if err != nil {
		return err
	}
	for range 2 {
		if _, err := c.Devnet.Step(ctx); err != nil {
			return err
		}
	}
	c.Devnet.Commit() // an empty block
	if err := s.olderKinds(ctx, c.Special); err != nil {
		return err
	}
	if err := s.commit(ctx); err != nil {
		return err
	}
	blobKey, err := s.fundFresh(ctx)
	if err != nil {
		return err
	}
	if err := s.commit(ctx); err != nil {
		return err
	}
	if err := s.newerKinds(ctx, blobKey, c.Special); err != nil {
		return err
	}
	if err := s.commit(ctx); err != nil {
		return err
	}
	for range 2 {
		if _, err := c.Devnet.Step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Reload reads every block from genesis to the head again.
func (c *Chain) Reload(ctx context.Context) error {
	var head hexutil.Uint64
	if err := c.Devnet.RPC().CallContext(ctx, &head, "eth_blockNumber"); err != nil {
		return fmt.Errorf("historytest: eth_blockNumber: %w", err)
	}
	blocks := make([]*Block, 0, head+1)
	for n := uint64(0); n <= uint64(head); n++ {
		b, err := c.readBlock(ctx, n)
		if err != nil {
			return fmt.Errorf("historytest: block %d: %w", n, err)
		}
		blocks = append(blocks, b)
	}
	c.Blocks = blocks
	return nil
}

// readBlock reads one block's raw header, block and receipts from geth.
func (c *Chain) readBlock(ctx context.Context, n uint64) (*Block, error) {
	var (
		rc        = c.Devnet.RPC()
		num       = hexutil.EncodeUint64(n)
		hdr, blk  hexutil.Bytes
		rawRcpts  []hexutil.Bytes
		decoded   types.Block
		receipts  types.Receipts
		storedRLP []*types.ReceiptForStorage
	)
	if err := rc.CallContext(ctx, &hdr, "debug_getRawHeader", num); err != nil {
		return nil, err
	}
	if err := rc.CallContext(ctx, &blk, "debug_getRawBlock", num); err != nil {
		return nil, err
	}
	if err := rc.CallContext(ctx, &rawRcpts, "debug_getRawReceipts", num); err != nil {
		return nil, err
	}
	if err := rlp.DecodeBytes(blk, &decoded); err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	for i, raw := range rawRcpts {
		r := new(types.Receipt)
		if err := r.UnmarshalBinary(raw); err != nil {
			return nil, fmt.Errorf("decode receipt %d: %w", i, err)
		}
		receipts = append(receipts, r)
		storedRLP = append(storedRLP, (*types.ReceiptForStorage)(r))
	}
	b := &Block{Header: decoded.Header(), Body: decoded.Body(), Receipts: receipts, HeaderRLP: hdr}
	var err error
	if b.BodyRLP, err = rlp.EncodeToBytes(b.Body); err != nil {
		return nil, err
	}
	if b.ReceiptsRLP, err = rlp.EncodeToBytes(receipts); err != nil {
		return nil, err
	}
	if b.StorageRLP, err = rlp.EncodeToBytes(storedRLP); err != nil {
		return nil, err
	}
	if b.Hash() != decoded.Hash() {
		return nil, fmt.Errorf("raw header and raw block disagree")
	}
	return b, nil
}

// Block returns the block with that hash, or nil.
func (c *Chain) Block(hash common.Hash) *Block {
	for _, b := range c.Blocks {
		if b.Hash() == hash {
			return b
		}
	}
	return nil
}

// Head is the last block.
func (c *Chain) Head() *Block { return c.Blocks[len(c.Blocks)-1] }

// ChainID is the devnet's chain id as a big integer.
func (c *Chain) ChainID() *big.Int { return new(big.Int).SetUint64(c.Devnet.ChainID()) }
