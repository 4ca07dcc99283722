package beaconsim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFaultsHandler(t *testing.T) {
	sim, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	b1, b2 := sim.NewAPI(), sim.NewAPI()
	h := FaultsHandler([]Named{{Name: "b1", URL: "http://127.0.0.1:1", API: b1}, {Name: "b2", URL: "http://127.0.0.1:2", API: b2}})
	do := func(method, body string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/demo/beacon/faults", strings.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	if code, body := do("POST", `{"api":"b1","forge":true}`); code != http.StatusOK || !b1.Faults().Forge || b2.Faults().Forge {
		t.Fatalf("set forge: %d %s", code, body)
	}
	if code, body := do("POST", `{"api":"b2","signers":300,"stale":true}`); code != http.StatusOK || b2.Faults().Signers != 300 || !b2.Faults().Stale {
		t.Fatalf("set signers: %d %s", code, body)
	}
	if code, body := do("GET", ""); code != http.StatusOK || !strings.Contains(body, `"forge":true`) || !strings.Contains(body, `"signers":300`) {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, _ := do("POST", `{"api":"b1"}`); code != http.StatusOK || b1.Faults() != (Faults{}) {
		t.Fatal("clear did not clear")
	}
	for body, want := range map[string]string{
		`{"api":"b9"}`:               "unknown beacon API",
		`{"forge":true}`:             "api is required",
		`{"api":"b1","lie":true}`:    "unknown field",
		`{"api":"b1","signers":600}`: "signers must be between",
		`not json`:                   "one JSON object",
	} {
		if code, got := do("POST", body); code < 400 || !strings.Contains(got, want) {
			t.Errorf("POST %s: %d %s (want %q)", body, code, got, want)
		}
	}
}
