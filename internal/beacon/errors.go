package beacon

import (
	"errors"
	"fmt"
)

// Errors a light client reports. Every not-ready reason wraps ErrNotReady.
var (
	ErrNotReady = errors.New("beacon light client not ready")
	// ErrNoHead: no sync-committee-signed head has been accepted yet.
	ErrNoHead = fmt.Errorf("%w: no signed head accepted yet", ErrNotReady)
	// ErrStaleHead: the latest accepted head is older than max_head_age.
	ErrStaleHead = fmt.Errorf("%w: stale head", ErrNotReady)
	// ErrNoEndpoint: no configured beacon API is reachable.
	ErrNoEndpoint = fmt.Errorf("%w: no reachable beacon API", ErrNotReady)
	// ErrBootstrapping: the checkpoint's sync committee is not loaded yet.
	ErrBootstrapping = fmt.Errorf("%w: bootstrapping from the checkpoint", ErrNotReady)
	// ErrStopped: the client was closed.
	ErrStopped = fmt.Errorf("%w: stopped", ErrNotReady)

	// ErrNoCheckpoint: neither a configured nor a saved checkpoint exists.
	ErrNoCheckpoint = errors.New("no beacon checkpoint")
	// ErrCheckpointTooOld: the checkpoint is older than checkpoint_max_age.
	ErrCheckpointTooOld = errors.New("beacon checkpoint too old")
)
