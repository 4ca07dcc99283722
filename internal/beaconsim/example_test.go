package beaconsim_test

import (
	"fmt"
	"math/big"
	"net/http/httptest"
	"time"

	ctypes "github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/beacon"
	"github.com/braidrpc/braid/internal/beaconsim"
	"github.com/braidrpc/braid/internal/clock"
)

// A devnet feeds each new execution head to the simulator; a light client
// configured with the simulator's network and checkpoint follows it.
func Example() {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	sim, _ := beaconsim.New(beaconsim.Config{Clock: clk, SlotDuration: time.Second})
	api := sim.NewAPI() // api.SetFaults(beaconsim.Faults{Down: true}) etc.
	srv := httptest.NewServer(api)
	defer srv.Close()

	genesis := &ctypes.Header{Number: big.NewInt(0), GasLimit: 30_000_000, BaseFee: big.NewInt(1)}
	sim.AddBlock(genesis) // the anchor: the client's first checkpoint
	checkpoint, _ := sim.Checkpoint()

	client, _ := beacon.New(beacon.Config{
		Network:    beacon.NetworkFromChainConfig("devnet", sim.ChainConfig(), sim.SlotDuration()),
		APIs:       []beacon.Endpoint{{Name: "b1", URL: srv.URL}},
		Checkpoint: checkpoint,
		Clock:      clk,
	})
	client.Start()
	defer client.Close()

	changed, stop := client.Watch()
	defer stop()
	clk.Advance(sim.SlotDuration())
	block1 := &ctypes.Header{ParentHash: genesis.Hash(), Number: big.NewInt(1), GasLimit: 30_000_000, BaseFee: big.NewInt(1)}
	sim.AddBlock(block1)
	for {
		if head, err := client.Head(); err == nil && head.BlockHash == block1.Hash() {
			fmt.Println("trusted head:", head.BlockNumber, "signed by", head.Signers)
			return
		}
		select {
		case <-changed:
		case <-time.After(30 * time.Second):
			fmt.Println("timed out")
			return
		}
	}
	// Output: trusted head: 1 signed by 512
}
