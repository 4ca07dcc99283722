package beaconsim

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/attestantio/go-eth2-client/spec/deneb"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/beacon/types"
	"github.com/ethereum/go-ethereum/common"
	ctypes "github.com/ethereum/go-ethereum/core/types"
)

// Defaults of Config.
const (
	DefaultSlotDuration = 12 * time.Second
	DefaultSeed         = "braid-beaconsim"
)

// keepBlocks is how many recent blocks the simulator retains besides the
// finalized checkpoints and the blocks that prove a period's committee.
const keepBlocks = 1024

// Config configures a Sim.
type Config struct {
	Clock        clock.Clock   // slot timing; nil = the wall clock
	SlotDuration time.Duration // 0 = 12 s; the light client must be configured alike
	// StartSlot is the anchor's slot, rounded down to an epoch start: the
	// first fed block sits there and is the first finalized checkpoint.
	// Tests start near a period's end to cross a sync-committee change.
	StartSlot uint64
	Seed      string // derives the committees' keys; "" = DefaultSeed
}

// Head describes one simulated beacon block.
type Head struct {
	Slot        uint64
	Root        common.Hash // beacon block root
	BlockHash   common.Hash // execution block hash
	BlockNumber uint64
}

// Sim is the simulated beacon chain. It is safe for concurrent use.
type Sim struct {
	cfg     Config
	chain   *params.ChainConfig
	genesis time.Time
	retain  int // recent blocks kept (keepBlocks; tests lower it)

	mu         sync.Mutex
	committees map[uint64]*committee
	blocks     []*block // ascending slots
	byRoot     map[common.Hash]*block
	checkpoint map[common.Hash]bool // finalized checkpoints (and the anchor)
	updates    map[uint64]*block    // per period, the block its committee update attests
	apis       []*API
}

// ErrNoBlock is returned while no block has been fed.
var ErrNoBlock = errors.New("beaconsim: no block yet")

// New makes a simulator whose slot StartSlot is the clock's current slot.
func New(cfg Config) (*Sim, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.SlotDuration == 0 {
		cfg.SlotDuration = DefaultSlotDuration
	}
	if cfg.SlotDuration < time.Millisecond {
		return nil, fmt.Errorf("beaconsim: slot duration %v is below 1ms", cfg.SlotDuration)
	}
	if cfg.Seed == "" {
		cfg.Seed = DefaultSeed
	}
	cfg.StartSlot -= cfg.StartSlot % params.EpochLength
	since := time.Duration(cfg.StartSlot) * cfg.SlotDuration
	if since/cfg.SlotDuration != time.Duration(cfg.StartSlot) {
		return nil, fmt.Errorf("beaconsim: start slot %d is too far", cfg.StartSlot)
	}
	genesis := cfg.Clock.Now().Add(-since).Truncate(time.Second)
	if genesis.Unix() < 0 {
		return nil, fmt.Errorf("beaconsim: start slot %d lies before 1970", cfg.StartSlot)
	}
	s := &Sim{
		cfg:        cfg,
		genesis:    genesis,
		retain:     keepBlocks,
		committees: make(map[uint64]*committee),
		byRoot:     make(map[common.Hash]*block),
		checkpoint: make(map[common.Hash]bool),
		updates:    make(map[uint64]*block),
	}
	s.chain = chainConfig(uint64(genesis.Unix()), cfg.Seed)
	return s, nil
}

// chainConfig is the simulated network: every fork up to Fulu active from
// genesis, like Hoodi, so the light client meets mainnet's current layout.
func chainConfig(genesis uint64, seed string) *params.ChainConfig {
	c := &params.ChainConfig{GenesisTime: genesis, GenesisValidatorsRoot: common.BytesToHash([]byte(seed))}
	for i, name := range []string{"GENESIS", "ALTAIR", "BELLATRIX", "CAPELLA", "DENEB", "ELECTRA", "FULU"} {
		c.AddFork(name, 0, []byte{byte(i), 0xb5, 0x1d, 0x00})
	}
	return c
}

// ChainConfig returns a copy of the simulated network's beacon chain
// configuration (genesis time, validators root, forks) for the light client.
func (s *Sim) ChainConfig() *params.ChainConfig {
	return chainConfig(s.chain.GenesisTime, s.cfg.Seed)
}

// SlotDuration returns the simulated slot length.
func (s *Sim) SlotDuration() time.Duration { return s.cfg.SlotDuration }

// SlotTime returns when a slot starts.
func (s *Sim) SlotTime(slot uint64) time.Time {
	return s.genesis.Add(time.Duration(slot) * s.cfg.SlotDuration)
}

// CurrentSlot returns the slot the clock is in.
func (s *Sim) CurrentSlot() uint64 {
	d := s.cfg.Clock.Now().Sub(s.genesis)
	if d < 0 {
		return 0
	}
	return uint64(d / s.cfg.SlotDuration)
}

// AddBlock makes the next beacon block over the execution header h (its
// hash is h.Hash()), signs it with the full committee and announces it on
// every API that is up and not frozen. The first block is the anchor at
// StartSlot; later ones take the current slot or, if that already has a
// block, the next one.
func (s *Sim) AddBlock(h *ctypes.Header) (Head, error) {
	exec, err := executionHeader(h)
	if err != nil {
		return Head{}, err
	}
	s.mu.Lock()
	b, err := s.addLocked(exec)
	apis := append([]*API(nil), s.apis...)
	s.mu.Unlock()
	if err != nil {
		return Head{}, err
	}
	for _, a := range apis {
		a.announce(b)
	}
	return b.head(), nil
}

func (s *Sim) addLocked(exec *deneb.ExecutionPayloadHeader) (*block, error) {
	slot, parent := s.cfg.StartSlot, common.Hash{}
	var finalized *block
	if n := len(s.blocks); n > 0 {
		last := s.blocks[n-1]
		slot, parent = max(last.header.Slot+1, s.CurrentSlot()), last.root
		finalized = s.checkpointFor(slot)
	}
	b, err := s.buildBlock(slot, parent, exec, finalized)
	if err != nil {
		return nil, err
	}
	s.blocks = append(s.blocks, b)
	s.byRoot[b.root] = b
	if finalized != nil {
		s.checkpoint[finalized.root] = true
	} else {
		s.checkpoint[b.root] = true
	}
	if period := types.SyncPeriod(slot); types.SyncPeriod(b.sigSlot) == period {
		s.updates[period] = b
	}
	s.prune()
	return b, nil
}

// checkpointFor returns the finalized checkpoint of a block at slot: the
// block at (or last before) the start of the epoch two before slot's, or the
// anchor while the chain is younger than that.
func (s *Sim) checkpointFor(slot uint64) *block {
	epoch := slot / params.EpochLength
	if epoch < 2 {
		return s.blocks[0]
	}
	boundary := (epoch - 2) * params.EpochLength
	i := sort.Search(len(s.blocks), func(i int) bool { return s.blocks[i].header.Slot > boundary })
	if i == 0 {
		return s.blocks[0]
	}
	return s.blocks[i-1]
}

// prune drops old blocks except finalized checkpoints and the blocks that
// attest each period's committee update.
func (s *Sim) prune() {
	if len(s.blocks) <= 2*s.retain {
		return
	}
	cut := len(s.blocks) - s.retain
	kept := make([]*block, 0, len(s.blocks))
	for _, b := range s.blocks[:cut] {
		if s.checkpoint[b.root] || s.updates[types.SyncPeriod(b.header.Slot)] == b {
			kept = append(kept, b)
			continue
		}
		delete(s.byRoot, b.root)
	}
	s.blocks = append(kept, s.blocks[cut:]...)
}

// Head returns the latest block.
func (s *Sim) Head() (Head, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.blocks) == 0 {
		return Head{}, ErrNoBlock
	}
	return s.blocks[len(s.blocks)-1].head(), nil
}

// Checkpoint returns the root of the latest finalized checkpoint (the
// anchor at first): a block root a light client can bootstrap from.
func (s *Sim) Checkpoint() (common.Hash, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.blocks) == 0 {
		return common.Hash{}, ErrNoBlock
	}
	if f := s.blocks[len(s.blocks)-1].finalized; f != nil {
		return f.root, nil
	}
	return s.blocks[0].root, nil
}

// committee returns (and caches) the committee of a period.
func (s *Sim) committee(period uint64) (*committee, error) {
	if c, ok := s.committees[period]; ok {
		return c, nil
	}
	c, err := newCommittee(s.cfg.Seed, period)
	if err != nil {
		return nil, err
	}
	s.committees[period] = c
	return c, nil
}

func (b *block) head() Head {
	return Head{Slot: b.header.Slot, Root: b.root, BlockHash: common.Hash(b.exec.BlockHash), BlockNumber: b.exec.BlockNumber}
}

// latest returns the newest block (nil if none); callers hold s.mu.
func (s *Sim) latest() *block {
	if len(s.blocks) == 0 {
		return nil
	}
	return s.blocks[len(s.blocks)-1]
}
