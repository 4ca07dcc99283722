package route

import (
	"math"
	"slices"
	"sync"
	"time"
)

// classRing is the network-wide recent latency of good answers per method
// class. The hedge delay is a percentile of it: what an answer normally
// takes on this network, so a slow upstream is hedged at the speed of the
// healthy ones, not at its own.
type classRing struct {
	mu      sync.Mutex
	classes map[string]*ring
}

const ringLen = 256

// allClasses is the ring of every class together.
const allClasses = "*"

type ring struct {
	buf [ringLen]time.Duration
	n   int
}

func newClassRing() *classRing { return &classRing{classes: make(map[string]*ring)} }

func (c *classRing) add(class string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range []string{class, allClasses} {
		r := c.classes[k]
		if r == nil {
			r = &ring{}
			c.classes[k] = r
		}
		r.buf[r.n%ringLen] = d
		r.n++
	}
}

// percentile returns the p-quantile, or false with fewer than 16 samples.
func (c *classRing) percentile(class string, p float64) (time.Duration, bool) {
	c.mu.Lock()
	r := c.classes[class]
	if r == nil || r.n < 16 {
		c.mu.Unlock()
		return 0, false
	}
	n := min(r.n, ringLen)
	buf := make([]time.Duration, n)
	copy(buf, r.buf[:n])
	c.mu.Unlock()
	slices.Sort(buf)
	i := int(math.Ceil(p*float64(n))) - 1
	return buf[max(0, min(i, n-1))], true
}
