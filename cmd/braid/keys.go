package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/replica"
)

const keysUsage = `Usage: braid keys add|list|revoke [flags]

Manages the API keys braid serve accepts besides those of its config: in a
JSON file (auth.store: file) or in the Redis the replicas share
(auth.store: redis). Keys are stored as SHA-256 hashes; "add" prints a new
key once, on standard output, and never again. A revoked key stops working
on every replica within a second.

  braid keys add    --config FILE --name NAME [--rps N --burst N --daily-quota N ...]
  braid keys list   --config FILE [--json]
  braid keys revoke --config FILE NAME|ID

Instead of --config FILE (whose auth.store says where the keys live),
--file PATH or --redis URL [--prefix braid] name the store directly.
Run "braid keys COMMAND -h" for a command's flags.
`

// redisWait bounds each Redis operation of braid keys.
const redisWait = 2 * time.Second

// runKeys dispatches `braid keys COMMAND`.
func runKeys(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return usageError{error: errors.New("keys: add, list or revoke?"), printed: false}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "add":
		return runKeysAdd(rest, stdout, stderr)
	case "list":
		return runKeysList(rest, stdout, stderr)
	case "revoke":
		return runKeysRevoke(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, keysUsage+"\n"+configDocs)
		return nil
	default:
		return usageError{error: fmt.Errorf("keys: unknown command %q: add, list or revoke", cmd)}
	}
}

// storeFlags name the key store a command works on.
type storeFlags struct {
	config, file, redis, prefix string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.config, "config", "", "braid's configuration file: its auth.store (and auth.file or redis.url) names the store")
	fs.StringVar(&s.file, "file", "", "the JSON key file (instead of --config)")
	fs.StringVar(&s.redis, "redis", "", "the replicas' Redis, redis://host:6379/0 (instead of --config)")
	fs.StringVar(&s.prefix, "prefix", config.DefaultRedisPrefix, "the Redis key prefix, with --redis (redis.prefix)")
}

// store is an open key store and, with --config, the configuration.
type store struct {
	access.Store
	cfg  *config.Config // nil without --config
	link *replica.Link
}

func (s *store) Close() {
	if s.link != nil {
		_ = s.link.Close()
	}
}

// open opens the store the flags name: exactly one of --config, --file
// and --redis.
func (s *storeFlags) open(name string) (*store, error) {
	set := 0
	for _, v := range []string{s.config, s.file, s.redis} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return nil, usageError{error: fmt.Errorf("keys %s: give one of --config FILE, --file PATH or --redis URL (run \"braid keys %s -h\")", name, name)}
	}
	switch {
	case s.file != "":
		return &store{Store: access.NewFileStore(s.file)}, nil
	case s.redis != "":
		return openRedis(s.redis, s.prefix, nil)
	}
	cfg, err := config.Load(s.config)
	if err != nil {
		return nil, err
	}
	switch cfg.Auth.Store {
	case config.KeyStoreFile:
		return &store{Store: access.NewFileStore(cfg.Auth.File), cfg: cfg}, nil
	case config.KeyStoreRedis:
		return openRedis(cfg.Redis.URL, cfg.Redis.Prefix, cfg)
	}
	return nil, fmt.Errorf("keys %s: %s has no auth.store: its keys are the ones under \"keys:\" (set auth.store to file or redis for keys braid keys manages)", name, s.config)
}

func openRedis(url, prefix string, cfg *config.Config) (*store, error) {
	link, err := replica.NewLink(replica.LinkOptions{URL: url, Prefix: prefix, Timeout: redisWait,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	if !link.Up() {
		link.Close()
		return nil, fmt.Errorf("keys: redis at %s does not answer", config.Redact(url))
	}
	return &store{Store: access.NewRedisStore(link), cfg: cfg, link: link}, nil
}
