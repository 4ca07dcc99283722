package server_test

import (
	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/gatewaytest"
)

// The fakes' chain (package gatewaytest): block 0x10 and, once advanced,
// block 0x11 with one log.
const (
	fakeHead        = gatewaytest.FakeHead
	blockHash       = gatewaytest.BlockHash
	nextBlockHash   = gatewaytest.NextBlockHash
	nextBlockResult = gatewaytest.NextBlockResult
	nextBlockLogs   = gatewaytest.NextBlockLogs
)

// advance grows every fake's chain by block 0x11 and waits, bounded,
// until every network serves it (each upstream's head is polled at once).
func (b *braid) advance(where string) {
	b.t.Helper()
	for _, f := range b.fakes {
		f.Advance()
	}
	for _, n := range b.gw.Networks() {
		for _, u := range n.Upstreams() {
			n.Heads().PollNow(u)
		}
		await.Until(b.t, where+": network "+n.Name+" serving block 0x11", func() bool { return n.Tip().Latest.Number == fakeHead+1 })
	}
}
