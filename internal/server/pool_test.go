package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Request bodies are read into pooled buffers and answers' envelopes
// built in pooled buffers: concurrent calls of every size must each get
// their own answer, never bytes of another's.
func TestPooledBuffersKeepCallsApart(t *testing.T) {
	b := startBraid(t, nil, mainnet(newFake(t, "u1", 1)))
	const workers, calls = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				id := fmt.Sprintf(`"w%d-%d-%s"`, w, i, strings.Repeat("x", (w*calls+i)%300))
				if err := checkCall(b.URL, id, i%3 == 0); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// checkCall sends one call (or a batch of three with ids derived from
// id) and checks that each answer carries its own id.
func checkCall(url, id string, batch bool) error {
	call := func(id string) string {
		return `{"jsonrpc":"2.0","id":` + id + `,"method":"eth_getBlockByNumber","params":["0x1",false]}`
	}
	body, ids := call(id), []string{id}
	if batch {
		ids = []string{id[:len(id)-1] + `a"`, id[:len(id)-1] + `b"`, id[:len(id)-1] + `c"`}
		body = "[" + call(ids[0]) + "," + call(ids[1]) + "," + call(ids[2]) + "]"
	}
	status, out, err := postRaw(url, body)
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("HTTP %d, %v: %s", status, err, out)
	}
	answers := make([]struct {
		ID     json.RawMessage `json:"id"`
		Result json.RawMessage `json:"result"`
	}, 1)
	if batch {
		err = json.Unmarshal([]byte(out), &answers)
	} else {
		err = json.Unmarshal([]byte(out), &answers[0])
	}
	if err != nil {
		return fmt.Errorf("answer %q: %v", out, err)
	}
	for i, a := range answers {
		if string(a.ID) != ids[i] || len(a.Result) < 100 {
			return fmt.Errorf("answer %d has id %s and %d result bytes; want id %s and a block", i, a.ID, len(a.Result), ids[i])
		}
	}
	return nil
}
