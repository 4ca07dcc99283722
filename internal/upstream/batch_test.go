package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestCallBatch(t *testing.T) {
	u := newTestUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		var reqs []struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &reqs); err != nil {
			t.Errorf("not a batch: %s", b)
		}
		// Answer in reverse order: answers are matched by id, not position.
		var parts []string
		for i := len(reqs) - 1; i >= 0; i-- {
			if reqs[i].Method == "bad" {
				parts = append(parts, `{"jsonrpc":"2.0","id":`+string(reqs[i].ID)+`,"error":{"code":-32601,"message":"nope"}}`)
				continue
			}
			parts = append(parts, `{"jsonrpc":"2.0","id":`+string(reqs[i].ID)+`,"result":"`+reqs[i].Method+`"}`)
		}
		io.WriteString(w, "["+strings.Join(parts, ",")+"]")
	}, nil)
	got, err := u.CallBatch(context.Background(), []BatchCall{{Method: "a"}, {Method: "bad"}, {Method: "c", Params: json.RawMessage(`[1]`)}})
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Result) != `"a"` || got[1].Error == nil || got[1].Error.Code != -32601 || string(got[2].Result) != `"c"` {
		t.Fatalf("answers out of order or wrong: %+v %+v %+v", got[0], got[1], got[2])
	}
}

func TestCallBatchRefused(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"single object": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batches not supported"}}`)
		},
		"HTTP 400": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(400) },
		// go-ethereum over its BatchRequestLimit: one member, the first
		// call's id, -32600.
		"geth batch too large": func(w http.ResponseWriter, r *http.Request) {
			var reqs []struct {
				ID json.RawMessage `json:"id"`
			}
			b, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(b, &reqs); err != nil || len(reqs) == 0 {
				t.Errorf("not a batch: %s", b)
				return
			}
			io.WriteString(w, `[{"jsonrpc":"2.0","id":`+string(reqs[0].ID)+`,"error":{"code":-32600,"message":"batch too large"}}]`)
		},
	} {
		t.Run(name, func(t *testing.T) {
			u := newTestUpstream(t, h, nil)
			_, err := u.CallBatch(context.Background(), []BatchCall{{Method: "a"}, {Method: "b"}})
			if !errors.Is(err, ErrBatchRefused) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestCallBatchMissingAnswer(t *testing.T) {
	u := newTestUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"jsonrpc":"2.0","id":1,"result":"a"}]`)
	}, nil)
	_, err := u.CallBatch(context.Background(), []BatchCall{{Method: "a"}, {Method: "b"}})
	if !errors.Is(err, ErrBadResponse) {
		t.Fatalf("err = %v", err)
	}
}

// TestCallBatchOneInvalid: a batch of one whose call is an invalid
// request gets that answer, not a refusal of batches.
func TestCallBatchOneInvalid(t *testing.T) {
	u := newTestUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"invalid request"}}]`)
	}, nil)
	got, err := u.CallBatch(context.Background(), []BatchCall{{Method: "a"}})
	if err != nil || got[0].Error == nil || got[0].Error.Code != -32600 {
		t.Fatalf("got %+v, %v", got, err)
	}
}
