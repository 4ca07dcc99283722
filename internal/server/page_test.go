package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/report"
	"github.com/braidrpc/braid/internal/server"
	"github.com/braidrpc/braid/internal/upstream"
)

// getPage GETs path as a browser does (Accept: text/html) without
// following redirects.
func getPage(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// cellText returns the text of every <td> of the table block id, row by
// row, unescaped.
func cellText(t *testing.T, page, id string) [][]string {
	t.Helper()
	start := strings.Index(page, `<div class="block" id="`+id+`">`)
	if start < 0 {
		t.Fatalf("no table %s in the page", id)
	}
	block := page[start:]
	block = block[:strings.Index(block, "</table>")+1]
	var rows [][]string
	for _, tr := range regexp.MustCompile(`(?s)<tr>(.*?)</tr>`).FindAllStringSubmatch(block, -1) {
		var row []string
		for _, td := range regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`).FindAllStringSubmatch(tr[1], -1) {
			row = append(row, html.UnescapeString(td[1]))
		}
		if row != nil {
			rows = append(rows, row)
		}
	}
	return rows
}

// TestStatusPage: a browser's GET / gets the status page, rendered on the
// server with what /status and /status/centralization report (tip,
// operators, upstreams, coefficients), under a policy that allows only its
// own inline script and style; no upstream URL's secret shows. JSON-RPC
// clients still get 405 on GET /, and GET /{network} from a browser leads
// to that network's section.
func TestStatusPage(t *testing.T) {
	a, c := newFake(t, "a", 1), newFake(t, "b", 1)
	cfg := braidConfig(t, nil, mainnet(a, c), netSpec{name: "devnet", chainID: 1337, fakes: []*fakeUpstream{newFake(t, "c", 1337)}})
	for i := range cfg.Networks[0].Upstreams {
		cfg.Networks[0].Upstreams[i].URL += "/v3/SECRETKEY?key=SECRETKEY"
	}
	cfg.Networks[0].Require.Availability = 5 // more than two operators can give: unmet
	b := startBraidConfig(t, cfg, mainnet(a, c))
	// An upstream's condition is assessed once a second after it is
	// checked: until then it is "unverified", and the page and /status,
	// read one after the other, could tell apart.
	await.Until(t, "every upstream's condition assessed", func() bool {
		for _, n := range b.gw.Networks() {
			for _, u := range n.Upstreams() {
				if u.CurrentCondition() == upstream.Pending {
					return false
				}
			}
		}
		return true
	})

	res, page := getPage(t, b.URL+"/")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET / from a browser: HTTP %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if strings.Contains(page, "SECRETKEY") || strings.Contains(page, "/v3/") {
		t.Fatal("the page shows an upstream URL's path or key")
	}
	checkPagePolicy(t, res.Header.Get("Content-Security-Policy"), page)

	// The page's rows are compared with the documents it was rendered
	// from, which it embeds: /status and the report read a moment later
	// could differ on a loaded machine (an upstream's condition assessed
	// again meanwhile), and the test failed so. That the embedded status
	// is /status's is checked on what does not change.
	m := regexp.MustCompile(`(?s)<script type="application/json" id="braid-data">(.*?)</script>`).FindStringSubmatch(page)
	var docs struct{ Status, Centralization, Disputes json.RawMessage }
	if m == nil || json.Unmarshal([]byte(m[1]), &docs) != nil || len(docs.Status) == 0 || len(docs.Centralization) == 0 || len(docs.Disputes) == 0 {
		t.Fatalf("embedded documents missing or not JSON")
	}
	var st, live gateway.Status
	var rep report.Report
	if err := json.Unmarshal(docs.Status, &st); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(docs.Centralization, &rep); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(mustGet(t, b.URL+"/status")), &live); err != nil {
		t.Fatal(err)
	}
	if got, want := statusShape(st), statusShape(live); got != want {
		t.Fatalf("the page embeds a status of %s, /status is of %s", got, want)
	}
	for i, n := range st.Networks {
		if !strings.Contains(page, `<section class="net" id="net-`+n.Name+`">`) {
			t.Fatalf("no section for %s", n.Name)
		}
		sec := page[strings.Index(page, `id="net-`+n.Name+`"`):]
		if !strings.Contains(sec, `<div class="label">Served tip</div><div class="value">16</div>`) {
			t.Errorf("%s: served tip 16 not shown", n.Name)
		}
		wantCard := `<div class="label">Availability</div><div class="value">` + itoa(rep.Networks[i].Availability.Min) + `</div>`
		if !strings.Contains(sec, wantCard) {
			t.Errorf("%s: availability card %q missing", n.Name, wantCard)
		}
		wantCard = `<div class="label">Integrity</div><div class="value">` + itoa(rep.Networks[i].Integrity.Value) + `</div>`
		if !strings.Contains(sec, wantCard) {
			t.Errorf("%s: integrity card %q missing", n.Name, wantCard)
		}
		ops := cellText(t, page, "ops-"+n.Name)
		if len(ops) != len(n.Operators) {
			t.Fatalf("%s: %d operator rows, /status has %d", n.Name, len(ops), len(n.Operators))
		}
		for j, op := range n.Operators {
			if ops[j][0] != op.Name || ops[j][4] != itoa(op.Strikes)+"/"+itoa(op.MaxStrikes) {
				t.Errorf("%s: operator row %v for %+v", n.Name, ops[j], op)
			}
		}
		ups := cellText(t, page, "ups-"+n.Name)
		for j, u := range n.Upstreams {
			if ups[j][0] != u.Name || ups[j][1] != u.Operator || ups[j][2] != u.Condition || ups[j][8] != u.URL {
				t.Errorf("%s: upstream row %v for %+v", n.Name, ups[j], u)
			}
		}
	}
	mainSec := page[strings.Index(page, `id="net-mainnet"`):strings.Index(page, `id="net-devnet"`)]
	if len(rep.Networks[0].Require.Unmet) != 1 {
		t.Fatalf("mainnet's require: %+v", rep.Networks[0].Require)
	}
	for _, want := range []string{`<span class="badge bad">require unmet</span>`, "<li>" + html.EscapeString(rep.Networks[0].Require.Unmet[0]) + "</li>"} {
		if !strings.Contains(mainSec, want) {
			t.Errorf("mainnet section lacks %s", want)
		}
	}
	if !strings.Contains(page, `<nav><a href="#net-mainnet">mainnet</a><a href="#net-devnet">devnet</a></nav>`) {
		t.Error("no navigation between the two networks")
	}

	checkPageRoutes(t, b)
}

// statusShape is what of a status does not change while braid runs: the
// networks, their operators and upstreams.
func statusShape(st gateway.Status) string {
	var b strings.Builder
	for _, n := range st.Networks {
		fmt.Fprintf(&b, "%s:", n.Name)
		for _, op := range n.Operators {
			fmt.Fprintf(&b, " %s", op.Name)
		}
		for _, u := range n.Upstreams {
			fmt.Fprintf(&b, " %s@%s", u.Name, u.URL)
		}
		b.WriteString("; ")
	}
	return b.String()
}

func itoa[T ~int | ~uint64](v T) string { return fmt.Sprint(v) }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func mustGet(t *testing.T, url string) string {
	t.Helper()
	status, body := doRequest(t, http.MethodGet, url, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", url, status, body)
	}
	return body
}

// checkPagePolicy: the policy names the hashes of exactly the page's
// inline style and script, and allows nothing from elsewhere.
func checkPagePolicy(t *testing.T, csp, page string) {
	t.Helper()
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	script := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindStringSubmatch(page)
	if style == nil || script == nil {
		t.Fatal("no inline style or script")
	}
	for _, want := range []string{"default-src 'none'", "style-src " + hash(style[1]), "script-src " + hash(script[1]),
		"connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %s", csp, want)
		}
	}
	if strings.Contains(page, "http://") && regexp.MustCompile(`(src|href)="https?://`).MatchString(page) {
		t.Error("the page loads something from another origin")
	}
}

// checkPageRoutes: who gets the page, the JSON-RPC 405, a redirect or a
// 400.
func checkPageRoutes(t *testing.T, b *braid) {
	t.Helper()
	if status, body := doRequest(t, http.MethodGet, b.URL+"/", ""); status != http.StatusMethodNotAllowed || !strings.Contains(body, "sent with POST") {
		t.Errorf("GET / without Accept: text/html: HTTP %d %s", status, body)
	}
	res, _ := getPage(t, b.URL+"/devnet")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "./#net-devnet" {
		t.Errorf("GET /devnet from a browser: HTTP %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, body := getPage(t, b.URL+"/nope"); res.StatusCode != http.StatusNotFound || !strings.Contains(body, "unknown network") {
		t.Errorf("GET /nope from a browser: HTTP %d %s", res.StatusCode, body)
	}
	if res, body := getPage(t, b.URL+"/?refresh=soon"); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "refresh must be") {
		t.Errorf("?refresh=soon: HTTP %d %s", res.StatusCode, body)
	}
	if res, page := getPage(t, b.URL+"/?refresh=0"); res.StatusCode != http.StatusOK || !strings.Contains(page, `<body data-refresh="0">`) {
		t.Errorf("?refresh=0: HTTP %d", res.StatusCode)
	}
	if _, page := getPage(t, b.URL+"/"); !strings.Contains(page, `<body data-refresh="5">`) {
		t.Error("the page does not refresh every 5 s by default")
	}
}

// TestStatusPagePeers: peers that /status lists (the whole gateway's, or a
// network's) show in a table; without a peers field there is none.
func TestStatusPagePeers(t *testing.T) {
	status := `{"networks":[{"name":"mainnet","chain_id":1,"tip":{"latest":{"number":"0x10","hash":"0xaa"},"known":true},
		"operators":[],"upstreams":[],
		"peers":[{"id":"12D3KooWNet","addresses":["/ip4/127.0.0.1/tcp/4001"],"latency_ms":12.345,"transfers":{"sent":3,"received":4},"lies":0}]}],
		"peers":[{"id":"12D3KooWA","addresses":["/ip4/127.0.0.1/tcp/4001","/ip6/::1/tcp/4001"],"latency_ms":7.25,"transfers":12,"lies":2},
		{"peer_id":"12D3KooWB","addrs":[],"latency":"n/a","transfers":null,"failed_verifications":[{"x":1}]}]}`
	page, err := server.RenderPage([]byte(status), []byte(`{"networks":[]}`), []byte(`{"disputes":null}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	got := cellText(t, string(page), "peers")
	want := [][]string{
		{"12D3KooWA", "/ip4/127.0.0.1/tcp/4001, /ip6/::1/tcp/4001", "7.3 ms", "12", "2"},
		{"12D3KooWB", "", "n/a", "—", "1"},
	}
	if jsonText(got) != jsonText(want) {
		t.Errorf("peers rows %v, want %v", got, want)
	}
	if got := cellText(t, string(page), "peers-mainnet"); jsonText(got) != jsonText([][]string{
		{"12D3KooWNet", "/ip4/127.0.0.1/tcp/4001", "12.3 ms", "received 4, sent 3", "0"}}) {
		t.Errorf("network peers rows %v", got)
	}
	if !strings.Contains(string(page), `<td data-label="Lies" class="bad">2</td>`) {
		t.Error("a peer that lied is not marked")
	}

	page, err = server.RenderPage([]byte(`{"networks":[{"name":"mainnet","chain_id":1,"tip":{"known":false}}]}`),
		[]byte(`{"networks":[]}`), []byte(`{"disputes":[]}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), `id="peers`) {
		t.Error("a peers table without peers in /status")
	}
	if !strings.Contains(string(page), `<span class="badge warn">no tip yet</span>`) {
		t.Error("an unknown tip is not flagged")
	}
}
