package devnet

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serve(t *testing.T, h http.Handler, method, path, body string) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	if rec.Code != http.StatusMethodNotAllowed && rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, rec.Header().Get("Content-Type"))
	}
	return rec.Code, rec.Body.Bytes()
}

func TestHandlerInfo(t *testing.T) {
	d := newTestDevnet(t, 0)
	code, body := serve(t, d.Handler(), "GET", "/demo/info", "")
	if code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", code, body)
	}
	var info struct {
		ChainID uint64 `json:"chain_id"`
		Account struct {
			Address    string `json:"address"`
			PrivateKey string `json:"private_key"`
		} `json:"account"`
		Token     string         `json:"token"`
		Providers []ProviderInfo `json:"providers"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatal(err)
	}
	if info.ChainID != 1337 || !strings.EqualFold(info.Account.Address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266") ||
		info.Account.PrivateKey != UserKey || !strings.EqualFold(info.Token, d.Token().Hex()) || len(info.Providers) != 2 ||
		info.Providers[1].Name != "p2" || info.Providers[1].Operator != "operator-2" || info.Providers[1].URL != d.Providers()[1].URL {
		t.Errorf("info = %s", body)
	}
}

func TestHandlerFaults(t *testing.T) {
	d := newTestDevnet(t, 0)
	h := d.Handler()
	p2 := d.Provider("p2")

	code, body := serve(t, h, "GET", "/demo/faults", "")
	var list []ProviderInfo
	if err := json.Unmarshal(body, &list); code != http.StatusOK || err != nil || len(list) != 2 {
		t.Fatalf("list: HTTP %d %s (%v)", code, body, err)
	}
	if list[0].Name != "p1" || list[0].Operator != "operator-1" || list[0].URL != d.Providers()[0].URL || !list[0].Faults.IsZero() {
		t.Errorf("list[0] = %+v", list[0])
	}
	if !strings.Contains(string(body), `"faults": {}`) {
		t.Errorf("an honest provider's faults should be {}: %s", body)
	}

	code, body = serve(t, h, "POST", "/demo/faults", `{"provider":"p2","down":true,"latency_ms":5,"error_rate":0.25,"lag_blocks":2,"http_status":503,"lie":true}`)
	want := Faults{Down: true, LatencyMS: 5, ErrorRate: 0.25, LagBlocks: 2, HTTPStatus: 503, Lie: true}
	var entry ProviderInfo
	if err := json.Unmarshal(body, &entry); code != http.StatusOK || err != nil || entry.Name != "p2" || entry.Faults != want {
		t.Fatalf("set: HTTP %d %s (%v)", code, body, err)
	}
	if p2.Faults() != want {
		t.Errorf("p2 faults = %+v, want %+v", p2.Faults(), want)
	}
	_, body = serve(t, h, "GET", "/demo/faults", "")
	if err := json.Unmarshal(body, &list); err != nil || list[1].Faults != want || !list[0].Faults.IsZero() {
		t.Errorf("list after set: %s", body)
	}

	code, body = serve(t, h, "POST", "/demo/faults", `{"provider":"p2","lag_blocks":1}`)
	if code != http.StatusOK || p2.Faults() != (Faults{LagBlocks: 1}) {
		t.Errorf("replace: HTTP %d %s, faults %+v", code, body, p2.Faults())
	}
	code, body = serve(t, h, "POST", "/demo/faults", `{"provider":"p2"}`)
	if code != http.StatusOK || !p2.Faults().IsZero() {
		t.Errorf("clear: HTTP %d %s, faults %+v", code, body, p2.Faults())
	}
}

func TestHandlerRejects(t *testing.T) {
	d := newTestDevnet(t, 0)
	h := d.Handler()
	d.Provider("p1").SetFaults(Faults{Lie: true})
	tests := []struct {
		name, body string
		code       int
		want       string // in the error message
	}{
		{"unknown field", `{"provider":"p1","dwn":true}`, 400, `unknown field "dwn"`},
		{"unknown provider", `{"provider":"p7","down":true}`, 404, `unknown provider "p7"`},
		{"error rate above 1", `{"provider":"p1","error_rate":2}`, 400, "error_rate must be between 0 and 1"},
		{"status not an error", `{"provider":"p1","http_status":200}`, 400, "http_status must be an error status between 400 and 599"},
		{"negative latency", `{"provider":"p1","latency_ms":-5}`, 400, "latency_ms must not be negative"},
		{"negative lag", `{"provider":"p1","lag_blocks":-1}`, 400, "lag_blocks"},
		{"wrong type", `{"provider":"p1","down":"yes"}`, 400, "down"},
		{"no provider", `{"down":true}`, 400, `missing "provider"`},
		{"empty body", ``, 400, "empty body"},
		{"not JSON", `down`, 400, "invalid body"},
		{"two objects", `{"provider":"p1"} {"provider":"p2"}`, 400, "single JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := serve(t, h, "POST", "/demo/faults", tt.body)
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body %q is not JSON: %v", body, err)
			}
			if code != tt.code || !strings.Contains(e.Error, tt.want) {
				t.Errorf("HTTP %d %q, want %d with %q", code, e.Error, tt.code, tt.want)
			}
		})
	}
	if f := d.Provider("p1").Faults(); f != (Faults{Lie: true}) {
		t.Errorf("rejected requests changed p1's faults to %+v", f)
	}
	if code, _ := serve(t, h, "PUT", "/demo/faults", `{}`); code != http.StatusMethodNotAllowed {
		t.Errorf("PUT /demo/faults: HTTP %d, want 405", code)
	}
}
