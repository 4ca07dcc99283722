package beacon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
)

// This file is the trust root of trust: beacon. The network's served tip
// (latest, safe, finalized) follows its own light client: the execution
// block hash the sync committee signed is the served latest block once a
// provider gives its header, which must hash to it (a mismatch is that
// operator's lie, through the verified reader). Operators' heads only say
// who can answer: the header is asked only of upstreams whose head reaches
// it. Nothing here comes from Redis: each replica runs its own light
// client.

// Tips is where the served tip is kept (head.Tracker with External).
type Tips interface {
	Tip() block.Tip
	SetTip(block.Tip)
}

// Headers gives the header of an execution block hash, checked to hash to
// it (trust.Reader).
type Headers interface {
	Header(ctx context.Context, hash common.Hash) (*types.Header, error)
}

// RootOptions connect a Root to its network.
type RootOptions struct {
	Tips    Tips
	Headers Headers
	// Timeout bounds one header fetch; Retry is how soon a head no
	// provider gave is asked for again.
	Timeout, Retry time.Duration
	Clock          clock.Clock
	Logger         *slog.Logger
}

// Root feeds a network's served tip from a light client and is the
// verified reader's trust root (trust.Root, trust.Explainer).
type Root struct {
	lc         *Client
	o          RootOptions
	maxHeadAge time.Duration

	mu      sync.Mutex
	served  *Head       // the signed head the tip serves
	fin     block.Block // the served finalized block
	pending string      // why the newest signed head is not served yet
}

// NewRoot builds the light client of cfg and the root serving its heads.
func NewRoot(cfg Config, o RootOptions) (*Root, error) {
	lc, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &Root{lc: lc, o: o, maxHeadAge: lc.cfg.MaxHeadAge}, nil
}

// ConfigOf maps a network's trust section onto the light client's
// configuration (Clock, Logger and Registerer left to the caller). The
// beacon network takes braid's network name, so logs, metrics and the
// checkpoint file match the rest of braid.
func ConfigOf(nc config.Network) (Config, error) {
	t := nc.Trust
	var net Network
	if preset := t.Preset(nc.ChainID); preset != "" {
		p, err := NetworkByName(preset)
		if err != nil {
			return Config{}, err
		}
		net = p
	} else if c := t.BeaconChain; c != nil {
		net = Network{GenesisTime: c.GenesisTime, GenesisValidatorsRoot: common.BytesToHash(config.Hex(c.GenesisValidatorsRoot)),
			SlotDuration: c.SlotDuration}
		for _, f := range c.Forks {
			var v [4]byte
			copy(v[:], config.Hex(f.Version))
			net.Forks = append(net.Forks, Fork{Name: strings.ToUpper(f.Name), Epoch: f.Epoch, Version: v})
		}
	} else {
		return Config{}, fmt.Errorf("trust: chain %d has no light-client preset and no trust.beacon_chain", nc.ChainID)
	}
	net.Name = nc.Name
	cfg := Config{Network: net, CheckpointMaxAge: time.Duration(t.CheckpointMaxAge), MaxHeadAge: t.MaxHeadAge, DataDir: t.DataDir}
	if t.Checkpoint != "" {
		cfg.Checkpoint = common.BytesToHash(config.Hex(t.Checkpoint))
	}
	if preset := t.Preset(nc.ChainID); preset != "" {
		cfg.DefaultCheckpoint, _ = PresetCheckpoint(preset)
	}
	for _, a := range t.BeaconAPIs {
		cfg.APIs = append(cfg.APIs, Endpoint{Name: a.Name, URL: a.URL, Headers: a.Headers})
	}
	return cfg, nil
}

// Start starts the light client.
func (b *Root) Start() error { return b.lc.Start() }

// Close stops the light client.
func (b *Root) Close() error { return b.lc.Close() }

// Run follows the light client until ctx ends: each new signed head (or a
// retry, while no provider gave its header) updates the served tip.
func (b *Root) Run(ctx context.Context) {
	changed, stop := b.lc.Watch()
	defer stop()
	for {
		var retry <-chan time.Time
		if !b.update(ctx) {
			retry = b.o.Clock.After(b.o.Retry)
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
func (b *Root) update(ctx context.Context) bool {
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
			tip := b.o.Tips.Tip()
			tip.Safe, tip.Finalized = f, f
			b.o.Tips.SetTip(tip)
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
	b.o.Tips.SetTip(block.Tip{Latest: latest, Safe: f, Finalized: f})
	return true
}

// finalized returns the light client's finalized block, or prev while it
// is unchanged or its header cannot be had. Safe is the finalized block
// too: the light-client API carries no safe head, and finalized is safe.
func (b *Root) finalized(ctx context.Context, prev block.Block) block.Block {
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

func (b *Root) setPending(h Head, err error) {
	msg := fmt.Sprintf("signed head at slot %d (block %s) not served yet: no provider gave its header: %s",
		h.Slot, h.BlockHash.TerminalString(), err)
	b.mu.Lock()
	changed := b.pending != msg
	b.pending = msg
	b.mu.Unlock()
	if changed {
		b.o.Logger.Debug("trusted head not served yet", "slot", h.Slot, "hash", h.BlockHash, "err", err)
	}
}

// block returns the identity of the execution block hash, from the
// verified reader's header: the header a provider gives must hash to it.
// number (0: unknown, from Gloas on) must match the header's.
func (b *Root) block(ctx context.Context, hash common.Hash, number uint64) (block.Block, error) {
	ctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
	defer cancel()
	h, err := b.o.Headers.Header(ctx, hash)
	if err != nil {
		return block.Block{}, err
	}
	if number != 0 && h.Number.Uint64() != number {
		return block.Block{}, fmt.Errorf("header %s has number %d, the sync committee signed %d", hash.TerminalString(), h.Number, number)
	}
	return block.Block{Number: h.Number.Uint64(), Hash: hash, ParentHash: h.ParentHash}, nil
}

// Trusted is the trust root (trust.Root): the served tip while it is the
// light client's fresh signed head, and nothing while the light client is
// not ready or its head is stale, so verified reads fail rather than
// answer about old state.
func (b *Root) Trusted() block.Tip {
	if b.Problem() != "" {
		return block.Tip{}
	}
	return b.o.Tips.Tip()
}

// Untrusted says why Trusted is empty (trust.Explainer).
func (b *Root) Untrusted() string { return b.Problem() }

// Problem says why the network cannot serve now, or "": the light client
// is not ready, or the head it serves is older than max_head_age because
// no provider gave the newer one.
func (b *Root) Problem() string {
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
	if age := b.o.Clock.Now().Sub(b.served.SlotTime); age > b.maxHeadAge {
		msg := fmt.Sprintf("trust beacon: served head at slot %d is %v old, over max_head_age %v", b.served.Slot, age.Round(time.Second), b.maxHeadAge)
		if b.pending != "" {
			msg += "; " + b.pending
		}
		return msg
	}
	return ""
}

// RootStatus is the light client's state with what braid serves from it.
type RootStatus struct {
	Status
	// Serving is the signed head the served tip is (absent before one).
	Serving *Head `json:"serving,omitempty"`
	// Pending says why the newest signed head is not served yet.
	Pending string `json:"pending,omitempty"`
}

// Status is the light client's state and the head the tip serves.
func (b *Root) Status() *RootStatus {
	s := &RootStatus{Status: b.lc.Status()}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.served != nil {
		h := *b.served
		s.Serving = &h
	}
	s.Pending = b.pending
	return s
}
