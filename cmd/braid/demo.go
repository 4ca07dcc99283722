package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/braidrpc/braid"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/server"
)

const demoUsage = `Usage: braid demo [flags]

Runs a go-ethereum dev chain, local providers (each its own operator) and
the gateway in one process, with no network. The gateway is configured as
braid serve would be; POST /demo/faults injects faults into a provider
({"provider":"p1","down":true}, latency_ms, error_rate, lag_blocks,
http_status, lie, prune_below, prune_keep, pool_blind), GET /demo/faults lists them
and GET /demo/info gives the chain id, a funded test account and the token.

With --trust beacon, a simulated beacon chain runs next to the dev chain: a
sync committee of 512 BLS keys signs every block, served by two beacon
light-client APIs (b1, b2), and braid takes its tip from their signed heads
(trust: beacon, verify: strict unless --verify says otherwise). POST
/demo/beacon/faults injects their faults ({"api":"b1","forge":true},
signers, stale, down); GET /demo/beacon/faults lists them.

With --peers N it runs N gateways instead of one, each with its own
libp2p host (loopback) and history store, over providers that prune all
but the newest 64 blocks: the first gateway keeps every block, and old
reads through any gateway succeed.
`

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", demoUsage, stderr)
	listen := fs.String("listen", config.DefaultListen, "gateway listen address")
	providers := fs.Int("providers", 4, "number of local providers, each its own operator")
	blockTime := fs.Duration("block-time", time.Second, "time between blocks")
	quorum := fs.Int("quorum", 1, "distinct operators that must agree on each quorum read (1: off)")
	verifyMode := fs.String("verify", config.VerifyOff, "off, or strict: return only answers proven against a trusted header")
	peerCount := fs.Int("peers", 0, "run this many gateways sharing verified history over libp2p, with providers that prune all but the newest 64 blocks (0: one gateway, no pruning)")
	trust := fs.String("trust", config.TrustOperators, "operators, or beacon: take the tip from a simulated sync committee's signatures")
	var lf logFlags
	lf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *providers < 1 || *providers > 64 {
		return fmt.Errorf("demo: --providers must be between 1 and 64, got %d", *providers)
	}
	if *quorum < 1 || *quorum > *providers {
		return fmt.Errorf("demo: --quorum must be between 1 and --providers (%d), got %d", *providers, *quorum)
	}
	if *verifyMode != config.VerifyOff && *verifyMode != config.VerifyStrict {
		return fmt.Errorf("demo: --verify must be off or strict, got %q", *verifyMode)
	}
	if *peerCount < 0 || *peerCount > 16 {
		return fmt.Errorf("demo: --peers must be between 0 and 16, got %d", *peerCount)
	}
	if *trust != config.TrustOperators && *trust != config.TrustBeacon {
		return fmt.Errorf("demo: --trust must be operators or beacon, got %q", *trust)
	}
	verifySet := false
	fs.Visit(func(f *flag.Flag) { verifySet = verifySet || f.Name == "verify" })
	if *trust == config.TrustBeacon && !verifySet {
		*verifyMode = config.VerifyStrict
	}
	if *blockTime <= 0 {
		return fmt.Errorf("demo: --block-time must be positive, got %s", *blockTime)
	}
	log, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := demoOptions{listen: *listen, providers: *providers, blockTime: *blockTime, quorum: *quorum, verify: *verifyMode, trust: *trust, peers: *peerCount}
	if o.peers > 0 {
		if o.trust != config.TrustOperators {
			return fmt.Errorf("demo: --peers runs with --trust operators")
		}
		return demoPeers(ctx, o, stdout, log)
	}
	return demo(ctx, o, stdout, log)
}

type demoOptions struct {
	listen    string
	providers int
	blockTime time.Duration
	quorum    int
	verify    string
	trust     string // operators or beacon
	peers     int
}

// demo runs chain, providers and gateway until ctx ends.
func demo(ctx context.Context, o demoOptions, stdout io.Writer, log *slog.Logger) error {
	dn, err := devnet.New(ctx, devnet.Options{Providers: o.providers, BlockTime: o.blockTime, TxStream: true, WebSocket: true, Logger: log})
	if err != nil {
		return fmt.Errorf("demo: start dev chain: %w", err)
	}
	defer dn.Close()

	// The demo's gateway is configured exactly as braid serve would be:
	// strict mode's local EVM reads the dev chain's configuration from a
	// file, as verify.evm.chain_config names it.
	cfg := demoConfig(o.listen, dn, o.blockTime, o.quorum, o.verify)
	if cfg.Networks[0].Verify.Strict() {
		path, err := writeChainConfig(dn)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer os.Remove(path)
		cfg.Networks[0].Verify.EVM.ChainConfig = path
	}
	routes := []braid.Option{braid.WithRoute("/demo/", dn.Handler())}
	var bc *demoBeacon
	if o.trust == config.TrustBeacon {
		if bc, err = startDemoBeacon(ctx, dn, o.blockTime, log); err != nil {
			return fmt.Errorf("demo: start beacon chain: %w", err)
		}
		defer bc.close()
		cfg.Networks[0].Trust = bc.trust
		cfg.ApplyDefaults()
		routes = append(routes, braid.WithRoute("/demo/beacon/", bc.control))
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	ln, err := server.Listen(cfg.Listen)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	cfg.Listen = ln.Addr().String()
	printDemoBanner(stdout, cfg, dn, bc)
	return run(ctx, cfg, ln, log, routes...)
}

func demoConfig(listen string, dn *devnet.Devnet, blockTime time.Duration, quorum int, verify string) *config.Config {
	cfg := config.Default()
	cfg.Listen = listen
	cfg.Networks = []config.Network{{
		Name:      "devnet",
		ChainID:   dn.ChainID(),
		Upstreams: dn.Upstreams(),
		// Local providers cost nothing to poll: follow the fast dev chain
		// closely so the served tip trails it by a fraction of a block.
		Head:   config.Head{PollInterval: max(100*time.Millisecond, blockTime/4)},
		Quorum: config.Quorum{K: quorum},
		Verify: config.Verify{Mode: verify},
	}}
	cfg.ApplyDefaults()
	return cfg
}

// writeChainConfig writes the dev chain's configuration to a temporary
// file and returns its path.
func writeChainConfig(dn *devnet.Devnet) (string, error) {
	b, err := json.Marshal(map[string]any{"config": dn.ChainConfig()})
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "braid-demo-chain-*.json")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), f.Close()
}

func printDemoBanner(w io.Writer, cfg *config.Config, dn *devnet.Devnet, bc *demoBeacon) {
	info := dn.Info()
	base := "http://" + cfg.Listen
	var b strings.Builder
	fmt.Fprintf(&b, "\nbraid demo: a dev chain (chain id %d), %d providers, one gateway\n\n", info.ChainID, len(cfg.Networks[0].Upstreams))
	fmt.Fprintf(&b, "  endpoint   %s   (also %s/devnet)\n", base, base)
	fmt.Fprintf(&b, "  websocket  ws://%s   (eth_subscribe newHeads, logs, newPendingTransactions)\n", cfg.Listen)
	for _, u := range cfg.Networks[0].Upstreams {
		fmt.Fprintf(&b, "  provider   %-4s %-12s %s\n", u.Name, u.Operator, u.URL)
	}
	bc.banner(&b, cfg.Networks[0].Verify.Mode)
	fmt.Fprintf(&b, "  account    %s (key %s: a public test key, never use it on a real chain)\n", info.Account.Address, info.Account.PrivateKey)
	fmt.Fprintf(&b, "  token      %s (ERC-20)\n\n", info.Token.Hex())
	fmt.Fprintf(&b, "Try:\n")
	fmt.Fprintf(&b, "  curl -s %s -H 'content-type: application/json' -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_blockNumber\"}'\n", base)
	fmt.Fprintf(&b, "  curl -s %s -H 'content-type: application/json' -d '{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"eth_getBalance\",\"params\":[\"%s\",\"latest\"]}'\n", base, info.Account.Address)
	fmt.Fprintf(&b, "  curl -s %s/demo/info\n", base)
	fmt.Fprintf(&b, "  curl -s %s/demo/faults -d '{\"provider\":\"p1\",\"down\":true}'    # take p1 down; requests keep working\n", base)
	fmt.Fprintf(&b, "  curl -s %s/demo/faults -d '{\"provider\":\"p1\"}'                # bring it back\n", base)
	if k := cfg.Networks[0].Quorum.K; k > 1 {
		fmt.Fprintf(&b, "  curl -s %s/demo/faults -d '{\"provider\":\"p2\",\"lie\":true}'    # p2 lies; %d operators must agree, so it is outvoted\n", base, k)
		fmt.Fprintf(&b, "  curl -s %s/status/disputes\n", base)
	}
	if cfg.Networks[0].Verify.Strict() {
		fmt.Fprintf(&b, "  curl -s %s/demo/faults -d '{\"provider\":\"p1\",\"lie\":true}'    # verify strict: p1's lies fail their proofs; reads stay true\n", base)
		fmt.Fprintf(&b, "  curl -s %s -H 'content-type: application/json' -d '{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"eth_call\",\"params\":[{\"to\":\"%s\",\"data\":\"0x70a08231000000000000000000000000%s\"},\"latest\"]}'    # balanceOf on the local EVM over proven state\n",
			base, info.Token.Hex(), strings.ToLower(info.Account.Address.Hex()[2:]))
		fmt.Fprintf(&b, "  curl -s %s/status | jq '.networks[0].methods'    # which methods are proven, derived, quorum_only or refused\n", base)
	}
	bc.tryLines(&b, base)
	fmt.Fprintf(&b, "  curl -s %s/status/centralization\n", base)
	fmt.Fprintf(&b, "  curl -s %s/metrics | grep braid_upstream_requests_total\n\n", base)
	_, _ = io.WriteString(w, b.String())
}
