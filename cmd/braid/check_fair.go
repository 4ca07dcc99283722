package main

import (
	"fmt"
	"io"

	"github.com/braidrpc/braid/internal/config"
)

// writeFairAdmission prints, for a config that checks callers, how many
// calls each network runs at once for them, shared fairly, and where that
// number comes from (auth.max_inflight, or derived when unset), plus the
// warning braid gives at start when it is off.
func writeFairAdmission(cfg *config.Config, w io.Writer) error {
	if !cfg.AuthOn() {
		return nil
	}
	for _, n := range cfg.Networks {
		slots, from := cfg.FairSlots(n.Name)
		var err error
		switch {
		case from == "":
			_, err = fmt.Fprintf(w, "\nnetwork %s: fair admission: none (one required key, nobody to share with)\n", n.Name)
		case slots == 0:
			_, err = fmt.Fprintf(w, "\nnetwork %s: fair admission: off (auth.max_inflight)\n", n.Name)
		default:
			_, err = fmt.Fprintf(w, "\nnetwork %s: fair admission: max_inflight %d (%s)\n", n.Name, slots, from)
		}
		if err != nil {
			return err
		}
	}
	for _, warn := range cfg.AuthWarnings() {
		if _, err := fmt.Fprintf(w, "warning: %s\n", warn); err != nil {
			return err
		}
	}
	return nil
}
