package config

import (
	"reflect"
	"strings"
	"testing"
)

func init() {
	testEnv["APP_KEY"] = "bk_the-app-key-from-the-environment"
	testEnv["SECOND_KEY_NAME"] = "second"
	badFiles["auth.bad.yaml"] = []string{
		`auth: networks item 2 "goerli" is not a configured network`,
		`auth: store "disk" is not one of "", "file", "redis"`,
		`auth: key_defaults: rps must be a number of at least 0`,
		`auth: key_defaults: max_batch and max_inflight must not be negative`,
		`auth: clients: burst and daily_quota must not be negative`,
		`auth: weights item 1 "de*bug": "*" may only end a prefix`,
		`auth: weights.eth_getLogs must not be negative`,
		`auth: max_queue must not be negative`,
		`keys item 1 "app": key must be at least 20 characters`,
		`keys item 2 "app": name is also used by keys item 1`,
		`keys item 2 "app": set key or hash, not both`,
		`keys item 3 "has space": name is required`,
		`keys item 3 "has space": hash must be "sha256:" followed by 64 hex digits`,
		`keys item 3 "has space": networks item 1 "holesky" is not a configured network`,
		`keys item 4 "other": key or hash is required`,
		`keys item 6 "twin2": is the same key as keys item 5`,
		`network "bk_net": name may not start with "bk_"`,
	}
	badFiles["auth-store.bad.yaml"] = []string{
		`auth: store "redis" needs redis.url`}
	badFiles["auth-env.bad.yaml"] = []string{`keys item 1: key: environment variable UNSET_APP_KEY is not set`}
	badFiles["auth-nokeys.bad.yaml"] = []string{`auth: required is true but no key exists`}
	badFiles["auth-file.bad.yaml"] = []string{`auth: store "file" needs auth.file`}
	badFiles["auth-inflight.bad.yaml"] = []string{`line 3: max_inflight must be a number of calls of at least 1, or 0 or "off"`}
	badFiles["auth-networks.bad.yaml"] = []string{`auth: networks lists the networks that require a key, but required is false, so none does`}
}

func TestAuthGood(t *testing.T) {
	c, err := loadTestdata(t, "auth.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a := c.Auth
	if !c.AuthOn() || !a.RequiredOn("mainnet") || a.RequiredOn("sepolia") || a.Store != KeyStoreRedis {
		t.Errorf("auth = %+v", a)
	}
	if a.KeyDefaults != (KeyLimits{RPS: 10, Burst: 10, DailyQuota: 1000000}) {
		t.Errorf("key_defaults = %+v (burst defaults to rps rounded up)", a.KeyDefaults)
	}
	if a.Clients != (ClientLimits{RPS: 2.5, Burst: 3, DailyQuota: 50000}) {
		t.Errorf("clients = %+v", a.Clients)
	}
	if a.DefaultWeight != DefaultWeight || a.MaxQueue != DefaultMaxQueue || a.MaxInflight != 64 {
		t.Errorf("default_weight %d, max_queue %d, max_inflight %d", a.DefaultWeight, a.MaxQueue, a.MaxInflight)
	}
	if want := map[string]int64{"eth_getLogs": 100, "trace_*": 500, "eth_chainId": 0}; !reflect.DeepEqual(a.Weights, want) {
		t.Errorf("weights = %v", a.Weights)
	}
	if len(c.Keys) != 2 {
		t.Fatalf("%d keys", len(c.Keys))
	}
	app, second := c.Keys[0], c.Keys[1]
	if app.HashString() != HashAPIKey("bk_the-app-key-from-the-environment") ||
		app.KeyLimits != (KeyLimits{RPS: 50, Burst: 100, DailyQuota: 10000000, MaxBatch: 20}) ||
		!reflect.DeepEqual(app.Methods.Deny, []string{"debug_*"}) {
		t.Errorf("app = %+v", app)
	}
	if second.Name != "second" || second.HashString() != "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" {
		t.Errorf("second = %+v, hash %q", second, second.HashString())
	}
}

// TestAuthWarnings: keys or limits on with fair admission turned off
// (max_inflight off) warn that callers do not share the providers
// fairly, unless one required key is the only caller; unset, braid
// derives it and says nothing.
func TestAuthWarnings(t *testing.T) {
	key := func(name string) APIKey { return APIKey{Name: name, Key: "bk_" + strings.Repeat(name, 20)} }
	cases := []struct {
		name string
		auth Auth
		keys []APIKey
		warn bool
	}{
		{"off", Auth{}, nil, false},
		{"two keys, derived", Auth{Required: true}, []APIKey{key("a"), key("b")}, false},
		{"two keys, off", Auth{Required: true, MaxInflight: InflightOff}, []APIKey{key("a"), key("b")}, true},
		{"a store, off", Auth{Required: true, Store: KeyStoreFile, File: "/k.json", MaxInflight: InflightOff}, nil, true},
		{"anonymous too, off", Auth{MaxInflight: InflightOff}, []APIKey{key("a")}, true},
		{"addresses limited, off", Auth{Clients: ClientLimits{RPS: 5}, MaxInflight: InflightOff}, nil, true},
		{"addresses limited, derived", Auth{Clients: ClientLimits{RPS: 5}}, nil, false},
		{"one required key only, off", Auth{Required: true, MaxInflight: InflightOff}, []APIKey{key("a")}, false},
		{"fair admission", Auth{Required: true, MaxInflight: 64}, []APIKey{key("a"), key("b")}, false},
	}
	for _, c := range cases {
		cfg := Config{Auth: c.auth, Keys: c.keys}
		got := cfg.AuthWarnings()
		if c.warn != (len(got) == 1 && got[0] == UnfairAuth) || !c.warn && len(got) > 0 {
			t.Errorf("%s: warnings %q, want a warning: %v", c.name, got, c.warn)
		}
	}
}

func TestAuthOffByDefault(t *testing.T) {
	c, err := loadTestdata(t, "minimal.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthOn() || c.Auth.RequiredOn("mainnet") {
		t.Errorf("a config without auth or keys turns auth on: %+v", c.Auth)
	}
}

// TestAuthErrorsNeverShowKeys: a key that fails validation is named by
// its position and name, never by its value.
func TestAuthErrorsNeverShowKeys(t *testing.T) {
	const secret = "bk_this-one-is-secret"
	src := "keys:\n- {name: a, key: '" + secret + " x'}\n- {name: b, key: " + secret + ", hash: 'sha256:" + strings.Repeat("0", 64) + "'}\n" +
		"networks:\n- name: n\n  chain_id: 1\n  upstreams:\n  - {name: u, url: 'http://h:1', operator: o}\n"
	_, err := ParseWithEnv([]byte(src), "inline", lookupIn(nil))
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows the key: %v", err)
	}
}

func TestHashAPIKey(t *testing.T) {
	// echo -n test | sha256sum
	if got := HashAPIKey("test"); got != "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" {
		t.Errorf("HashAPIKey(test) = %s", got)
	}
	if _, ok := ParseKeyHash("sha256:" + strings.Repeat("g", 64)); ok {
		t.Error("non-hex hash accepted")
	}
}
