package beacon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/beacon/types"
	"github.com/ethereum/go-ethereum/common"
)

// Sources of a checkpoint.
const (
	SourceConfigured = "configured"
	SourceSaved      = "saved"
	SourcePreset     = "preset"
)

// savedCheckpoint is the restart checkpoint a run leaves in DataDir.
type savedCheckpoint struct {
	Network string      `json:"network"`
	Root    common.Hash `json:"root"`
	Slot    uint64      `json:"slot"`
	// Anchor is the configured checkpoint this one was reached from by
	// verified sync (zero if none was configured).
	Anchor common.Hash `json:"anchor"`
}

// checkpointChoice is the checkpoint a client bootstraps from.
type checkpointChoice struct {
	Root   common.Hash
	Slot   uint64 // 0 while unknown (a configured root, until bootstrap)
	Source string
	Anchor common.Hash
}

func checkpointPath(dir, network string) string {
	if dir == "" {
		return ""
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, network)
	return filepath.Join(dir, "beacon-"+name+"-checkpoint.json")
}

func loadCheckpoint(path string) (*savedCheckpoint, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cp savedCheckpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return nil, fmt.Errorf("%s does not parse: %w", path, err)
	}
	if cp.Root == (common.Hash{}) {
		return nil, fmt.Errorf("%s has no root", path)
	}
	return &cp, nil
}

// writeCheckpoint replaces the file atomically (write, sync, rename).
func writeCheckpoint(path string, cp savedCheckpoint) error {
	data, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".beacon-checkpoint-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// resolveCheckpoint picks the checkpoint: the configured root, unless a
// fresh saved checkpoint was reached from that very root; else the saved
// one; else an error. A saved checkpoint older than checkpoint_max_age is
// refused here; a configured root's age is checked when its bootstrap
// arrives (the slot is unknown until then).
func (c *Client) resolveCheckpoint() (checkpointChoice, error) {
	configured := c.cfg.Checkpoint
	saved, err := loadCheckpoint(c.cpPath)
	if err != nil {
		if configured == (common.Hash{}) {
			return checkpointChoice{}, fmt.Errorf("beacon: %w: saved checkpoint: %v", ErrNoCheckpoint, err)
		}
		c.log.Warn("beacon: ignoring unreadable saved checkpoint, using the configured one", "err", err)
		saved = nil
	}
	if saved != nil && saved.Network != c.spec.Name {
		return checkpointChoice{}, fmt.Errorf("beacon: saved checkpoint %s belongs to network %q, not %q", c.cpPath, saved.Network, c.spec.Name)
	}
	var savedErr error
	if saved != nil {
		savedErr = c.checkAge(saved.Root, saved.Slot, SourceSaved)
	}
	switch {
	case configured != (common.Hash{}) && saved != nil && saved.Anchor == configured && savedErr == nil:
		return checkpointChoice{Root: saved.Root, Slot: saved.Slot, Source: SourceSaved, Anchor: configured}, nil
	case configured != (common.Hash{}):
		return checkpointChoice{Root: configured, Source: SourceConfigured, Anchor: configured}, nil
	case saved == nil && c.cfg.DefaultCheckpoint != (common.Hash{}):
		return checkpointChoice{Root: c.cfg.DefaultCheckpoint, Source: SourcePreset, Anchor: c.cfg.DefaultCheckpoint}, nil
	case saved == nil:
		return checkpointChoice{}, fmt.Errorf("beacon: %w for network %s: configure trust.checkpoint (a recent finalized beacon block root, 0x…)", ErrNoCheckpoint, c.spec.Name)
	case savedErr != nil:
		return checkpointChoice{}, savedErr
	}
	return checkpointChoice{Root: saved.Root, Slot: saved.Slot, Source: SourceSaved, Anchor: saved.Anchor}, nil
}

// checkAge refuses a checkpoint older than checkpoint_max_age.
func (c *Client) checkAge(root common.Hash, slot uint64, source string) error {
	age := c.clock.Now().Sub(c.spec.SlotTime(slot))
	if age <= c.cfg.CheckpointMaxAge {
		return nil
	}
	return fmt.Errorf("beacon: %w: %s checkpoint %s (slot %d) is %s old, over checkpoint_max_age %s; configure trust.checkpoint with a recent finalized beacon block root",
		ErrCheckpointTooOld, source, root, slot, days(age), days(c.cfg.CheckpointMaxAge))
}

func days(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return d.Round(time.Second).String()
}

// saveCheckpoint keeps a finalized epoch-boundary root for the next start.
func (c *Client) saveCheckpoint(root common.Hash, slot uint64) {
	c.mu.Lock()
	if c.cpPath == "" || slot <= c.savedSlot {
		c.mu.Unlock()
		return
	}
	c.savedSlot = slot
	c.mu.Unlock()
	err := writeCheckpoint(c.cpPath, savedCheckpoint{Network: c.spec.Name, Root: root, Slot: slot, Anchor: c.cp.Anchor})
	c.mu.Lock()
	c.saveErr = ""
	if err != nil {
		c.saveErr = err.Error()
	}
	c.mu.Unlock()
	if err != nil {
		c.log.Warn("beacon: cannot save the checkpoint", "err", err)
		return
	}
	c.log.Debug("beacon: checkpoint saved", "root", root, "slot", slot)
}

// chainGuard is the committee chain as go-ethereum's sync modules see it:
// it refuses a bootstrap whose checkpoint is too old, and records a good
// one (and saves it).
type chainGuard struct{ c *Client }

// CheckpointInit refuses a too-old checkpoint for good (the client stops:
// retrying cannot make it younger), else initializes the committee chain.
func (g chainGuard) CheckpointInit(b types.BootstrapData) error {
	c := g.c
	if err := c.checkAge(b.Header.Hash(), b.Header.Slot, c.cp.Source); err != nil {
		c.fail(fmt.Errorf("%w: %w", ErrNotReady, err))
		return err
	}
	c.mu.Lock()
	fatal := c.fatal
	c.mu.Unlock()
	if fatal != nil {
		return fatal
	}
	if err := c.chain.CheckpointInit(b); err != nil {
		return err
	}
	c.mu.Lock()
	c.booted, c.bootSlot = true, b.Header.Slot
	c.mu.Unlock()
	c.log.Info("beacon light client bootstrapped", "checkpoint", b.Header.Hash(), "slot", b.Header.Slot, "source", c.cp.Source)
	c.saveCheckpoint(b.Header.Hash(), b.Header.Slot)
	c.notify()
	return nil
}

func (g chainGuard) InsertUpdate(u *types.LightClientUpdate, next *types.SerializedSyncCommittee) error {
	return g.c.chain.InsertUpdate(u, next)
}

func (g chainGuard) NextSyncPeriod() (uint64, bool) { return g.c.chain.NextSyncPeriod() }
