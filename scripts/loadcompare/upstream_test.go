package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFakeUpstream(t *testing.T) {
	srv := httptest.NewServer(newFakeUpstream())
	defer srv.Close()
	post := func(body string) (string, http.Header) {
		t.Helper()
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b), resp.Header
	}
	var block struct {
		Result struct {
			Number, Hash, ParentHash string
			Transactions             []json.RawMessage
		}
	}
	out, hdr := post(scenarios[2].body)
	if err := json.Unmarshal([]byte(out), &block); err != nil {
		t.Fatal(err)
	}
	if r := block.Result; r.Number != "0x1863c" || r.Hash != blockHash(0x1863c) || r.ParentHash != blockHash(0x1863b) || len(r.Transactions) != blockTxs {
		t.Fatalf("block %+v", r)
	}
	// About 14 kB, sent chunked as go-ethereum would.
	if len(out) < 13_000 || len(out) > 16_000 || hdr.Get("Content-Length") != "" {
		t.Fatalf("%d bytes, Content-Length %q", len(out), hdr.Get("Content-Length"))
	}
	// braid's head poll: a batch of latest, safe and finalized.
	out, _ = post(`[{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest",false]},` +
		`{"jsonrpc":"2.0","id":2,"method":"eth_getBlockByNumber","params":["finalized",false]},{"jsonrpc":"2.0","id":3,"method":"eth_chainId"}]`)
	var batch []struct {
		ID     int
		Result json.RawMessage
	}
	if err := json.Unmarshal([]byte(out), &batch); err != nil || len(batch) != 3 || batch[2].ID != 3 || string(batch[2].Result) != `"0x1"` {
		t.Fatalf("batch answer %s (%v)", out, err)
	}
	if !strings.Contains(string(batch[1].Result), `"number":"0x18660"`) {
		t.Fatalf("finalized block: %.100s", batch[1].Result)
	}
	// A block above the head is null, as go-ethereum answers.
	if out, _ := post(`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0xffffff",false]}`); !strings.Contains(out, `"result":null`) {
		t.Fatalf("block above the head: %s", out)
	}
}

func TestResultFigures(t *testing.T) {
	r := result{Calls: 4, Elapsed: 2 * time.Second, CPU: 400 * time.Microsecond,
		Lat: []time.Duration{1, 2, 3, 4}}
	if r.rate() != 2 || r.cpuPerCall() != 100*time.Microsecond || r.quantile(0.5) != 2 || r.quantile(1) != 4 {
		t.Fatalf("rate %v, cpu/call %v, p50 %v, max %v", r.rate(), r.cpuPerCall(), r.quantile(0.5), r.quantile(1))
	}
	if (result{}).quantile(0.5) != 0 || (result{}).cpuPerCall() != 0 {
		t.Fatal("an empty result has figures")
	}
}

func TestResultAdd(t *testing.T) {
	a := result{Calls: 2, Elapsed: time.Second, CPU: 2 * time.Millisecond, Lat: []time.Duration{5, 1}}
	b := result{Calls: 2, Errors: 1, Elapsed: time.Second, CPU: 2 * time.Millisecond, Lat: []time.Duration{3, 2}, Example: "cut"}
	sum := result{}.add(a).add(b)
	if sum.Calls != 4 || sum.Errors != 1 || sum.rate() != 2 || sum.cpuPerCall() != time.Millisecond || sum.quantile(0) != 1 || sum.quantile(1) != 5 || sum.Example != "cut" {
		t.Fatalf("sum %+v", sum)
	}
}
