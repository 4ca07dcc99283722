package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/ledger"
	"github.com/braidrpc/braid/internal/peers"
	"github.com/braidrpc/braid/internal/verify"
)

// LedgerDir is where a network's peer ledger (issue 16) lives: a sibling
// of its history store's directory, never inside pebble's own.
func LedgerDir(storePath string) string {
	return strings.TrimRight(storePath, "/") + "-ledger"
}

// openLedger opens the network's ledger (persisted in LedgerDir). Its
// metrics go to the gateway's registry for the first network only (one
// registry takes one ledger, as one peer node).
func openLedger(pc config.Peers, opts Options, hr *historyRegistry, head func() (uint64, bool), a *archive) (*ledger.Ledger, error) {
	lo := ledger.Options{Config: ledger.Config(pc.Ledger), Head: head, Clock: opts.Clock, Logger: a.log.With("component", "ledger")}
	if opts.Registry != nil && !hr.ledger {
		lo.Registerer = opts.Registry
		hr.ledger = true
	}
	led, err := ledger.Open(LedgerDir(pc.Store.Path), lo)
	if err != nil {
		return nil, fmt.Errorf("peers.ledger: %w", err)
	}
	return led, nil
}

// startLedger runs the network's ledger tasks (audits, holder counts,
// repair, flushes) until the archive closes: they stop after the peer
// node (archive.close), not with the gateway's context, so the ledger's
// last flush sees every transfer.
func (g *Gateway) startLedger(n *Network) {
	a := n.archive
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ledDone != nil || a.ledCtx.Err() != nil {
		return
	}
	a.ledDone = make(chan struct{})
	go func() {
		defer close(a.ledDone)
		_ = a.led.Run(a.ledCtx, ledger.Tasks{Network: a.node, Headers: fillSource{n}, Store: a.store, Fill: n.ledgerFill})
	}()
}

// ledgerFill is the ledger's repair (ledger.Fill): block number's header
// from braid's trusted path (it must have hash), its body and receipts
// from peers, checked and kept by the store's verifying PutBlockRLP. A
// store that would not take it returns an error wrapping history.ErrFull.
func (n *Network) ledgerFill(ctx context.Context, number uint64, hash common.Hash) error {
	a := n.archive
	h, err := fillSource{n}.Header(ctx, number)
	if err != nil {
		return err
	}
	if h.Hash() != hash {
		return fmt.Errorf("history: block %d is %s on the trusted path, not %s", number, h.Hash(), hash)
	}
	if a.store.Has(hash, history.AllParts) {
		return nil
	}
	age := n.ageOf(h)
	body, _, err := a.node.Fetch(ctx, peers.Key{Kind: peers.Body, Hash: hash}, age, peers.CheckBody(h))
	if err != nil {
		return err
	}
	// The store's verifying write is the check: receipts that fail it are
	// the peer's lie; its own errors (history.ErrFull) are returned as is.
	_, _, err = a.node.Fetch(ctx, peers.Key{Kind: peers.Receipts, Hash: hash}, age, func(raw []byte) error {
		return a.store.PutBlockRLP(h, body, raw, verify.ReceiptsStorage, true)
	})
	return err
}

// ErrNoPeers is returned by PeersStatus for a network without
// peers.enabled.
var ErrNoPeers = fmt.Errorf("%w: no peer ledger", ErrNoHistory)

// PeersHandler is the network's /status/peers page (ledger.Handler).
func (n *Network) PeersHandler() (http.Handler, error) {
	if n.archive == nil {
		return nil, ErrNoPeers
	}
	return n.archive.led.Handler(), nil
}

// Ledger is the network's peer ledger, for braid check (nil without
// peers.enabled).
func (n *Network) Ledger() *ledger.Ledger {
	if n.archive == nil {
		return nil
	}
	return n.archive.led
}

// PeerNode is the network's peer node, for braid check's survey (nil
// without peers.enabled).
func (n *Network) PeerNode() *peers.Node {
	if n.archive == nil {
		return nil
	}
	return n.archive.node
}

// TrustedHeaders gives canonical headers from braid's trusted path (the
// history filler's), for braid check's survey.
func (n *Network) TrustedHeaders() history.HeaderSource { return fillSource{n} }
