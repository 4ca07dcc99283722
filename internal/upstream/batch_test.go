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
