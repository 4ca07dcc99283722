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

// writeLedgers prints, for each network with peers enabled, the history
// availability a gateway persisted in its ledger (archive.LedgerDir): the
// holders per age bucket of the chain at its last survey
// (ledger.LastSurvey, taken every survey_interval) and how widely the
// history this gateway holds is held (ledger.Availability), its blocks
// placed by age from the last tip the gateway saw. braid check runs no
// gateway and no peer node, so the figures are as of the gateway's last
// run; a running gateway shows them live at GET /status/peers. A ledger a
// running gateway holds open cannot be read here and is said so.
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
		if sv, ok := led.LastSurvey(); ok {
			err = sv.WriteText(w)
		} else {
			_, err = fmt.Fprintln(w, "  no history survey yet: a gateway surveys the network every survey_interval once its tip is known")
		}
		if err == nil {
			err = led.Availability().WriteText(w)
		}
		if err == nil {
			_, err = fmt.Fprintf(w, "  (as of the gateway's last run; live: GET /status/peers?network=%s)\n", n.Name)
		}
		if cerr := led.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
