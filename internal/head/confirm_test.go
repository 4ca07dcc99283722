package head

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/upstream"
)

// chainNode answers eth_chainId with chain (0: HTTP 503, as a node that is
// down) and every other call with an error.
func chainNode(t *testing.T, chain *atomic.Uint64) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c := chain.Load()
		switch {
		case c == 0:
			http.Error(w, "down", http.StatusServiceUnavailable)
		case bytes.Contains(body, []byte("eth_chainId")):
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"0x`+strconv.FormatUint(c, 16)+`"}`)
		default:
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"no"}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestStartConfirmsChainIDs: with Options.ChainID, Start checks every
// upstream's chain id; Confirmed closes once each was asked once; an
// upstream of another chain is quarantined, one that did not answer is
// asked again every verifyRetry until it does.
func TestStartConfirmsChainIDs(t *testing.T) {
	var good, wrong, late atomic.Uint64
	good.Store(1)
	wrong.Store(2)
	var ups []*upstream.Upstream
	for i, c := range []*atomic.Uint64{&good, &wrong, &late} {
		u := upstream.New(config.Upstream{Name: string(rune('a' + i)), Operator: string(rune('a' + i)), URL: chainNode(t, c)},
			upstream.Options{Network: "test"})
		t.Cleanup(u.Close)
		ups = append(ups, u)
	}
	clk := clock.NewFake(time.Unix(1000, 0))
	tr := New("test", ups, Options{ChainID: 1, Clock: clk, PollInterval: time.Hour})
	tr.Start(context.Background())
	defer tr.Close()

	await.Until(t, "every chain id asked once", func() bool {
		select {
		case <-tr.Confirmed():
			return true
		default:
			return false
		}
	})
	if !ups[0].Usable() {
		t.Error("the upstream of chain 1 is not usable")
	}
	if st, why := ups[1].State(); st != upstream.Quarantined {
		t.Errorf("the upstream of chain 2: %s (%s), want quarantined", st, why)
	}
	if ups[2].Usable() {
		t.Fatal("an upstream that never answered is usable")
	}
	late.Store(1)
	await.Advancing(t, clk, verifyRetry, "the late upstream confirmed on a retry", ups[2].Usable)
}
