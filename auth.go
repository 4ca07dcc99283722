package braid

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/replica"
)

// keys is braid's API key and limit checking, when the configuration
// turns it on (auth:, keys:), with its own link to the replicas' Redis.
type keys struct {
	ctl  *access.Control
	link *replica.Link
}

// startKeys builds and starts the checks cfg asks for; nil when it asks
// for none. Limits and keys are shared through redis.url when it is set.
func startKeys(ctx context.Context, cfg *Config, o *options) (*keys, error) {
	if !cfg.AuthOn() {
		return nil, nil
	}
	k := &keys{}
	if cfg.Redis.URL != "" {
		// The gateway's own link already logs Redis outages; this one
		// stays quiet, and the limits say what an outage means for them.
		link, err := replica.NewLink(replica.LinkOptions{URL: cfg.Redis.URL, Prefix: cfg.Redis.Prefix,
			Timeout: cfg.Redis.Timeout, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, fmt.Errorf("braid: redis for keys and limits: %w", err)
		}
		k.link = link
	}
	ctl, err := access.New(cfg, access.Options{Link: k.link, Logger: o.logger, Registry: o.registry})
	if err != nil {
		k.close()
		return nil, fmt.Errorf("braid: %w", err)
	}
	k.ctl = ctl
	logFairAdmission(cfg, ctl, o.logger)
	ctl.Start(ctx)
	return k, nil
}

// logFairAdmission says at start how many calls each network runs at once
// for callers, shared fairly, and where that number comes from: operators
// see a derived cap where they would look for a configured one.
func logFairAdmission(cfg *Config, ctl *access.Control, log *slog.Logger) {
	for i := range cfg.Networks {
		name := cfg.Networks[i].Name
		if s := ctl.Slots(name); s.From != "" {
			log.Info("fair admission", "network", name, "max_inflight", s.Max, "from", s.From)
		}
	}
}

// control is the Control to check requests with (nil: none).
func (k *keys) control() *access.Control {
	if k == nil {
		return nil
	}
	return k.ctl
}

func (k *keys) close() {
	if k == nil {
		return
	}
	if k.ctl != nil {
		k.ctl.Close()
	}
	if k.link != nil {
		_ = k.link.Close()
	}
}
