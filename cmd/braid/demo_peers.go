package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/peers"
	"github.com/braidrpc/braid/internal/server"
)

// demoPruneKeep is how many of the newest blocks the demo's providers
// keep bodies and receipts for.
const demoPruneKeep = 64

// demoPremine is how many blocks the peer demo makes before serving, so
// that some history is pruned from the start.
const demoPremine = demoPruneKeep + 16

// demoGateway is one gateway of the peer demo.
type demoGateway struct {
	cfg *config.Config
	ln  net.Listener
	id  peer.ID
}

// demoPeers runs the chain, its pruning providers and n gateways, each
// with its own libp2p host (loopback) and history store; the first keeps
// every block, the others keep nothing of their own and find old blocks
// through the DHT.
func demoPeers(ctx context.Context, o demoOptions, stdout io.Writer, log *slog.Logger) error {
	dn, err := devnet.New(ctx, devnet.Options{Providers: o.providers, BlockTime: o.blockTime, TxStream: true, WebSocket: true, Logger: log})
	if err != nil {
		return fmt.Errorf("demo: start dev chain: %w", err)
	}
	defer dn.Close()
	for range demoPremine {
		if _, err := dn.Step(ctx); err != nil {
			return fmt.Errorf("demo: make blocks: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "braid-demo-peers-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)
	gws, err := demoPeerGateways(o, dn, dir)
	for _, g := range gws {
		defer g.ln.Close()
	}
	if err != nil {
		return err
	}
	printPeersBanner(stdout, gws, dn)
	var wg sync.WaitGroup
	errs := make([]error, len(gws))
	for i, g := range gws {
		if i == 1 {
			// The others bootstrap from the first: its peer node is up
			// once it serves.
			if err := waitDemoStatus(ctx, gws[0], func(demoStatus) bool { return true }); err != nil {
				return err
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			glog := log.With("gateway", i+1)
			var opts []braid.Option
			if i == 0 {
				opts = append(opts, braid.WithRoute("/demo/", dn.Handler()))
			}
			errs[i] = run(ctx, g.cfg, g.ln, glog, opts...)
		}()
	}
	// The providers prune once the first gateway has kept what they are
	// about to drop.
	if err := waitDemoStatus(ctx, gws[0], func(st demoStatus) bool { return st.filled(demoPremine) }); err != nil {
		return err
	}
	for _, p := range dn.Providers() {
		p.SetFaults(devnet.Faults{PruneKeep: demoPruneKeep})
	}
	log.Info("demo: every provider now prunes all but the newest blocks", "keep", demoPruneKeep)
	wg.Wait()
	return errors.Join(errs...)
}

// demoStatus is the part of /status the demo waits on.
type demoStatus struct {
	Networks []struct {
		History *struct {
			Fill *struct {
				Next uint64 `json:"Next"`
			} `json:"fill"`
		} `json:"history"`
	} `json:"networks"`
}

func (s demoStatus) filled(n uint64) bool {
	return len(s.Networks) > 0 && s.Networks[0].History != nil && s.Networks[0].History.Fill != nil &&
		s.Networks[0].History.Fill.Next > n
}

// waitDemoStatus polls a gateway's /status until ok says so (or ctx ends,
// or two minutes pass).
func waitDemoStatus(ctx context.Context, g demoGateway, ok func(demoStatus) bool) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	url := "http://" + g.ln.Addr().String() + "/status"
	for {
		if st, err := getStatus(ctx, url); err == nil && ok(st) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: waiting for %s: %w", url, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func getStatus(ctx context.Context, url string) (demoStatus, error) {
	var st demoStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status %d", resp.StatusCode)
	}
	return st, json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&st)
}

// demoPeerGateways configures the gateways: listeners on consecutive
// ports from o.listen's, identities made up front so each knows the first
// one's address to bootstrap from.
func demoPeerGateways(o demoOptions, dn *devnet.Devnet, dir string) ([]demoGateway, error) {
	var gws []demoGateway
	var boot []string
	for i := range o.peers {
		ln, err := server.Listen(nextListen(o.listen, i))
		if err != nil {
			return gws, fmt.Errorf("demo: gateway %d: %w", i+1, err)
		}
		g := demoGateway{ln: ln}
		gws = append(gws, g)
		store := filepath.Join(dir, fmt.Sprintf("gateway-%d", i+1))
		key, err := peers.LoadIdentity(filepath.Join(store, config.DefaultPeerIdentityFile))
		if err != nil {
			return gws, fmt.Errorf("demo: %w", err)
		}
		if gws[i].id, err = peer.IDFromPrivateKey(key); err != nil {
			return gws, fmt.Errorf("demo: %w", err)
		}
		port, err := freePort()
		if err != nil {
			return gws, fmt.Errorf("demo: %w", err)
		}
		keep := "none"
		if i == 0 {
			keep = "all"
		}
		cfg := demoConfig(ln.Addr().String(), dn, o.blockTime, o.quorum, o.verify)
		cfg.Networks[0].Peers = config.Peers{Enabled: true, Listen: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)},
			Bootstrap: boot, DialRanges: []string{"127.0.0.0/8"}, Keep: keep,
			Store: config.PeerStore{Path: store, MaxBytes: 256 << 20}, Fill: config.PeerFill{BytesPerSecond: 16 << 20, Idle: 200 * time.Millisecond}}
		cfg.ApplyDefaults()
		if err := cfg.Validate(); err != nil {
			return gws, fmt.Errorf("demo: %w", err)
		}
		gws[i].cfg = cfg
		if i == 0 {
			boot = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, gws[i].id)}
		}
	}
	return gws, nil
}

// nextListen is addr with its port moved up by i (port 0 stays 0).
func nextListen(addr string, i int) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || i == 0 {
		return addr
	}
	var p int
	if _, err := fmt.Sscan(port, &p); err != nil || p == 0 {
		return addr
	}
	return net.JoinHostPort(host, fmt.Sprint(p+i))
}

// freePort is a loopback TCP port free now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func printPeersBanner(w io.Writer, gws []demoGateway, dn *devnet.Devnet) {
	info := dn.Info()
	var b strings.Builder
	fmt.Fprintf(&b, "\nbraid demo --peers %d: a dev chain (chain id %d), %d providers that prune all but the newest %d blocks\n",
		len(gws), info.ChainID, len(dn.Providers()), demoPruneKeep)
	fmt.Fprintf(&b, "once the first gateway kept them (EIP-4444: old bodies, receipts and logs answer 4444), and %d gateways sharing verified history over libp2p\n\n", len(gws))
	for i, g := range gws {
		role := "keeps nothing of its own: finds old blocks in the DHT and fetches them from peers"
		if i == 0 {
			role = "keeps every block (peers.keep: all), filled from the providers"
		}
		fmt.Fprintf(&b, "  gateway %d  http://%s   peer %s\n             %s\n", i+1, g.ln.Addr(), g.id, role)
	}
	fmt.Fprintf(&b, "  account    %s (a public test key, never use it on a real chain)\n\n", info.Account.Address)
	last := gws[len(gws)-1].ln.Addr()
	fmt.Fprintf(&b, "Try (block 1 is long pruned at every provider):\n")
	fmt.Fprintf(&b, "  curl -s %s/demo/faults | grep prune_keep            # every provider prunes\n", "http://"+gws[0].ln.Addr().String())
	fmt.Fprintf(&b, "  curl -s %s -H 'content-type: application/json' -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBlockByNumber\",\"params\":[\"0x1\",true]}'   # a provider: 4444\n", dn.Providers()[0].URL)
	for _, g := range gws[1:] {
		fmt.Fprintf(&b, "  curl -s http://%s -H 'content-type: application/json' -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBlockReceipts\",\"params\":[\"0x2\"]}' -D - | grep -iE 'braid-source|transactionHash' | head -3\n", g.ln.Addr())
	}
	fmt.Fprintf(&b, "  curl -s http://%s -H 'content-type: application/json' -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getLogs\",\"params\":[{\"fromBlock\":\"0x1\",\"toBlock\":\"0x20\"}]}' -D - | grep -i braid-source\n", last)
	fmt.Fprintf(&b, "  curl -s http://%s/status | grep -A3 '\"answers\"'       # where history answers came from\n", last)
	fmt.Fprintf(&b, "  curl -s http://%s/metrics | grep -E 'braid_history|braid_peers'\n\n", last)
	_, _ = io.WriteString(w, b.String())
}
