package gateway

import (
	"context"
	"testing"
)

func TestMetaKeepsTheWeakestQuorum(t *testing.T) {
	ctx, m := WithMeta(context.Background())
	if m.Quorum() != "" {
		t.Fatal("a fresh meta flags a quorum")
	}
	metaFrom(ctx).noteQuorum(2, 3)
	metaFrom(ctx).noteQuorum(1, 2) // weaker: 1/2 < 2/3
	metaFrom(ctx).noteQuorum(3, 4)
	if got := m.Quorum(); got != "1/2" {
		t.Fatalf("Quorum() = %q, want 1/2", got)
	}
	metaFrom(context.Background()).noteQuorum(1, 2) // no meta: nothing to do, no panic
}
