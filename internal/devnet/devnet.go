// Package devnet owns braid's in-process Ethereum development network: a
// real go-ethereum chain (ethclient/simulated: real EVM, real state trie,
// real proofs) with two funded accounts and a deployed ERC-20 token, an
// optional block loop with a background stream of demo transactions, and N
// local JSON-RPC "providers" that serve that chain through a
// fault-injecting front (down, HTTP status, latency, error rate, lag, lies).
// Each provider answers HTTP POSTs at its URL and WebSocket connections at
// its WSURL (the same listener and path), where eth_subscribe pushes the
// chain's newHeads, logs and newPendingTransactions under the same faults.
// Fork and Reorg rewrite the chain's recent blocks for reorg tests.
//
// It is used by `braid demo` and by integration tests. A Devnet owns every
// goroutine, listener, WebSocket connection and database it starts; Close
// releases them all.
package devnet

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid/internal/config"
)

// DefaultProviders is the number of providers when Options.Providers is 0.
const DefaultProviders = 4

// buildAllowance is how long geth's miner may spend filling a block with
// the pool's transactions (its Recommit, 2 s by default) before it seals
// what it has: on a loaded machine with the race detector a few
// transactions took longer, and the block left some of them pending.
const buildAllowance = time.Minute

// Publicly known development keys (Hardhat/Anvil test accounts #0 and #1).
// They hold value only on development chains.
const (
	// UserKey is published in Info for users and demos to send from.
	UserKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
	// StreamKey deploys the token and signs the background demo
	// transactions, so it never competes with users for nonces.
	StreamKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
)

// ErrClosed is returned by operations on a closed Devnet.
var ErrClosed = errors.New("devnet: closed")

// Options configure New.
type Options struct {
	// Providers is the number of providers (default 4).
	Providers int
	// BlockTime > 0 commits a block every BlockTime; 0 commits only on
	// Commit or Step (tests).
	BlockTime time.Duration
	// TxStream makes every block committed by the block loop carry a round
	// of demo transactions (ETH and token transfers).
	TxStream bool
	// WebSocket makes Upstreams give gateways each provider's WebSocket
	// endpoint too (config.Upstream.WSURL). Providers always serve it.
	WebSocket bool
	// Logger receives lifecycle and stream errors; nil discards.
	Logger *slog.Logger
}

// Account is a funded account whose key is published.
type Account struct {
	Address    common.Address `json:"address"`
	PrivateKey string         `json:"private_key"` // hex, 0x-prefixed
}

// Info describes the devnet for users and tools (GET /demo/info).
type Info struct {
	ChainID   uint64         `json:"chain_id"`
	Account   Account        `json:"account"`
	Token     common.Address `json:"token"`
	Providers []ProviderInfo `json:"providers"`
}

// Devnet is a running chain with its providers.
type Devnet struct {
	log     *slog.Logger
	chainID uint64

	backend *simulated.Backend
	rpc     *rpc.Client
	eth     *ethclient.Client
	signer  types.Signer

	user   *ecdsa.PrivateKey
	stream *ecdsa.PrivateKey
	token  *token

	// mu serialises sealing (the simulated beacon is not safe for
	// concurrent use) and the stream's nonce, and guards closed.
	mu          sync.Mutex
	closed      bool
	streamNonce uint64
	round       uint64

	providers []*Provider
	websocket bool // Options.WebSocket

	// ctx is cancelled by Close: it stops the block loop and is the base
	// context of every provider request.
	ctx       context.Context
	cancel    context.CancelFunc
	loopDone  chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New starts a chain, deploys the token, funds the user account with
// tokens, starts the providers and, with BlockTime > 0, the block loop.
// ctx bounds start-up only; the devnet runs until Close.
func New(ctx context.Context, opts Options) (_ *Devnet, err error) {
	if opts.Providers < 0 {
		return nil, fmt.Errorf("devnet: providers must be at least 1, got %d", opts.Providers)
	}
	if opts.Providers == 0 {
		opts.Providers = DefaultProviders
	}
	if opts.BlockTime < 0 {
		return nil, fmt.Errorf("devnet: block time must not be negative, got %s", opts.BlockTime)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	user, err := crypto.HexToECDSA(UserKey[2:])
	if err != nil {
		return nil, fmt.Errorf("devnet: user key: %w", err)
	}
	stream, err := crypto.HexToECDSA(StreamKey[2:])
	if err != nil {
		return nil, fmt.Errorf("devnet: stream key: %w", err)
	}
	tok, err := loadToken()
	if err != nil {
		return nil, err
	}

	funds := new(big.Int).Mul(big.NewInt(10_000), big.NewInt(params.Ether))
	backend := simulated.NewBackend(types.GenesisAlloc{
		crypto.PubkeyToAddress(user.PublicKey):   {Balance: funds},
		crypto.PubkeyToAddress(stream.PublicKey): {Balance: new(big.Int).Set(funds)},
	}, func(_ *node.Config, ec *ethconfig.Config) { ec.Miner.Recommit = buildAllowance })
	d := &Devnet{
		log:       log,
		backend:   backend,
		user:      user,
		stream:    stream,
		token:     tok,
		websocket: opts.WebSocket,
		loopDone:  make(chan struct{}),
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	close(d.loopDone) // replaced by an open one if the loop runs
	defer func() {
		if err != nil {
			d.Close()
		}
	}()

	if d.rpc, err = inprocClient(backend); err != nil {
		return nil, err
	}
	d.eth = ethclient.NewClient(d.rpc)

	var id hexutil.Uint64
	if err := d.rpc.CallContext(ctx, &id, "eth_chainId"); err != nil {
		return nil, fmt.Errorf("devnet: eth_chainId: %w", err)
	}
	d.chainID = uint64(id)
	d.signer = types.LatestSignerForChainID(new(big.Int).SetUint64(d.chainID))

	if err := d.setup(ctx); err != nil {
		return nil, err
	}
	for i := 1; i <= opts.Providers; i++ {
		p, err := startProvider(d, "p"+strconv.Itoa(i), "operator-"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		d.providers = append(d.providers, p)
	}
	if opts.BlockTime > 0 {
		d.loopDone = make(chan struct{})
		go d.loop(opts.BlockTime, opts.TxStream)
	}
	log.Info("devnet started", "chain_id", d.chainID, "providers", len(d.providers),
		"block_time", opts.BlockTime, "tx_stream", opts.TxStream, "token", d.token.address)
	return d, nil
}

// inprocClient digs the in-process *rpc.Client out of the simulated
// backend. Backend.Client returns a struct embedding *ethclient.Client; the
// embedded field (named Client) shadows ethclient's Client() method, so an
// interface assertion cannot reach it, but the field itself is exported.
func inprocClient(b *simulated.Backend) (*rpc.Client, error) {
	v := reflect.ValueOf(b.Client())
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		if f := v.FieldByName("Client"); f.IsValid() && f.CanInterface() {
			if ec, ok := f.Interface().(*ethclient.Client); ok && ec != nil {
				return ec.Client(), nil
			}
		}
	}
	if c, ok := b.Client().(interface{ Client() *rpc.Client }); ok {
		return c.Client(), nil
	}
	return nil, fmt.Errorf("devnet: cannot reach the simulated backend's *rpc.Client (%T)", b.Client())
}

// Close stops the block loop, the providers and the chain. It is safe to
// call more than once and from several goroutines; every call returns the
// first call's result.
func (d *Devnet) Close() error {
	d.closeOnce.Do(func() {
		d.cancel()
		<-d.loopDone
		var errs []error
		for _, p := range d.providers {
			errs = append(errs, p.close())
		}
		d.mu.Lock()
		d.closed = true
		errs = append(errs, d.backend.Close())
		d.mu.Unlock()
		d.closeErr = errors.Join(errs...)
		d.log.Info("devnet closed")
	})
	return d.closeErr
}

// ChainID is the chain's id (1337 for the simulated backend).
func (d *Devnet) ChainID() uint64 { return d.chainID }

// ChainConfig is the chain's configuration: the simulated backend runs
// go-ethereum's params.AllDevChainProtocolChanges, every fork from genesis
// (a copy: changing it changes nothing).
func (d *Devnet) ChainConfig() *params.ChainConfig {
	c := *params.AllDevChainProtocolChanges
	return &c
}

// RPC is an honest in-process client of the chain, with no faults. Tests
// compare providers' answers against it.
func (d *Devnet) RPC() *rpc.Client { return d.rpc }

// Commit seals one block now, with whatever transactions are pending, and
// returns its hash (the zero hash once closed).
func (d *Devnet) Commit() common.Hash {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return common.Hash{}
	}
	return d.backend.Commit()
}

// CommitAll seals blocks until the chain has mined every transaction
// key's account sent below nonce next, and returns the last block's hash.
// Before each block it waits until the pool holds them all as executable
// (a plain Commit can race the pool and leave one queued); one block
// usually takes them all, but a block is full at its gas limit, and geth's
// miner seals what it has once its build allowance runs out, so CommitAll
// seals again while any is left.
func (d *Devnet) CommitAll(ctx context.Context, key *ecdsa.PrivateKey, next uint64) (common.Hash, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	from := crypto.PubkeyToAddress(key.PublicKey)
	last, stalls := uint64(0), 0
	for {
		if d.closed {
			return common.Hash{}, ErrClosed
		}
		if err := d.settleAccount(ctx, key, next); err != nil {
			return common.Hash{}, err
		}
		hash := d.backend.Commit()
		mined, err := d.eth.NonceAt(ctx, from, nil)
		if err != nil {
			return common.Hash{}, fmt.Errorf("devnet: read the nonce of %s: %w", from, err)
		}
		if mined >= next {
			return hash, nil
		}
		if mined > last {
			last, stalls = mined, 0
		} else if stalls++; stalls >= maxStalls {
			return common.Hash{}, fmt.Errorf("devnet: %d blocks in a row mined none of %s's transactions %d to %d",
				stalls, from, mined, next-1)
		}
	}
}

// maxStalls is how many blocks in a row CommitAll seals without mining one
// of the account's transactions before it gives up on them.
const maxStalls = 3

// Step sends one round of demo transactions, commits a block and returns
// its hash. The round's transactions are in that block.
func (d *Devnet) Step(ctx context.Context) (common.Hash, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return common.Hash{}, ErrClosed
	}
	return d.step(ctx)
}

// step sends one round of demo transactions, waits until the pool holds
// them all as executable and commits a block. d.mu must be held.
func (d *Devnet) step(ctx context.Context) (common.Hash, error) {
	if err := d.sendRound(ctx); err != nil {
		return common.Hash{}, err
	}
	if err := d.settle(ctx); err != nil {
		return common.Hash{}, err
	}
	return d.backend.Commit(), nil
}

// Providers returns the providers in order p1, p2, ….
func (d *Devnet) Providers() []*Provider {
	return append([]*Provider(nil), d.providers...)
}

// Provider returns the provider with that name, or nil.
func (d *Devnet) Provider(name string) *Provider {
	for _, p := range d.providers {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// UserAccount is the funded account published in Info.
func (d *Devnet) UserAccount() Account {
	return Account{Address: crypto.PubkeyToAddress(d.user.PublicKey), PrivateKey: UserKey}
}

// UserPrivateKey returns the user account's key, for signing.
func (d *Devnet) UserPrivateKey() *ecdsa.PrivateKey { return d.user }

// Token is the address of the deployed ERC-20 token.
func (d *Devnet) Token() common.Address { return d.token.address }

// Info describes the devnet.
func (d *Devnet) Info() Info {
	info := Info{ChainID: d.chainID, Account: d.UserAccount(), Token: d.token.address}
	for _, p := range d.providers {
		info.Providers = append(info.Providers, p.Info())
	}
	return info
}

// Upstreams returns one upstream per provider, each run by its own
// operator, for a gateway configuration; with Options.WebSocket each also
// has the provider's WebSocket endpoint. Other fields are left zero for
// the caller's defaults.
func (d *Devnet) Upstreams() []config.Upstream {
	ups := make([]config.Upstream, 0, len(d.providers))
	for _, p := range d.providers {
		u := config.Upstream{Name: p.Name, Operator: p.Operator, URL: p.URL}
		if d.websocket {
			u.WSURL = p.WSURL
		}
		ups = append(ups, u)
	}
	return ups
}

// loop commits a block every period until Close.
func (d *Devnet) loop(period time.Duration, stream bool) {
	defer close(d.loopDone)
	t := time.NewTicker(period)
	defer t.Stop()
	ctx := d.ctx
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.mu.Lock()
		if !d.closed {
			if !stream {
				d.backend.Commit()
			} else if _, err := d.step(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("devnet: demo transactions", "err", err)
				d.backend.Commit() // the block time holds even without a round
			}
		}
		d.mu.Unlock()
	}
}
