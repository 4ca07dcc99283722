package verify

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/devnet"
)

func TestHeaderFromJSON(t *testing.T) {
	ctx := context.Background()
	dn, err := devnet.New(ctx, devnet.Options{Providers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Close()
	if _, err := dn.Step(ctx); err != nil {
		t.Fatal(err)
	}
	var raw json.RawMessage
	if err := dn.RPC().CallContext(ctx, &raw, "eth_getBlockByNumber", "latest", false); err != nil {
		t.Fatal(err)
	}
	var named struct{ Hash common.Hash }
	_ = json.Unmarshal(raw, &named)
	h, err := HeaderFromJSON(raw, named.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if h.Hash() != named.Hash || h.Number.Sign() == 0 {
		t.Fatalf("header %v", h.Number)
	}
	var lie *Error
	for name, mutate := range map[string]func(string) string{
		"stateRoot": func(s string) string { return replaceField(s, "stateRoot", "0x"+strings.Repeat("11", 32)) },
		"timestamp": func(s string) string { return replaceField(s, "timestamp", "0x1") },
		"hash member": func(s string) string {
			return replaceField(s, "hash", "0x"+strings.Repeat("22", 32))
		},
		"short hash member": func(s string) string { return replaceField(s, "hash", "0x"+strings.Repeat("22", 31)) },
		"empty hash member": func(s string) string { return replaceField(s, "hash", "0x") },
		"null":              func(string) string { return "null" },
		"not JSON":          func(string) string { return "{" },
	} {
		if _, err := HeaderFromJSON(json.RawMessage(mutate(string(raw))), named.Hash); !errors.As(err, &lie) {
			t.Errorf("%s: err %v, want a verification error", name, err)
		}
	}
	if _, err := HeaderFromJSON(raw, common.Hash{1}); !errors.As(err, &lie) {
		t.Errorf("another hash: err %v", err)
	}
}

// replaceField sets a top-level string member of a JSON object.
func replaceField(obj, key, value string) string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal([]byte(obj), &m)
	m[key] = json.RawMessage(`"` + value + `"`)
	b, _ := json.Marshal(m)
	return string(b)
}

func TestHeadersCacheIsBounded(t *testing.T) {
	c := NewHeaders(2)
	hs := make([]*types.Header, 3)
	for i := range hs {
		hs[i] = &types.Header{Number: big.NewInt(int64(i)), Difficulty: big.NewInt(0)}
		c.Add(hs[i])
		c.SetCanonical(uint64(i), hs[i].Hash())
	}
	if _, ok := c.Get(hs[0].Hash()); ok {
		t.Error("the oldest header was kept past the bound")
	}
	if _, ok := c.Canonical(0); ok {
		t.Error("the canonical hash of an evicted header was kept")
	}
	if h, ok := c.Get(hs[2].Hash()); !ok || h != hs[2] {
		t.Error("the newest header is missing")
	}
	c.ForgetCanonicalFrom(2)
	if _, ok := c.Canonical(2); ok {
		t.Error("ForgetCanonicalFrom kept block 2")
	}
	if _, ok := c.Canonical(1); !ok {
		t.Error("ForgetCanonicalFrom dropped block 1")
	}
}
