package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/beacon"
	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/trust"
)

// This file is the tip source of trust: beacon. The network's served tip
// (latest, safe, finalized) follows its own beacon light client: the
// execution block hash the sync committee signed is the served latest
// block once a provider gives its header, which must hash to it (a
// mismatch is that operator's lie). Operators' heads only say who can
// answer: the header is asked only of upstreams whose head reaches it.
// Nothing here comes from Redis: each replica runs its own light client.

// beaconTip feeds a network's head tracker (head.Options.External) from a
// light client.
type beaconTip struct {
	n          *Network
	lc         *beacon.Client
	maxHeadAge time.Duration
	retry      time.Duration // how soon a head no provider gave is asked for again

	mu      sync.Mutex
	served  *beacon.Head // the signed head the tip serves
	fin     block.Block  // the served finalized block
	pending string       // why the newest signed head is not served yet
}

// newBeaconTip builds the light client of network nc (trust: beacon).
func newBeaconTip(nc config.Network, opts Options) (*beaconTip, error) {
	cfg, err := beaconConfig(nc, opts)
	if err != nil {
		return nil, err
	}
	lc, err := beacon.New(cfg)
	if err != nil {
		return nil, err
	}
	return &beaconTip{lc: lc, maxHeadAge: cfg.MaxHeadAge, retry: max(nc.Head.PollInterval/2, 50*time.Millisecond)}, nil
}

// beaconConfig maps a network's trust section onto the light client's
// configuration. The beacon network takes braid's network name, so logs,
// metrics and the checkpoint file match the rest of braid.
func beaconConfig(nc config.Network, opts Options) (beacon.Config, error) {
	t := nc.Trust
	var net beacon.Network
	if preset := t.Preset(nc.ChainID); preset != "" {
		p, err := beacon.NetworkByName(preset)
		if err != nil {
			return beacon.Config{}, err
		}
		net = p
	} else if c := t.BeaconChain; c != nil {
		net = beacon.Network{GenesisTime: c.GenesisTime, GenesisValidatorsRoot: common.BytesToHash(config.Hex(c.GenesisValidatorsRoot)),
			SlotDuration: c.SlotDuration}
		for _, f := range c.Forks {
			var v [4]byte
			copy(v[:], config.Hex(f.Version))
			net.Forks = append(net.Forks, beacon.Fork{Name: strings.ToUpper(f.Name), Epoch: f.Epoch, Version: v})
		}
	} else {
		return beacon.Config{}, fmt.Errorf("trust: chain %d has no light-client preset and no trust.beacon_chain", nc.ChainID)
	}
	net.Name = nc.Name
	cfg := beacon.Config{
		Network:          net,
		CheckpointMaxAge: time.Duration(t.CheckpointMaxAge),
		MaxHeadAge:       t.MaxHeadAge,
		DataDir:          t.DataDir,
		Clock:            opts.Clock,
		Logger:           opts.Logger,
		Registerer:       opts.Registry,
	}
	if t.Checkpoint != "" {
		cfg.Checkpoint = common.BytesToHash(config.Hex(t.Checkpoint))
	}
	if preset := t.Preset(nc.ChainID); preset != "" {
		cfg.DefaultCheckpoint, _ = beacon.PresetCheckpoint(preset)
	}
	for _, a := range t.BeaconAPIs {
		cfg.APIs = append(cfg.APIs, beacon.Endpoint{Name: a.Name, URL: a.URL, Headers: a.Headers})
	}
	return cfg, nil
}

// run follows the light client until ctx ends: each new signed head (or a
// retry, while no provider gave its header) updates the served tip.
func (b *beaconTip) run(ctx context.Context) {
	changed, stop := b.lc.Watch()
	defer stop()
	for {
		var retry <-chan time.Time
		if !b.update(ctx) {
			retry = b.n.clock.After(b.retry)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-retry:
		}
	}
}

// update serves the light client's newest head. It returns false when
// that head is not served yet and should be tried again.
func (b *beaconTip) update(ctx context.Context) bool {
	h, err := b.lc.Head()
	if err != nil || h.BlockHash == (common.Hash{}) {
		return true // not ready: the tip stays; readiness says why
	}
	b.mu.Lock()
	same := b.served != nil && b.served.BlockHash == h.BlockHash
	fin := b.fin
	b.mu.Unlock()
	if same {
		if f := b.finalized(ctx, fin); f != fin {
			tip := b.n.head.Tip()
			tip.Safe, tip.Finalized = f, f
			b.n.head.SetTip(tip)
		}
		return true
	}
	latest, err := b.block(ctx, h.BlockHash, h.BlockNumber)
	if err != nil {
		b.setPending(h, err)
		return false
	}
	f := b.finalized(ctx, fin)
	h.BlockNumber = latest.Number // from the header from Gloas on
	b.mu.Lock()
	b.served, b.pending = &h, ""
	b.mu.Unlock()
	b.n.head.SetTip(block.Tip{Latest: latest, Safe: f, Finalized: f})
	return true
}

// finalized returns the light client's finalized block, or prev while it
// is unchanged or its header cannot be had. Safe is the finalized block
// too: the light-client API carries no safe head, and finalized is safe.
func (b *beaconTip) finalized(ctx context.Context, prev block.Block) block.Block {
	f, ok := b.lc.Finalized()
	if !ok || f.BlockHash == prev.Hash || f.BlockHash == (common.Hash{}) {
		return prev
	}
	blk, err := b.block(ctx, f.BlockHash, f.BlockNumber)
	if err != nil || blk.Number < prev.Number {
		return prev
	}
	b.mu.Lock()
	b.fin = blk
	b.mu.Unlock()
	return blk
}

func (b *beaconTip) setPending(h beacon.Head, err error) {
	msg := fmt.Sprintf("signed head at slot %d (block %s) not served yet: no provider gave its header: %s",
		h.Slot, h.BlockHash.TerminalString(), err)
	b.mu.Lock()
	changed := b.pending != msg
	b.pending = msg
	b.mu.Unlock()
	if changed {
		b.n.log.Debug("trusted head not served yet", "slot", h.Slot, "hash", h.BlockHash, "err", err)
	}
}

// block returns the identity of the execution block hash, from the
// verified reader's header: the header a provider gives must hash to it
// (a mismatch is that operator's lie, through the reader's OnLie). number
// (0: unknown, from Gloas on) must match the header's.
func (b *beaconTip) block(ctx context.Context, hash common.Hash, number uint64) (block.Block, error) {
	ctx, cancel := context.WithTimeout(ctx, b.n.timeout)
	defer cancel()
	h, err := b.n.trust.Header(ctx, hash)
	if err != nil {
		return block.Block{}, err
	}
	if number != 0 && h.Number.Uint64() != number {
		return block.Block{}, fmt.Errorf("header %s has number %d, the sync committee signed %d", hash.TerminalString(), h.Number, number)
	}
	return block.Block{Number: h.Number.Uint64(), Hash: hash, ParentHash: h.ParentHash}, nil
}

// Trusted is the trust root of trust: beacon (trust.Root): the served tip
// while it is the light client's fresh signed head, and nothing while the
// light client is not ready or its head is stale, so verified reads fail
// rather than answer about old state.
func (b *beaconTip) Trusted() block.Tip {
	if b.problem() != "" {
		return block.Tip{}
	}
	return b.n.head.Tip()
}

// problem says why the network cannot serve now, or "": the light client
// is not ready, or the head it serves is older than max_head_age because
// no provider gave the newer one.
func (b *beaconTip) problem() string {
	if err := b.lc.Ready(); err != nil {
		return "trust beacon: " + err.Error()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.served == nil {
		if b.pending != "" {
			return "trust beacon: " + b.pending
		}
		return "trust beacon: no signed head served yet"
	}
	if age := b.n.clock.Now().Sub(b.served.SlotTime); age > b.maxHeadAge {
		msg := fmt.Sprintf("trust beacon: served head at slot %d is %v old, over max_head_age %v", b.served.Slot, age.Round(time.Second), b.maxHeadAge)
		if b.pending != "" {
			msg += "; " + b.pending
		}
		return msg
	}
	return ""
}

// BeaconStatus is the light client's state with what braid serves from it.
type BeaconStatus struct {
	beacon.Status
	// Serving is the signed head the served tip is (absent before one).
	Serving *beacon.Head `json:"serving,omitempty"`
	// Pending says why the newest signed head is not served yet.
	Pending string `json:"pending,omitempty"`
}

func (b *beaconTip) status() *BeaconStatus {
	s := &BeaconStatus{Status: b.lc.Status()}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.served != nil {
		h := *b.served
		s.Serving = &h
	}
	s.Pending = b.pending
	return s
}

// startBeacon starts n's light client (trust: beacon) and the loop that
// serves its heads.
func (g *Gateway) startBeacon(ctx context.Context, n *Network) {
	if n.beacon == nil {
		return
	}
	if err := n.beacon.lc.Start(); err != nil {
		g.log.Error("beacon light client did not start", "network", n.Name, "err", err)
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		bctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(g.ctx, cancel)()
		n.beacon.run(bctx)
	}()
}

// closeBeacons stops every network's light client.
func (g *Gateway) closeBeacons() {
	for _, n := range g.networks {
		if n.beacon != nil {
			_ = n.beacon.lc.Close()
		}
	}
}

// needsTrustedTip refuses, under trust: beacon, a read braid would pin to
// the tip while it has none, or while the light client is not ready (a
// stale head): forwarding it unpinned would let the operators' chain
// answer it, pinning it to an old head would answer about old state.
func (n *Network) needsTrustedTip(pl *plan.Plan, tip block.Tip) error {
	if n.beacon == nil || pl.Spec == nil || pl.Kind != plan.Forward {
		return nil
	}
	why := n.beacon.problem()
	if tip.Known && why == "" {
		return nil
	}
	if why == "" {
		why = "trust beacon: no signed head served yet"
	}
	return jsonrpc.Errorf(jsonrpc.CodeUnavailable, "no trusted block yet on network %s: %s", n.Name, why)
}

// Untrusted says why Trusted is empty (trust.Explainer).
func (b *beaconTip) Untrusted() string { return b.problem() }

var (
	_ trust.Root      = (*beaconTip)(nil)
	_ trust.Explainer = (*beaconTip)(nil)
)
