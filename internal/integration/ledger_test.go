package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/history/historytest"
)

// peersPage is what GET /status/peers answers (internal/ledger's
// Snapshot), as far as these tests read it.
type peersPage struct {
	AgeBuckets []string `json:"age_buckets"`
	Peers      []struct {
		ID       string  `json:"id"`
		Balance  float64 `json:"balance"`
		Forgiven float64 `json:"forgiven"`
		Standing float64 `json:"standing"`
		Received []struct {
			Bytes   int64   `json:"bytes"`
			Credits float64 `json:"credits"`
		} `json:"received"`
		Served []struct {
			Bytes int64 `json:"bytes"`
		} `json:"served"`
	} `json:"peers"`
	Serving *struct{ Capacity int }  `json:"serving"`
	Audits  map[string]int64         `json:"audits"`
	Held    *struct{ Buckets []any } `json:"held"`
	Survey  *struct {
		Head    uint64 `json:"head"`
		Buckets []struct {
			Name        string  `json:"name"`
			Sampled     int     `json:"sampled"`
			MeanHolders float64 `json:"mean_holders"`
		} `json:"buckets"`
	} `json:"survey"`
	PeersTotal int `json:"peers_total"`
}

// getPeersPage reads a gateway's /status/peers (query q), wanting status.
func getPeersPage(t *testing.T, url, q string, status int) (peersPage, string) {
	t.Helper()
	resp, err := http.Get(url + "/status/peers" + q)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET /status/peers%s: %d %s, want %d", q, resp.StatusCode, b, status)
	}
	var p peersPage
	if status == http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("GET /status/peers%s: Content-Type %q", q, ct)
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("GET /status/peers%s: %s: %v", q, b, err)
		}
	}
	return p, string(b)
}

// peerID is the libp2p id a gateway's peer addresses end in.
func peerID(t *testing.T, g *historyGateway) string {
	t.Helper()
	addrs := g.gw.Networks()[0].PeerAddrs()
	if len(addrs) == 0 {
		t.Fatal("no peer address")
	}
	_, id, ok := strings.Cut(addrs[0], "/p2p/")
	if !ok {
		t.Fatalf("peer address %q has no /p2p/ id", addrs[0])
	}
	return id
}

// balanceOf is the balance a page shows for id, and whether it has one.
func (p peersPage) balanceOf(id string) (float64, int64, bool) {
	for _, a := range p.Peers {
		if a.ID == id {
			var bytes int64
			for _, f := range a.Received {
				bytes += f.Bytes
			}
			return a.Balance, bytes, true
		}
	}
	return 0, 0, false
}

// TestLedgerWired runs two gateways with peers on over a devnet whose
// providers then prune: a reader's old reads come from the keeper, and
// /status/peers shows the transfer on both sides (credit for the keeper at
// the reader, the reader's debt at the keeper) and the reader's survey of
// the network's history (the keeper found holding it), and the reader's
// ledger keeps the keeper's credit and its survey across a restart.
func TestLedgerWired(t *testing.T) {
	ctx := context.Background()
	chain, err := historytest.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Devnet.Close() })
	dn := chain.Devnet
	head := chain.Head().Number()

	keeper := newHistoryGateway(t, dn, filepath.Join(t.TempDir(), "store"), "all", nil)
	waitFilled(t, keeper, head)
	boot := keeper.gw.Networks()[0].PeerAddrs()
	readerDir := filepath.Join(t.TempDir(), "store")
	surveyOften := func(c *config.Config) { c.Networks[0].Peers.Ledger.SurveyInterval = 200 * time.Millisecond }
	reader := newHistoryGateway(t, dn, readerDir, "none", boot, surveyOften)
	keeperID, readerID := peerID(t, keeper), peerID(t, reader)

	// Before any transfer: the page answers, with the ledger's fields.
	p, raw := getPeersPage(t, reader.url, "", http.StatusOK)
	if p.Serving == nil || p.Serving.Capacity == 0 || p.Audits == nil || p.Held == nil || len(p.AgeBuckets) == 0 {
		t.Fatalf("/status/peers lacks the ledger's fields: %s", raw)
	}
	if _, body := getPeersPage(t, reader.url, "?network=nope", http.StatusNotFound); !strings.Contains(body, `no network \"nope\"`) {
		t.Errorf("unknown network: %s", body)
	}

	for _, pr := range dn.Providers() {
		pr.SetFaults(devnet.Faults{PruneBelow: head})
	}
	old := chain.Blocks[1]
	// Until the reader's DHT finds the keeper the read is answered with
	// the providers' 4444; then it comes from the keeper.
	var got historyAnswer
	await.Within(t, 30*time.Second, "old receipts from the keeper", func() bool {
		got = postHistory(t, reader.url, "eth_getBlockReceipts", hexutil.Uint64(old.Number()))
		return got.Error == nil && got.Source == "peer"
	})

	// The reader credits the keeper; the keeper records what it served.
	var credit float64
	await.Within(t, 30*time.Second, "the keeper's credit at the reader", func() bool {
		p, _ := getPeersPage(t, reader.url, "?network=devnet", http.StatusOK)
		b, bytes, ok := p.balanceOf(keeperID)
		credit = b
		return ok && b > 0 && bytes > 0
	})
	// The keeper charged the reader: its balance net of the debt forgiven
	// since is negative. (The balance itself returns to 0 as debt is
	// forgiven by the second, on the real clock: on a slow machine that
	// happens before the page is read.)
	var lastKeeperPage string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the keeper's last /status/peers:\n%s", lastKeeperPage)
		}
	})
	await.Within(t, 30*time.Second, "the reader's account at the keeper", func() bool {
		p, raw := getPeersPage(t, keeper.url, "", http.StatusOK)
		lastKeeperPage = raw
		for _, a := range p.Peers {
			if a.ID == readerID {
				for _, f := range a.Served {
					if f.Bytes > 0 {
						return a.Balance-a.Forgiven < 0
					}
				}
			}
		}
		return false
	})

	// The reader's survey finds the keeper holding the chain's history.
	await.Within(t, 30*time.Second, "a survey finding the keeper", func() bool {
		p, _ := getPeersPage(t, reader.url, "", http.StatusOK)
		return p.Survey != nil && len(p.Survey.Buckets) > 0 && p.Survey.Buckets[0].Sampled > 0 && p.Survey.Buckets[0].MeanHolders >= 1
	})

	// A restart keeps the keeper's credit and the last survey.
	reader.gw.Close()
	reader = newHistoryGateway(t, dn, readerDir, "none", boot)
	if id := peerID(t, reader); id != readerID {
		t.Fatalf("restarted reader is %s, was %s", id, readerID)
	}
	p, raw = getPeersPage(t, reader.url, "?peer="+keeperID, http.StatusOK)
	if b, _, ok := p.balanceOf(keeperID); !ok || b < credit {
		t.Fatalf("after a restart the keeper's balance is %v (had %v): %s", b, credit, raw)
	}
	if p.Survey == nil || p.Survey.Head == 0 {
		t.Fatalf("after a restart the last survey is gone: %s", raw)
	}
}
