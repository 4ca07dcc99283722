package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

func TestRedactTakesOutEverySecretOfTheURLs(t *testing.T) {
	u := New(config.Upstream{Name: "u", Operator: "op",
		URL:   "https://user:pa55word@mainnet.example.com/v3/0123456789abcdef0123456789abcdef?apikey=Qk3y&network=mainnet",
		WSURL: "wss://mainnet.example.com/ws/v3/WsKey12345"}, Options{})
	for _, tc := range []struct{ in, secret string }{
		{"POST https://user:pa55word@mainnet.example.com/v3/0123456789abcdef0123456789abcdef?apikey=Qk3y&network=mainnet failed", "0123456789abcdef"},
		{"no route to mainnet.example.com/v3/0123456789abcdef0123456789abcdef?apikey=Qk3y&network=mainnet", "0123456789abcdef"},
		{"invalid project id 0123456789abcdef0123456789abcdef", "0123456789abcdef"},
		{`path "/v3/0123456789abcdef0123456789abcdef" not found`, "0123456789abcdef"},
		{"bad key Qk3y", "Qk3y"},
		{"login user:pa55word refused", "pa55word"},
		{"password pa55word", "pa55word"},
		{"ws key WsKey12345 revoked", "WsKey12345"},
		{`{"url":"https:\/\/mainnet.example.com\/v3\/0123456789abcdef0123456789abcdef"}`, "0123456789abcdef"},
	} {
		got := u.Redact(tc.in)
		if strings.Contains(got, tc.secret) {
			t.Errorf("Redact(%q) = %q: still shows %q", tc.in, got, tc.secret)
		}
		if !strings.Contains(got, redactedMark) {
			t.Errorf("Redact(%q) = %q: nothing marked", tc.in, got)
		}
	}
	// Words that are parts of the URL but no secret stay: redacting must
	// not garble ordinary messages.
	for _, plain := range []string{"header not found", "v3 mainnet rpc", "execution reverted: user", "network mainnet"} {
		if got := u.Redact(plain); got != plain {
			t.Errorf("Redact(%q) = %q, want it unchanged", plain, got)
		}
	}
	// A URL with nothing after the host has no secret.
	plain := New(config.Upstream{Name: "p", Operator: "op", URL: "http://127.0.0.1:8545"}, Options{})
	if len(plain.secrets) != 0 {
		t.Fatalf("secrets of a bare URL: %q", plain.secrets)
	}
}

func TestErrorAnswersNeverCarryTheURL(t *testing.T) {
	var url string
	u := newTestUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		msg, _ := json.Marshal("cannot serve " + url + ": key SECRETKEY is over its quota")
		data, _ := json.Marshal(map[string]string{"request": url, "path": "/v3/SECRETKEY"})
		answer := `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":` + string(msg) + `,"data":` + string(data) + `}}`
		io.WriteString(w, answer)
	}, nil)
	url = u.url
	resp, err := u.Call(context.Background(), "eth_call", nil)
	if err != nil {
		t.Fatal(err)
	}
	wire := string(resp.AppendJSON(nil))
	if strings.Contains(wire, "SECRETKEY") || strings.Contains(wire, "/v3/") {
		t.Fatalf("error answer shows the URL: %s", wire)
	}
	if resp.Error.Code != -32000 || !strings.Contains(resp.Error.Message, "cannot serve") || !json.Valid(resp.Error.Data) {
		t.Fatalf("error answer garbled: %s", wire)
	}
}

func TestBatchErrorAnswersNeverCarryTheURL(t *testing.T) {
	u := newTestUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		// The key appears bare in the data, outside a string: the data
		// must stay valid JSON once it is taken out.
		io.WriteString(w, `[{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"key SECRETKEY unknown","data":{"k":SECRETKEY}}}]`)
	}, nil)
	_, err := u.CallBatch(context.Background(), []BatchCall{{Method: "eth_blockNumber"}})
	// The data above is not valid JSON, so the batch is a bad response:
	// its error text must not show the key either.
	if err == nil || strings.Contains(err.Error(), "SECRETKEY") {
		t.Fatalf("err = %v", err)
	}
	u2 := newTestUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"key SECRETKEY unknown","data":{"k":"SECRETKEY"}}}]`)
	}, nil)
	rs, err := u2.CallBatch(context.Background(), []BatchCall{{Method: "eth_blockNumber"}})
	if err != nil {
		t.Fatal(err)
	}
	if wire := string(rs[0].AppendJSON(nil)); strings.Contains(wire, "SECRETKEY") {
		t.Fatalf("batch error answer shows the key: %s", wire)
	}
}

func TestRedactedDataStaysValidJSON(t *testing.T) {
	u := New(config.Upstream{Name: "u", Operator: "op", URL: "https://h.example/12345678901234567890"}, Options{})
	e := &jsonrpc.Error{Code: 1, Message: "m", Data: json.RawMessage(`{"n":12345678901234567890}`)}
	u.redactError(e)
	if !json.Valid(e.Data) || strings.Contains(string(e.Data), "12345678901234567890") {
		t.Fatalf("data %s", e.Data)
	}
	err := u.redactErr(errors.New("dial https://h.example/12345678901234567890: refused"))
	if strings.Contains(err.Error(), "1234567890") {
		t.Fatalf("error %v", err)
	}
}
