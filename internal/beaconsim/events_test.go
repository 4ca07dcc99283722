package beaconsim

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/beacon/light/api"

	"github.com/braidrpc/braid/internal/await"
)

// TestEventStreamCarriesTheServedUpdates feeds blocks while a client reads
// the event stream, and checks that each head's optimistic update event is
// the JSON the optimistic_update endpoint serves, which go-ethereum's client
// decodes to the fed execution block. (go-ethereum's own head listener is
// not used: stopping it races inside its event-source library.)
func TestEventStreamCarriesTheServedUpdates(t *testing.T) {
	f := newFixture(t, Config{})
	f.feed(t, 1)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/eth/v1/events?topics=head&topics=light_client_optimistic_update", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream answered %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	waitSubscribed(t, f.api)
	events := readEvents(resp.Body)
	client := api.NewBeaconLightApi(f.srv.URL, nil, f.sim.ChainConfig())
	for range 4 {
		head := f.feed(t, 1)
		got := map[string]string{}
		for len(got) < 2 {
			select {
			case ev := <-events:
				got[ev[0]] = ev[1]
			case <-time.After(10 * time.Second):
				t.Fatalf("events for slot %d: got %v", head.Slot, got)
			}
		}
		served := get(t, f.srv.URL+"/eth/v1/beacon/light_client/optimistic_update")
		if !sameJSON(t, got["light_client_optimistic_update"], served) {
			t.Fatalf("event and endpoint differ for slot %d", head.Slot)
		}
		u, err := client.GetOptimisticUpdate()
		if err != nil || u.Attested.BlockHash() != head.BlockHash || u.Attested.Slot != head.Slot {
			t.Fatalf("go-ethereum decodes %v, %v; fed %+v", u.Attested.BlockHash(), err, head)
		}
		if !strings.Contains(got["head"], head.Root.Hex()) {
			t.Fatalf("head event %s lacks root %s", got["head"], head.Root)
		}
	}
}

// readEvents sends [name, data] of each event of a stream.
func readEvents(r io.Reader) <-chan [2]string {
	ch := make(chan [2]string, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		var name, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && name != "":
				ch <- [2]string{name, data}
				name, data = "", ""
			}
		}
	}()
	return ch
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func waitSubscribed(t *testing.T, a *API) {
	t.Helper()
	await.Until(t, "an event stream subscribed", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.subs) > 0
	})
}
