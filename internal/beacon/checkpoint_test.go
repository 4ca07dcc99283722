package beacon_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/beacon"
)

type savedFile struct {
	Network string      `json:"network"`
	Root    common.Hash `json:"root"`
	Slot    uint64      `json:"slot"`
	Anchor  common.Hash `json:"anchor"`
}

func readSaved(t *testing.T, dir string) (savedFile, bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "beacon-sim-checkpoint.json"))
	if errors.Is(err, os.ErrNotExist) {
		return savedFile{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	var s savedFile
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s, true
}

// TestCheckpointPersistsAcrossRestart: the client saves each finalized
// epoch-boundary root; a restarted client without a configured checkpoint
// bootstraps from it, and one configured with the original root prefers the
// newer saved one it led to.
func TestCheckpointPersistsAcrossRestart(t *testing.T) {
	h := newHarness(t, options{})
	anchor, _ := h.sim.Checkpoint()
	dir := t.TempDir()
	cfg := h.config()
	cfg.DataDir = dir
	c := h.start(cfg)
	for range 4 { // one block per epoch start; finality trails the head by two epochs
		// An epoch without events idles the stream out; progress lets the
		// reconnect (on the injected clock) happen.
		h.clk.Advance(params.EpochLength * h.sim.SlotDuration())
		fed := h.feed()
		h.progress("the epoch's head", fed, serves(c, fed))
	}
	want, _ := h.sim.Checkpoint()
	if want == anchor {
		t.Fatal("the simulated chain did not finalize past its anchor")
	}
	await.Until(t, "the finalized checkpoint on disk", func() bool {
		s, ok := readSaved(t, dir)
		return ok && s.Root == want
	})
	saved, _ := readSaved(t, dir)
	if saved.Slot%params.EpochLength != 0 || saved.Anchor != anchor || saved.Network != "sim" {
		t.Fatalf("saved checkpoint %+v", saved)
	}
	if fin, ok := c.Finalized(); !ok || fin.BeaconRoot != want || fin.BlockHash == (common.Hash{}) || fin.BlockNumber == 0 {
		t.Fatalf("finalized %+v", fin)
	}
	c.Close()

	for _, tc := range []struct {
		name       string
		configured common.Hash
		preset     common.Hash // DefaultCheckpoint
		dir        string
		root       common.Hash
		source     string
	}{
		{"saved only", common.Hash{}, common.Hash{}, dir, want, beacon.SourceSaved},
		{"saved wins over a preset", common.Hash{}, anchor, dir, want, beacon.SourceSaved},
		{"preset without a saved one", common.Hash{}, h.blockRoot(t, 1), t.TempDir(), h.blockRoot(t, 1), beacon.SourcePreset},
		{"configured anchor, newer saved", anchor, common.Hash{}, dir, want, beacon.SourceSaved},
		{"another configured root wins", h.blockRoot(t, 2), anchor, dir, h.blockRoot(t, 2), beacon.SourceConfigured},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := h.config()
			cfg.DataDir, cfg.Checkpoint, cfg.Registerer = tc.dir, tc.configured, prometheus.NewRegistry()
			cfg.DefaultCheckpoint = tc.preset
			c2, err := beacon.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			if st := c2.Status().Checkpoint; st.Root != tc.root || st.Source != tc.source {
				t.Fatalf("checkpoint %+v, want %s from %s", st, tc.root, tc.source)
			}
			if err := c2.Start(); err != nil {
				t.Fatal(err)
			}
			await.Until(t, "the bootstrap", func() bool { return c2.Status().Checkpoint.Bootstrapped })
			h.nextSlot()
			h.waitHead(c2, h.feed())
		})
	}
}

// blockRoot returns the beacon root of the i-th fed block.
func (h *harness) blockRoot(t *testing.T, i int) common.Hash {
	t.Helper()
	if i >= len(h.roots) {
		t.Fatalf("no block %d", i)
	}
	return h.roots[i]
}

// TestTooOldCheckpointRefused: a configured checkpoint older than
// checkpoint_max_age stops the client with a clear reason; a saved one is
// refused by New.
func TestTooOldCheckpointRefused(t *testing.T) {
	h := newHarness(t, options{})
	h.clk.Advance(15 * 24 * time.Hour)
	c := h.start(h.config())
	await.Until(t, "the refusal", func() bool { return errors.Is(c.Ready(), beacon.ErrCheckpointTooOld) })
	err := c.Ready()
	for _, want := range []string{"configured checkpoint", "15.0 days old", "checkpoint_max_age 14.0 days", "trust.checkpoint"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !errors.Is(err, beacon.ErrNotReady) {
		t.Errorf("%v is not a not-ready error", err)
	}
	if got := h.notReady(); got != "checkpoint_too_old" {
		t.Errorf("braid_beacon_not_ready reason = %q", got)
	}

	dir := t.TempDir()
	anchor, _ := h.sim.Checkpoint()
	data, _ := json.Marshal(savedFile{Network: "sim", Root: anchor, Slot: 0})
	if err := os.WriteFile(filepath.Join(dir, "beacon-sim-checkpoint.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := h.config()
	cfg.Checkpoint, cfg.DataDir, cfg.Registerer = common.Hash{}, dir, nil
	if _, err := beacon.New(cfg); !errors.Is(err, beacon.ErrCheckpointTooOld) || !strings.Contains(err.Error(), "saved checkpoint") {
		t.Fatalf("New with a too-old saved checkpoint: %v", err)
	}
	cfg.DataDir = t.TempDir()
	if _, err := beacon.New(cfg); !errors.Is(err, beacon.ErrNoCheckpoint) || !strings.Contains(err.Error(), "trust.checkpoint") {
		t.Fatalf("New without any checkpoint: %v", err)
	}
}

// TestNoDataDirWarns: a client that keeps no checkpoint says so at start
// (its configured one ages until a restart refuses it); one with a data
// dir does not.
func TestNoDataDirWarns(t *testing.T) {
	const warning = "beacon light client keeps no checkpoint (trust.data_dir not set)"
	h := newHarness(t, options{})
	c := h.start(h.config())
	c.Close()
	if !strings.Contains(h.logs.String(), warning) {
		t.Errorf("no warning without a data dir:\n%s", h.logs)
	}
	h = newHarness(t, options{})
	cfg := h.config()
	cfg.DataDir = t.TempDir()
	h.start(cfg).Close()
	if strings.Contains(h.logs.String(), warning) {
		t.Errorf("warning with a data dir:\n%s", h.logs)
	}
}
