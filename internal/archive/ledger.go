package archive

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
func openLedger(pc config.Peers, reg *Registry, head func() (uint64, bool), a *Archive) (*ledger.Ledger, error) {
	lo := ledger.Options{Config: ledger.Config(pc.Ledger), Head: head, Clock: a.clock, Logger: a.log.With("component", "ledger"),
		Registerer: reg.takeLedger()}
	led, err := ledger.Open(LedgerDir(pc.Store.Path), lo)
	if err != nil {
		return nil, fmt.Errorf("peers.ledger: %w", err)
	}
	return led, nil
}

// ledgerFill is the ledger's repair (ledger.Fill): block number's header
// from braid's trusted path (it must have hash), its body and receipts
// from peers, checked and kept by the store's verifying PutBlockRLP. A
// store that would not take it returns an error wrapping history.ErrFull.
func (a *Archive) ledgerFill(ctx context.Context, number uint64, hash common.Hash) error {
	h, prov, err := fillSource{a}.CanonicalHeader(ctx, number)
	if err != nil {
		return err
	}
	if h.Hash() != hash {
		return fmt.Errorf("history: block %d is %s on the trusted path, not %s", number, h.Hash(), hash)
	}
	if a.store.Has(hash, history.AllParts) {
		return nil
	}
	age := a.ageOf(h)
	body, _, err := a.node.Fetch(ctx, peers.Key{Kind: peers.Body, Hash: hash}, age, peers.CheckBody(h))
	if err != nil {
		return err
	}
	// The store's verifying write is the check: receipts that fail it are
	// the peer's lie; its own errors (history.ErrFull) are returned as is.
	_, _, err = a.node.Fetch(ctx, peers.Key{Kind: peers.Receipts, Hash: hash}, age, func(raw []byte) error {
		return a.store.PutBlockRLP(h, body, raw, verify.ReceiptsStorage, prov)
	})
	return err
}

// PeersHandler is the network's /status/peers page (ledger.Handler).
func (a *Archive) PeersHandler() http.Handler { return a.led.Handler() }
