package trust

import (
	"sync"

	"github.com/ethereum/go-ethereum/common"
)

// bounded is a small cache that forgets its oldest entries past max.
type bounded[V any] struct {
	mu    sync.Mutex
	max   int
	order []common.Hash
	byKey map[common.Hash]V
}

func newBounded[V any](size int) *bounded[V] {
	return &bounded[V]{max: max(size, 1), byKey: map[common.Hash]V{}}
}

func (c *bounded[V]) get(k common.Hash) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.byKey[k]
	return v, ok
}

func (c *bounded[V]) add(k common.Hash, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[k]; ok {
		return
	}
	c.byKey[k] = v
	c.order = append(c.order, k)
	for len(c.order) > c.max {
		delete(c.byKey, c.order[0])
		c.order = c.order[1:]
	}
}
