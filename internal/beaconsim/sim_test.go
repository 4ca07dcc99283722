package beaconsim

import (
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/ethereum/go-ethereum/beacon/light"
	"github.com/ethereum/go-ethereum/beacon/light/api"
	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/beacon/types"
	"github.com/ethereum/go-ethereum/common"
	ctypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
)

// execHeader makes a plausible execution header for block n.
func execHeader(n uint64, parent common.Hash) *ctypes.Header {
	return &ctypes.Header{
		ParentHash: parent,
		Number:     new(big.Int).SetUint64(n),
		GasLimit:   30_000_000,
		Time:       1_700_000_000 + n,
		BaseFee:    big.NewInt(1_000_000_000),
		Extra:      []byte("braid"),
	}
}

type fixture struct {
	sim   *Sim
	clk   *clock.Fake
	api   *API
	srv   *httptest.Server
	heads []*ctypes.Header
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	cfg.Clock = clk
	sim, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{sim: sim, clk: clk, api: sim.NewAPI()}
	f.srv = httptest.NewServer(f.api)
	t.Cleanup(f.srv.Close)
	return f
}

// feed adds n blocks, one per slot.
func (f *fixture) feed(t *testing.T, n int) Head {
	t.Helper()
	var last Head
	for range n {
		parent := common.Hash{}
		if len(f.heads) > 0 {
			parent = f.heads[len(f.heads)-1].Hash()
		}
		h := execHeader(uint64(len(f.heads)+100), parent)
		head, err := f.sim.AddBlock(h)
		if err != nil {
			t.Fatal(err)
		}
		if head.BlockHash != h.Hash() || head.BlockNumber != h.Number.Uint64() {
			t.Fatalf("head %+v does not commit to block %d %s", head, h.Number, h.Hash())
		}
		f.heads = append(f.heads, h)
		last = head
		f.clk.Advance(f.sim.SlotDuration())
	}
	return last
}

// TestGoEthereumClientAcceptsSimulatedChain checks the simulator against
// go-ethereum's own light-client API client and committee chain with real
// BLS verification.
func TestGoEthereumClientAcceptsSimulatedChain(t *testing.T) {
	f := newFixture(t, Config{StartSlot: params.SyncPeriodLength - 2*params.EpochLength})
	f.feed(t, 3*params.EpochLength) // crosses into the next sync period
	cfg := f.sim.ChainConfig()
	client := api.NewBeaconLightApi(f.srv.URL, nil, cfg)

	cp, err := f.sim.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	boot, err := client.GetCheckpointData(cp)
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	chain := light.NewCommitteeChain(memorydb.New(), cfg, params.SyncCommitteeSupermajority, false)
	if err := chain.CheckpointInit(*boot); err != nil {
		t.Fatalf("checkpoint init: %v", err)
	}
	period := boot.Header.SyncPeriod()
	updates, committees, err := client.GetBestUpdatesAndCommittees(period, 1)
	if err != nil {
		t.Fatalf("updates: %v", err)
	}
	if err := chain.InsertUpdate(updates[0], committees[0]); err != nil {
		t.Fatalf("insert update: %v", err)
	}
	opt, err := client.GetOptimisticUpdate()
	if err != nil {
		t.Fatalf("optimistic update: %v", err)
	}
	if types.SyncPeriod(opt.SignatureSlot) != period+1 {
		t.Fatalf("head signed in period %d, want %d", types.SyncPeriod(opt.SignatureSlot), period+1)
	}
	if err := opt.Validate(cfg); err != nil {
		t.Fatalf("optimistic proof: %v", err)
	}
	if ok, _, err := chain.VerifySignedHeader(opt.SignedHeader()); !ok || err != nil {
		t.Fatalf("optimistic signature: ok=%v err=%v", ok, err)
	}
	head, _ := f.sim.Head()
	if opt.Attested.BlockHash() != head.BlockHash || opt.Attested.Hash() != head.Root {
		t.Fatalf("optimistic update names %s, head is %s", opt.Attested.BlockHash(), head.BlockHash)
	}
	fin, err := client.GetFinalityUpdate()
	if err != nil {
		t.Fatalf("finality update: %v", err)
	}
	if err := fin.Validate(cfg); err != nil {
		t.Fatalf("finality proofs: %v", err)
	}
	if fin.Finalized.Slot%params.EpochLength != 0 || head.Slot/params.EpochLength-fin.Finalized.Slot/params.EpochLength != 2 {
		t.Fatalf("finalized slot %d for head slot %d", fin.Finalized.Slot, head.Slot)
	}
	if _, _, _, err := client.GetHeader(common.Hash{}); err != nil {
		t.Fatalf("head header: %v", err)
	}
}

func TestFaultsChangeWhatIsServed(t *testing.T) {
	f := newFixture(t, Config{})
	f.feed(t, 4)
	cfg := f.sim.ChainConfig()
	client := api.NewBeaconLightApi(f.srv.URL, nil, cfg)
	cp, _ := f.sim.Checkpoint()
	boot, err := client.GetCheckpointData(cp)
	if err != nil {
		t.Fatal(err)
	}
	chain := light.NewCommitteeChain(memorydb.New(), cfg, params.SyncCommitteeSupermajority, false)
	if err := chain.CheckpointInit(*boot); err != nil {
		t.Fatal(err)
	}
	verify := func() (int, bool) {
		t.Helper()
		opt, err := client.GetOptimisticUpdate()
		if err != nil {
			t.Fatal(err)
		}
		ok, _, err := chain.VerifySignedHeader(opt.SignedHeader())
		if err != nil {
			t.Fatal(err)
		}
		return opt.Signature.SignerCount(), ok
	}
	if n, ok := verify(); n != 512 || !ok {
		t.Fatalf("honest: %d signers, valid=%v", n, ok)
	}
	f.api.SetFaults(Faults{Forge: true})
	if n, ok := verify(); n != 512 || ok {
		t.Fatalf("forged: %d signers, valid=%v", n, ok)
	}
	f.api.SetFaults(Faults{Signers: 300})
	if n, ok := verify(); n != 300 || !ok {
		t.Fatalf("too few: %d signers, valid=%v", n, ok)
	}
	f.api.SetFaults(Faults{Stale: true})
	frozen, _ := f.sim.Head()
	f.feed(t, 2)
	opt, _ := client.GetOptimisticUpdate()
	if opt.Attested.Slot != frozen.Slot {
		t.Fatalf("stale view serves slot %d, frozen at %d", opt.Attested.Slot, frozen.Slot)
	}
	f.api.SetFaults(Faults{Down: true})
	resp, err := http.Get(f.srv.URL + "/eth/v1/beacon/light_client/optimistic_update")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("down view answers %d", resp.StatusCode)
	}
	f.api.SetFaults(Faults{})
	if n, ok := verify(); n != 512 || !ok {
		t.Fatalf("cleared: %d signers, valid=%v", n, ok)
	}
}
