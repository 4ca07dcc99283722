package beaconsim

import (
	"context"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common/hexutil"
	ctypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid/internal/config"
)

// Follow feeds the simulator every new head of an execution chain (a
// newHeads subscription over c, e.g. a devnet's in-process RPC client)
// until ctx ends or the subscription fails. With no block fed yet, the
// chain's current head is fed first: the anchor. ready, if not nil, is
// called once the subscription is open and the anchor fed. Give the
// simulator slots shorter than the chain's block time: a block takes the
// current slot or the next free one, so blocks as frequent as slots drift
// ahead of the clock whenever two come close together.
func (s *Sim) Follow(ctx context.Context, c *rpc.Client, ready func()) error {
	ec := ethclient.NewClient(c)
	heads := make(chan *ctypes.Header, 64)
	sub, err := ec.SubscribeNewHead(ctx, heads)
	if err != nil {
		return fmt.Errorf("beaconsim: subscribe to new heads: %w", err)
	}
	defer sub.Unsubscribe()
	if _, err := s.Head(); err == ErrNoBlock {
		h, err := ec.HeaderByNumber(ctx, nil)
		if err != nil {
			return fmt.Errorf("beaconsim: read the anchor: %w", err)
		}
		if _, err := s.AddBlock(h); err != nil {
			return err
		}
	}
	if ready != nil {
		ready()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-sub.Err():
			if err == nil {
				return nil
			}
			return fmt.Errorf("beaconsim: new heads: %w", err)
		case h := <-heads:
			if last, err := s.Head(); err == nil && last.BlockNumber >= h.Number.Uint64() {
				continue // a reorg or a repeat: the simulated chain only grows
			}
			if _, err := s.AddBlock(h); err != nil {
				return err
			}
		}
	}
}

// BeaconChain describes the simulated chain as braid's trust.beacon_chain
// configuration takes it.
func (s *Sim) BeaconChain() *config.BeaconChain {
	c := s.ChainConfig()
	bc := &config.BeaconChain{GenesisTime: c.GenesisTime, GenesisValidatorsRoot: c.GenesisValidatorsRoot.Hex(),
		SlotDuration: s.SlotDuration()}
	for _, f := range c.Forks {
		bc.Forks = append(bc.Forks, config.BeaconFork{Name: strings.ToUpper(f.Name), Epoch: f.Epoch, Version: hexutil.Encode(f.Version)})
	}
	return bc
}
