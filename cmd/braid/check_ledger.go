package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/braidrpc/braid/internal/archive"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/ledger"
)

// writeLedgers prints, for each network with peers enabled, how widely
// the history this gateway holds is held (ledger.Availability), read from
// the ledger a gateway persisted (archive.LedgerDir). braid check runs no
// gateway and no peer node: the head is unknown (blocks are not placed by
// age), and the live survey of holders per age bucket
// (ledger.SurveyOnce) is not run; a running gateway shows both at
// GET /status/peers. A ledger a running gateway holds open cannot be read
// here and is said so.
func writeLedgers(cfg *config.Config, w io.Writer) error {
	for _, n := range cfg.Networks {
		if !n.Peers.Enabled {
			continue
		}
		dir := archive.LedgerDir(n.Peers.Store.Path)
		if _, err := fmt.Fprintf(w, "\nnetwork %s: peer ledger %s\n", n.Name, dir); err != nil {
			return err
		}
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintln(w, "  no ledger yet: the gateway has not run with peers enabled")
			continue
		}
		led, err := ledger.Open(dir, ledger.Options{Config: ledger.Config(n.Peers.Ledger), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			fmt.Fprintf(w, "  cannot read it (%v): a running gateway holds it; see GET /status/peers?network=%s\n", err, n.Name)
			continue
		}
		err = led.Availability().WriteText(w)
		fmt.Fprintf(w, "  (offline: head unknown; the live holder survey runs only in a gateway: GET /status/peers?network=%s)\n", n.Name)
		if cerr := led.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
