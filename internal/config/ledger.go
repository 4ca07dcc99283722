package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// PeerLedger is the section networks[].peers.ledger: every factor of the
// peer economy's accounts (internal/ledger, issue 16), whose Config it is.
// A zero field takes its default (DefaultPeerLedger); a negative interval
// turns its task off. Durations are strings such as "5m". It lives here,
// not in internal/ledger, so that Validate checks it with the rest of the
// file and the ledger needs no copy.
type PeerLedger struct {
	// AgeDepth is the depth from which content is old (default 128): a
	// block more than 127 below the tip, as Lava prices archive requests
	// for blocks older than latest−127.
	AgeDepth uint64 `yaml:"age_depth"`
	// AgeMultiplier is the price factor of old content (default 5, Lava's
	// archive multiplier): old content costs a holder five times the
	// storage of new content over its life, and providers no longer serve
	// it (EIP-4444), so it is worth more to whoever still can.
	AgeMultiplier float64 `yaml:"age_multiplier"`
	// TargetCopies is how many copies of a piece of content the network
	// should hold (default 8): with peers online half of the time and
	// independently, 8 copies leave it unreachable 0.4 % of the time
	// (0.5⁸); more copies than that earn no rarity premium.
	TargetCopies float64 `yaml:"target_copies"`
	// RarityCap caps the rarity factor TargetCopies/copies (default 8,
	// which is TargetCopies: the only copy earns eight times a common
	// one). A lower cap limits what a peer gains by keeping content
	// nobody else announces, should rarity estimates be gamed.
	RarityCap float64 `yaml:"rarity_cap"`
	// UnknownCopies is the copies assumed for content whose holders were
	// never counted (default 4, half of TargetCopies: a rarity factor of
	// 2, between content known to be common and content known to be rare).
	// The store's keeper values a new block (less than AgeDepth deep: the
	// providers still serve it) never counted by it too; an old one never
	// counted is valued as the only copy.
	UnknownCopies float64 `yaml:"unknown_copies"`

	// DebtLimit is the debt, in credits, past which a peer is served only
	// from spare capacity (default 256 MiB of credit: about a hundred old
	// mainnet blocks' bodies and receipts, at half a megabyte each and ×5
	// for age). Bee's disconnect threshold is its payment threshold
	// (13.5 M units) plus a 25 % tolerance; braid has no payments, so the
	// threshold is where serving by standing stops.
	DebtLimit float64 `yaml:"debt_limit"`
	// ForgiveRate is the debt forgiven per second (default 16 KiB/s, a
	// DebtLimit in about 4.5 hours), as Bee's refreshment forgives a
	// peer's debt over time: a peer that gives nothing still gets about
	// 16 KB/s of new content (3 KB/s of old) from each gateway — enough
	// for a light client, not for a scraper.
	ForgiveRate float64 `yaml:"forgive_rate"`
	// NewcomerCredit is what a peer that has given nothing may take and
	// still count as a newcomer (default 32 MiB of credit, an eighth of
	// DebtLimit).
	NewcomerCredit float64 `yaml:"newcomer_credit"`
	// LiePenalty is the credit a lie costs (default 64 MiB, a quarter of
	// DebtLimit: four lies make a peer with no credit a debtor).
	LiePenalty float64 `yaml:"lie_penalty"`
	// MissPenalty is the credit a miss costs (default 64 KiB, about the
	// price of one small block): a peer that advertised content it does
	// not hold, or did not answer, wasted a round trip.
	MissPenalty float64 `yaml:"miss_penalty"`
	// AuditWeight and LieWeight are how much a failed audit and a lie
	// weigh against passed audits in a peer's standing (defaults 2 and 4):
	// standing = (1+passed) / (1+passed + AuditWeight·failed +
	// LieWeight·lies + MissWeight·not_held).
	AuditWeight float64 `yaml:"audit_weight"`
	LieWeight   float64 `yaml:"lie_weight"`
	// MissWeight is how much a fetch answered "not held" by a peer found
	// advertising the content weighs (default 0.5): a quarter of a failed
	// audit, since an honest peer that evicted content is still found
	// until its DHT record expires (up to 48 h), but enough that a peer
	// advertising what it does not keep loses its weight in rarity counts
	// and its place in the order holders are asked, at every peer it
	// wastes a round trip of.
	MissWeight float64 `yaml:"miss_weight"`

	// Capacity is how many requests are served at once before the rest
	// wait in order of balance (default 16). Keep it below the peer
	// layer's limits.serving (default 64), whose remainder is what can
	// wait.
	Capacity int `yaml:"capacity"`
	// NewcomerEvery: every NewcomerEvery-th slot handed to a waiting
	// request goes to the longest-waiting newcomer, if one waits (default
	// 4, BitTorrent's one optimistic unchoke in four upload slots);
	// negative: never.
	NewcomerEvery int `yaml:"newcomer_every"`
	// MaxWaiting bounds the requests waiting (default 64); when full, a
	// better-standing request pushes out the worst one.
	MaxWaiting int `yaml:"max_waiting"`

	// AuditInterval is the mean time between retention audits (default
	// 5 min; the times are random, exponentially distributed); negative:
	// no audits. AuditTimeout is an audit's short deadline (default 10 s).
	AuditInterval time.Duration `yaml:"audit_interval"`
	AuditTimeout  time.Duration `yaml:"audit_timeout"`
	// ClaimsPerPeer bounds the advertisements remembered per peer to
	// audit (default 32), ClaimTTL how long one stays worth auditing
	// after it was last seen (default 1 h).
	ClaimsPerPeer int           `yaml:"claims_per_peer"`
	ClaimTTL      time.Duration `yaml:"claim_ttl"`

	// SampleInterval is how often the holders of held content are
	// counted (default 1 min; negative: never), SampleBatch how many
	// blocks each time (default 8).
	SampleInterval time.Duration `yaml:"sample_interval"`
	SampleBatch    int           `yaml:"sample_batch"`
	// RepairInterval is how often old content held by fewer than
	// TargetCopies peers is looked for, to fill (default 1 min; negative:
	// never), RepairBatch how many random old blocks each time (default
	// 2), RepairFrom the first block looked at (default 0, genesis).
	RepairInterval time.Duration `yaml:"repair_interval"`
	RepairBatch    int           `yaml:"repair_batch"`
	RepairFrom     uint64        `yaml:"repair_from"`
	// SurveyInterval is how often the history availability of the
	// network is surveyed (default 10 min; negative: never): SurveyBlocks
	// random blocks of each age bucket (default 4, at most 64), whose
	// receipts' holders are searched in the DHT. /status/peers and
	// `braid check` show the last survey.
	SurveyInterval time.Duration `yaml:"survey_interval"`
	SurveyBlocks   int           `yaml:"survey_blocks"`

	// MaxPeers bounds the peers with an account (default 4096), MaxHeld
	// the blocks whose rarity is tracked (default 1,000,000).
	MaxPeers int `yaml:"max_peers"`
	MaxHeld  int `yaml:"max_held"`
	// FlushInterval is how often changed accounts are written (default
	// 1 min); Close writes the rest.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// AgeBuckets are the depths that split content into age buckets for
	// status and metrics (default 128, 7200, 216000, 2628000: new, a day,
	// a month, a year, older; at 12-second slots).
	AgeBuckets []uint64 `yaml:"age_buckets"`
}

// DefaultPeerLedger is the section a zero field takes its value from.
var DefaultPeerLedger = PeerLedger{
	AgeDepth:       128,
	AgeMultiplier:  5,
	TargetCopies:   8,
	RarityCap:      8,
	UnknownCopies:  4,
	DebtLimit:      256 << 20,
	ForgiveRate:    16 << 10,
	NewcomerCredit: 32 << 20,
	LiePenalty:     64 << 20,
	MissPenalty:    64 << 10,
	AuditWeight:    2,
	LieWeight:      4,
	MissWeight:     0.5,
	Capacity:       16,
	NewcomerEvery:  4,
	MaxWaiting:     64,
	AuditInterval:  5 * time.Minute,
	AuditTimeout:   10 * time.Second,
	ClaimsPerPeer:  32,
	ClaimTTL:       time.Hour,
	SampleInterval: time.Minute,
	SampleBatch:    8,
	RepairInterval: time.Minute,
	RepairBatch:    2,
	SurveyInterval: 10 * time.Minute,
	SurveyBlocks:   4,
	MaxPeers:       4096,
	MaxHeld:        1_000_000,
	FlushInterval:  time.Minute,
	AgeBuckets:     []uint64{128, 7200, 216000, 2628000},
}

// WithDefaults returns c with every zero field set from
// DefaultPeerLedger (negative values stay: they turn a task off).
func (c PeerLedger) WithDefaults() PeerLedger {
	d := DefaultPeerLedger
	orDefault(&c.AgeDepth, d.AgeDepth)
	orDefault(&c.AgeMultiplier, d.AgeMultiplier)
	orDefault(&c.TargetCopies, d.TargetCopies)
	orDefault(&c.RarityCap, d.RarityCap)
	orDefault(&c.UnknownCopies, d.UnknownCopies)
	orDefault(&c.DebtLimit, d.DebtLimit)
	orDefault(&c.ForgiveRate, d.ForgiveRate)
	orDefault(&c.NewcomerCredit, d.NewcomerCredit)
	orDefault(&c.LiePenalty, d.LiePenalty)
	orDefault(&c.MissPenalty, d.MissPenalty)
	orDefault(&c.AuditWeight, d.AuditWeight)
	orDefault(&c.LieWeight, d.LieWeight)
	orDefault(&c.MissWeight, d.MissWeight)
	orDefault(&c.Capacity, d.Capacity)
	orDefault(&c.NewcomerEvery, d.NewcomerEvery)
	orDefault(&c.MaxWaiting, d.MaxWaiting)
	orDefault(&c.AuditInterval, d.AuditInterval)
	orDefault(&c.AuditTimeout, d.AuditTimeout)
	orDefault(&c.ClaimsPerPeer, d.ClaimsPerPeer)
	orDefault(&c.ClaimTTL, d.ClaimTTL)
	orDefault(&c.SampleInterval, d.SampleInterval)
	orDefault(&c.SampleBatch, d.SampleBatch)
	orDefault(&c.RepairInterval, d.RepairInterval)
	orDefault(&c.RepairBatch, d.RepairBatch)
	orDefault(&c.SurveyInterval, d.SurveyInterval)
	orDefault(&c.SurveyBlocks, d.SurveyBlocks)
	orDefault(&c.MaxPeers, d.MaxPeers)
	orDefault(&c.MaxHeld, d.MaxHeld)
	orDefault(&c.FlushInterval, d.FlushInterval)
	if len(c.AgeBuckets) == 0 {
		c.AgeBuckets = slices.Clone(d.AgeBuckets)
	}
	return c
}

// Validate reports the first value that makes no sense, once defaults are
// applied, as "ledger: <key> …".
func (c PeerLedger) Validate() error {
	c = c.WithDefaults()
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"age_multiplier", c.AgeMultiplier}, {"target_copies", c.TargetCopies}, {"rarity_cap", c.RarityCap},
		{"unknown_copies", c.UnknownCopies}, {"debt_limit", c.DebtLimit}, {"forgive_rate", c.ForgiveRate},
		{"newcomer_credit", c.NewcomerCredit}, {"lie_penalty", c.LiePenalty}, {"miss_penalty", c.MissPenalty},
		{"audit_weight", c.AuditWeight}, {"lie_weight", c.LieWeight}, {"miss_weight", c.MissWeight},
	} {
		if f.v <= 0 || math.IsInf(f.v, 0) || math.IsNaN(f.v) {
			return fmt.Errorf("ledger: %s must be a positive number, got %v", f.name, f.v)
		}
	}
	switch {
	case c.AgeMultiplier < 1:
		return fmt.Errorf("ledger: age_multiplier must be at least 1 (old content is worth no less than new), got %v", c.AgeMultiplier)
	case c.RarityCap < 1:
		return fmt.Errorf("ledger: rarity_cap must be at least 1, got %v", c.RarityCap)
	case c.Capacity < 1 || c.MaxWaiting < 1 || c.ClaimsPerPeer < 1 || c.SampleBatch < 1 || c.RepairBatch < 1:
		return errors.New("ledger: capacity, max_waiting, claims_per_peer, sample_batch and repair_batch must be positive")
	case c.SurveyBlocks < 1 || c.SurveyBlocks > 64:
		return fmt.Errorf("ledger: survey_blocks must be between 1 and 64 per age bucket, got %d", c.SurveyBlocks)
	case c.MaxPeers < 1 || c.MaxHeld < 1:
		return errors.New("ledger: max_peers and max_held must be positive")
	case c.AuditTimeout < 0 || c.ClaimTTL < 0 || c.FlushInterval < 0:
		return errors.New("ledger: audit_timeout, claim_ttl and flush_interval must be positive")
	case !slices.IsSorted(c.AgeBuckets) || slices.Contains(c.AgeBuckets, 0) || len(slices.Compact(slices.Clone(c.AgeBuckets))) != len(c.AgeBuckets):
		return fmt.Errorf("ledger: age_buckets must be increasing depths above 0, got %v", c.AgeBuckets)
	case len(c.AgeBuckets) > 16:
		return fmt.Errorf("ledger: at most 16 age_buckets, got %d", len(c.AgeBuckets))
	}
	return nil
}
