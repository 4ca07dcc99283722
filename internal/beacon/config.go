package beacon

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/clock"
)

// Defaults of Config.
const (
	DefaultCheckpointMaxAge = 14 * 24 * time.Hour
	DefaultMaxHeadAge       = 60 * time.Second
	DefaultRequestTimeout   = 10 * time.Second
)

// Config configures one network's light client. The lead's YAML maps onto
// it: trust.beacon_apis → APIs, trust.checkpoint → Checkpoint,
// trust.checkpoint_max_age → CheckpointMaxAge, trust.max_head_age →
// MaxHeadAge.
type Config struct {
	Network Network    // a preset (Mainnet, Sepolia, Hoodi) or a devnet's
	APIs    []Endpoint // beacon APIs serving the light-client endpoints; one honest live one suffices

	// Checkpoint is a trusted finalized beacon block root (0x…, at an epoch
	// start). Zero means: use the checkpoint saved in DataDir by an earlier
	// run. A saved checkpoint reached from the configured one by verified
	// sync is preferred to it; a different configured root always wins.
	Checkpoint common.Hash
	// DefaultCheckpoint is used when neither Checkpoint nor a saved
	// checkpoint exists: a preset's (PresetCheckpoint).
	DefaultCheckpoint common.Hash
	CheckpointMaxAge  time.Duration // older checkpoints are refused; 0 = 14 days
	MaxHeadAge        time.Duration // an older signed head makes the client not ready; 0 = 60 s
	// DataDir keeps the last finalized checkpoint (one small JSON file per
	// network) for restarts; "" keeps nothing.
	DataDir string
	// RequestTimeout bounds each beacon API request; 0 = 10 s.
	RequestTimeout time.Duration

	Clock      clock.Clock           // nil = the wall clock
	Logger     *slog.Logger          // nil = discard
	Registerer prometheus.Registerer // nil = no metrics
}

// Endpoint is one beacon API. Its headers (API keys) are sent only to it.
type Endpoint struct {
	// Name labels the endpoint in logs, status and metrics; "" = its host.
	Name    string
	URL     string // http(s)://host[:port][/base path]; path, query and userinfo are treated as secret
	Headers map[string]string
}

func (c *Config) applyDefaults() {
	if c.CheckpointMaxAge == 0 {
		c.CheckpointMaxAge = DefaultCheckpointMaxAge
	}
	if c.MaxHeadAge == 0 {
		c.MaxHeadAge = DefaultMaxHeadAge
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// validate checks the configuration after defaults. Its messages name
// endpoints by index and host only.
func (c *Config) validate() error {
	if err := c.Network.validate(); err != nil {
		return err
	}
	if len(c.APIs) == 0 {
		return errors.New("beacon: no beacon_apis configured")
	}
	for i, e := range c.APIs {
		if _, err := parseEndpointURL(e.URL); err != nil {
			return fmt.Errorf("beacon: beacon_apis[%d]: %w", i, err)
		}
		for k, v := range e.Headers {
			if !validHeaderName(k) || strings.ContainsAny(v, "\r\n\x00") {
				return fmt.Errorf("beacon: beacon_apis[%d]: header %q has an invalid name or value", i, k)
			}
		}
	}
	switch {
	case c.MaxHeadAge < 0 || c.CheckpointMaxAge < 0 || c.RequestTimeout < 0:
		return errors.New("beacon: durations must not be negative")
	case c.MaxHeadAge <= c.Network.SlotDuration:
		return fmt.Errorf("beacon: max_head_age %v must exceed one slot (%v): the signed head is about a slot old when it arrives", c.MaxHeadAge, c.Network.SlotDuration)
	case c.CheckpointMaxAge < c.MaxHeadAge:
		return fmt.Errorf("beacon: checkpoint_max_age %v is below max_head_age %v", c.CheckpointMaxAge, c.MaxHeadAge)
	}
	return nil
}

// parseEndpointURL checks an endpoint URL; errors never quote it.
func parseEndpointURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("URL scheme must be http or https")
	}
	if u.Host == "" {
		return nil, errors.New("URL has no host")
	}
	if u.Fragment != "" {
		return nil, errors.New("URL must not have a fragment")
	}
	return u, nil
}

// endpointNames labels endpoints: the configured name, else scheme://host,
// made unique with a #n suffix.
func endpointNames(apis []Endpoint) []string {
	out := make([]string, len(apis))
	seen := make(map[string]int)
	for i, e := range apis {
		name := strings.TrimSpace(e.Name)
		if name == "" {
			u, _ := parseEndpointURL(e.URL)
			name = u.Scheme + "://" + u.Host
		}
		if seen[name]++; seen[name] > 1 {
			name = fmt.Sprintf("%s#%d", name, seen[name])
		}
		out[i] = name
	}
	return out
}

func headerOf(m map[string]string) http.Header {
	h := make(http.Header, len(m))
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

// validHeaderName reports whether k is an HTTP token (RFC 9110 5.6.2).
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}
