package ledger

import "github.com/braidrpc/braid/internal/config"

// Config holds every factor of the ledger's economics: the section
// networks[].peers.ledger, defined (with its defaults and Validate) in
// internal/config. A zero field takes its default (DefaultConfig); a
// negative interval turns its task off.
type Config = config.PeerLedger

// DefaultConfig is the configuration a zero field takes its value from.
var DefaultConfig = config.DefaultPeerLedger
