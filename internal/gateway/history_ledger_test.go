package gateway

import (
	"reflect"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/ledger"
)

// TestLedgerConfigKeys: config.PeerLedger carries internal/ledger.Config's
// YAML keys, in order (the conversion checks names and types, not tags).
func TestLedgerConfigKeys(t *testing.T) {
	a, b := reflect.TypeFor[config.PeerLedger](), reflect.TypeFor[ledger.Config]()
	if a.NumField() != b.NumField() {
		t.Fatalf("config.PeerLedger has %d fields, ledger.Config %d", a.NumField(), b.NumField())
	}
	for i := range a.NumField() {
		if x, y := a.Field(i).Tag.Get("yaml"), b.Field(i).Tag.Get("yaml"); x != y {
			t.Errorf("field %s: yaml %q, ledger.Config says %q", a.Field(i).Name, x, y)
		}
	}
}

// TestLedgerConfigValidated: a bad peers.ledger section fails New with
// the key named, even while peers are off.
func TestLedgerConfigValidated(t *testing.T) {
	cfg := config.Default()
	cfg.Networks = []config.Network{{Name: "devnet", ChainID: 1337,
		Upstreams: []config.Upstream{{Name: "a", Operator: "a", URL: "http://127.0.0.1:1/a"}},
		Peers:     config.Peers{Ledger: config.PeerLedger{AgeMultiplier: 0.5}}}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, Options{})
	if err == nil {
		g.Close()
		t.Fatal("New took age_multiplier 0.5")
	}
	if want := `network "devnet": peers.ledger: age_multiplier must be at least 1`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want %q", err, want)
	}
}
