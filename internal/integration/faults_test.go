package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/devnet"
)

// load sends total calls from workers goroutines through braid, a mix of
// reads, and calls midway(n) once after n calls have completed. It returns
// the errors clients saw.
func (s *stack) load(t *testing.T, total, workers int, midway func()) []error {
	t.Helper()
	ctx := context.Background()
	user := s.dn.Info().Account.Address
	calls := []struct {
		method string
		params []any
	}{
		{"eth_blockNumber", nil},
		{"eth_getBalance", []any{user, "latest"}},
		{"eth_getBlockByNumber", []any{"latest", false}},
		{"eth_getTransactionCount", []any{user, "latest"}},
		{"eth_gasPrice", nil},
		{"eth_call", []any{map[string]any{"to": s.dn.Info().Token, "data": "0x18160ddd"}, "latest"}}, // totalSupply()
	}
	var (
		next  atomic.Int64
		done  atomic.Int64
		once  sync.Once
		mu    sync.Mutex
		errs  []error
		wg    sync.WaitGroup
		fired = make(chan struct{})
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				c := calls[i%int64(len(calls))]
				var out json.RawMessage
				if err := s.braid.CallContext(ctx, &out, c.method, c.params...); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("call %d %s: %w", i, c.method, err))
					mu.Unlock()
				}
				if done.Add(1) == int64(total/3) {
					once.Do(func() { midway(); close(fired) })
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-fired:
	default:
		t.Fatal("the midway fault was never injected")
	}
	return errs
}

// busiest is the provider that has served the most calls so far: taking
// it down hurts the most.
func (s *stack) busiest() *devnet.Provider {
	var best *devnet.Provider
	for _, p := range s.dn.Providers() {
		if best == nil || p.Requests() > best.Requests() {
			best = p
		}
	}
	return best
}

func TestProviderDownMidRunCausesNoClientErrors(t *testing.T) {
	s := newStack(t, 4)
	if _, err := s.dn.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	var victim *devnet.Provider
	var servedAtFault uint64
	errs := s.load(t, 600, 8, func() {
		victim = s.busiest()
		servedAtFault = victim.Requests()
		victim.SetFaults(devnet.Faults{Down: true})
	})
	for _, err := range errs {
		t.Error(err)
	}
	if servedAtFault == 0 {
		t.Fatal("the provider taken down had served nothing: the test proved nothing")
	}
	others := uint64(0)
	for _, p := range s.dn.Providers() {
		if p != victim {
			others += p.Requests()
		}
	}
	if others == 0 {
		t.Fatal("no other provider served anything after the fault")
	}
	t.Logf("%s taken down after serving %d calls; %d errors seen by clients", victim.Name, servedAtFault, len(errs))
}

func TestMixedFaultsCauseNoClientErrors(t *testing.T) {
	s := newStack(t, 4)
	if _, err := s.dn.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	errs := s.load(t, 600, 8, func() {
		s.dn.Provider("p1").SetFaults(devnet.Faults{HTTPStatus: 503})
		s.dn.Provider("p2").SetFaults(devnet.Faults{HTTPStatus: 429})
		s.dn.Provider("p3").SetFaults(devnet.Faults{ErrorRate: 0.5, LatencyMS: 5})
	})
	for _, err := range errs {
		t.Error(err)
	}
}

func TestAllProvidersDownIsAClearError(t *testing.T) {
	s := newStack(t, 2)
	for _, p := range s.dn.Providers() {
		p.SetFaults(devnet.Faults{Down: true})
	}
	var out json.RawMessage
	// A read that needs an upstream (eth_blockNumber is braid's served
	// tip, known since it started, and needs none).
	err := s.braid.CallContext(context.Background(), &out, "eth_getBalance", common.Address{0xbe, 0xef}, "latest")
	if err == nil {
		t.Fatal("a call succeeded with every provider down")
	}
	re, ok := err.(interface{ ErrorCode() int })
	if !ok || re.ErrorCode() != -32041 {
		t.Fatalf("err = %v, want braid's -32041 (every upstream tried failed)", err)
	}
	// Local answers need no upstream.
	if err := s.braid.CallContext(context.Background(), &out, "eth_chainId"); err != nil {
		t.Fatalf("eth_chainId with providers down: %v", err)
	}
}
