package trust

import (
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/evm"
)

// TestChunkQueries: chunks hold at most size calls (a query with its code
// is two), keep every query whole and in order, and size 1 makes every
// query a chunk of its own.
func TestChunkQueries(t *testing.T) {
	qs := []evm.Query{
		{Address: common.Address{1}, Code: true}, {Address: common.Address{2}}, {Address: common.Address{3}, Code: true},
		{Address: common.Address{4}}, {Address: common.Address{5}}, {Address: common.Address{6}, Code: true},
	}
	all := []int{0, 1, 2, 3, 4, 5}
	for _, c := range []struct {
		size int
		want [][]int
	}{
		{100, [][]int{{0, 1, 2, 3, 4, 5}}},
		{4, [][]int{{0, 1}, {2, 3, 4}, {5}}},
		{3, [][]int{{0, 1}, {2, 3}, {4, 5}}},
		{2, [][]int{{0}, {1}, {2}, {3, 4}, {5}}},
		{1, [][]int{{0}, {1}, {2}, {3}, {4}, {5}}},
	} {
		got := chunkQueries(qs, all, c.size)
		if !slices.EqualFunc(got, c.want, slices.Equal) {
			t.Errorf("size %d: chunks %v, want %v", c.size, got, c.want)
		}
	}
}

// TestBatchLimitOnlyLowers: the limit starts at DefaultBatchLimit,
// goes down, never up, and never below 1.
func TestBatchLimitOnlyLowers(t *testing.T) {
	var b batchLimit
	if b.get() != DefaultBatchLimit {
		t.Fatalf("start %d", b.get())
	}
	if !b.lower(11) || b.get() != 11 {
		t.Fatalf("lowered to %d", b.get())
	}
	if b.lower(50) || b.get() != 11 {
		t.Fatalf("raised to %d", b.get())
	}
	if !b.lower(0) || b.get() != 1 {
		t.Fatalf("lowered below 1: %d", b.get())
	}
}
