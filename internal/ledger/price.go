package ledger

import (
	"math"
	"strconv"

	"github.com/braidrpc/braid/internal/peers"
)

// ageFactor is the price factor of content of age a: AgeMultiplier when
// it is at least AgeDepth below the tip, else (and when its age is not
// known) 1. c must have its defaults (WithDefaults).
func ageFactor(c *Config, a peers.Age) float64 {
	if a.Known && a.Depth >= c.AgeDepth {
		return c.AgeMultiplier
	}
	return 1
}

// rarityFactor is the price factor of content held by copies peers (the
// one serving it included): TargetCopies/copies, at least 1 and at most
// RarityCap. Fewer than one copy (every holder found is discounted) counts
// as one. c must have its defaults.
func rarityFactor(c *Config, copies float64) float64 {
	if math.IsNaN(copies) || copies < 1 {
		copies = 1
	}
	return min(max(c.TargetCopies/copies, 1), c.RarityCap)
}

// price is the credit of bytes of content of age a held by copies peers:
// bytes × age factor × rarity factor. c must have its defaults.
func price(c *Config, bytes int, a peers.Age, copies float64) float64 {
	if bytes <= 0 {
		return 0
	}
	return float64(bytes) * ageFactor(c, a) * rarityFactor(c, copies)
}

// bucket is the index of a's age bucket: 0 for unknown, then 1 for depths
// below AgeBuckets[0], and so on.
func bucket(c *Config, a peers.Age) int {
	if !a.Known {
		return 0
	}
	for i, d := range c.AgeBuckets {
		if a.Depth < d {
			return i + 1
		}
	}
	return len(c.AgeBuckets) + 1
}

// bucketNames names the age buckets, in the order snapshots and metrics
// list them: "unknown", then depth ranges ("0-127", "128-7199", …,
// "2628000+").
func bucketNames(c *Config) []string {
	out := make([]string, 0, len(c.AgeBuckets)+2)
	out = append(out, "unknown")
	var from uint64
	for _, d := range c.AgeBuckets {
		out = append(out, strconv.FormatUint(from, 10)+"-"+strconv.FormatUint(d-1, 10))
		from = d
	}
	return append(out, strconv.FormatUint(from, 10)+"+")
}

// depthAge is the age of block number at head (unknown without a head).
func depthAge(number, head uint64, headKnown bool) peers.Age {
	if !headKnown {
		return peers.Age{Number: number}
	}
	a := peers.Age{Number: number, Known: true}
	if head > number {
		a.Depth = head - number
	}
	return a
}
