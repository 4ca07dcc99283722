package beacon

import (
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/beacon/light"
	"github.com/ethereum/go-ethereum/common"
	ctypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"

	"github.com/braidrpc/braid/internal/beaconsim"
	"github.com/braidrpc/braid/internal/clock"
)

// BenchmarkUpdateCPU is the client's own work per signed head, on one
// core: decode the optimistic update, check its execution proof and verify
// the sync committee's aggregate BLS signature (512 keys), as the gate and
// go-ethereum's head tracker do.
func BenchmarkUpdateCPU(b *testing.B) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	sim, err := beaconsim.New(beaconsim.Config{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sim.NewAPI())
	defer srv.Close()
	get := func(path string) []byte {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return body
	}
	var updates [][]byte
	parent := common.Hash{}
	for n := range 33 {
		h := &ctypes.Header{ParentHash: parent, Number: big.NewInt(int64(n + 1)), GasLimit: 30_000_000, BaseFee: big.NewInt(7)}
		if _, err := sim.AddBlock(h); err != nil {
			b.Fatal(err)
		}
		parent = h.Hash()
		clk.Advance(sim.SlotDuration())
		if n > 0 {
			updates = append(updates, get("/eth/v1/beacon/light_client/optimistic_update"))
		}
	}
	s, err := newSpec(NetworkFromChainConfig("sim", sim.ChainConfig(), sim.SlotDuration()))
	if err != nil {
		b.Fatal(err)
	}
	cp, _ := sim.Checkpoint()
	boot, err := s.decodeBootstrap(get("/eth/v1/beacon/light_client/bootstrap/"+cp.Hex()), cp)
	if err != nil {
		b.Fatal(err)
	}
	chain := light.NewCommitteeChain(memorydb.New(), s.chain, Threshold, false)
	if err := chain.CheckpointInit(*boot); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	for i := range b.N {
		u, err := s.decodeOptimistic(updates[i%len(updates)])
		if err != nil {
			b.Fatal(err)
		}
		if err := u.Validate(s.chain); err != nil {
			b.Fatal(err)
		}
		if ok, _, err := chain.VerifySignedHeader(u.SignedHeader()); !ok || err != nil {
			b.Fatal("signature", err)
		}
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/update")
}
