package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/beaconsim"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
)

// demoBeacon is the demo's simulated beacon chain (braid demo --trust
// beacon): a sync committee signing every dev chain block, two beacon
// light-client APIs on loopback, and the trust section pointing braid at
// them.
type demoBeacon struct {
	sim     *beaconsim.Sim
	apis    []beaconsim.Named
	trust   config.Trust
	control http.Handler
	dataDir string

	servers []*http.Server
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// startDemoBeacon starts the simulator following dn and serves two APIs;
// the committee signs each block as it is sealed. Its slots last half a
// block time: a block takes the current slot or the next free one, so
// with slots as long as blocks, two blocks sealed close together (a busy
// machine) would push every later one a slot ahead of the clock for good,
// until the light client refuses them as from the future. Shorter slots
// leave room to catch up.
func startDemoBeacon(ctx context.Context, dn *devnet.Devnet, blockTime time.Duration, log *slog.Logger) (_ *demoBeacon, err error) {
	sim, err := beaconsim.New(beaconsim.Config{SlotDuration: max(blockTime/2, time.Millisecond)})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	bc := &demoBeacon{sim: sim, cancel: cancel}
	defer func() {
		if err != nil {
			bc.close()
		}
	}()
	if bc.dataDir, err = os.MkdirTemp("", "braid-demo-beacon-"); err != nil {
		return nil, err
	}
	for _, name := range []string{"b1", "b2"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		api := sim.NewAPI()
		srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
		bc.servers = append(bc.servers, srv)
		bc.wg.Add(1)
		go func() {
			defer bc.wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Warn("demo beacon API stopped", "api", name, "err", err)
			}
		}()
		bc.apis = append(bc.apis, beaconsim.Named{Name: name, URL: "http://" + ln.Addr().String(), API: api})
	}
	ready := make(chan struct{})
	followErr := make(chan error, 1)
	bc.wg.Add(1)
	go func() {
		defer bc.wg.Done()
		err := sim.Follow(ctx, dn.RPC(), func() { close(ready) })
		if err != nil && ctx.Err() == nil {
			log.Error("demo beacon chain stopped following the dev chain", "err", err)
		}
		followErr <- err
	}()
	select {
	case <-ready:
	case err := <-followErr:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	cp, err := sim.Checkpoint()
	if err != nil {
		return nil, err
	}
	bc.trust = config.Trust{Source: config.TrustBeacon, BeaconChain: sim.BeaconChain(), Checkpoint: cp.Hex(),
		MaxHeadAge: max(10*blockTime, 2*blockTime+time.Second), DataDir: bc.dataDir}
	for _, a := range bc.apis {
		bc.trust.BeaconAPIs = append(bc.trust.BeaconAPIs, config.BeaconAPI{Name: a.Name, URL: a.URL})
	}
	bc.control = beaconsim.FaultsHandler(bc.apis)
	return bc, nil
}

// close stops the APIs and the simulator and removes the checkpoint dir.
func (bc *demoBeacon) close() {
	bc.cancel()
	for _, srv := range bc.servers {
		_ = srv.Close()
	}
	bc.wg.Wait()
	if bc.dataDir != "" {
		_ = os.RemoveAll(bc.dataDir)
	}
}

// banner adds the beacon lines to the demo banner (nothing without one).
func (bc *demoBeacon) banner(b *strings.Builder, verify string) {
	if bc == nil {
		return
	}
	fmt.Fprintf(b, "  trust      beacon: the tip is the head a sync committee of 512 BLS keys signs (verify %s)\n", verify)
	for _, a := range bc.apis {
		fmt.Fprintf(b, "  beacon     %-4s %s\n", a.Name, a.URL)
	}
}

// tryLines adds the beacon fault commands to the banner's Try list.
func (bc *demoBeacon) tryLines(b *strings.Builder, base string) {
	if bc == nil {
		return
	}
	fmt.Fprintf(b, "  curl -s %s/demo/beacon/faults -d '{\"api\":\"b1\",\"forge\":true}'   # b1 forges signatures: quarantined, b2 carries on\n", base)
	fmt.Fprintf(b, "  curl -s %s/demo/beacon/faults -d '{\"api\":\"b2\",\"signers\":300}'  # too few signers: heads refused\n", base)
	fmt.Fprintf(b, "  curl -s %s/demo/beacon/faults -d '{\"api\":\"b2\",\"stale\":true}'   # with b1 forging too: no fresh head, /readyz fails\n", base)
	fmt.Fprintf(b, "  curl -s %s/demo/faults -d '{\"provider\":\"p1\",\"lie\":true}'    # any number of lying providers: the signed head decides\n", base)
	fmt.Fprintf(b, "  curl -s %s/status    # .networks[0].beacon: the light client, its APIs and the signed head served\n", base)
}
