package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/report"
	"github.com/braidrpc/braid/internal/server"
)

// pageSecret is put in every upstream URL: it must never reach the page.
const pageSecret = "SECRETPAGEKEY"

// pageStack is a devnet behind braid with two networks over the same
// chain: "devnet" verifies every answer (verify: strict), "quorum" asks
// two operators (quorum.k 2). Both need two operators for the tip, so the
// honest pair keeps it moving when the liars are quarantined.
func pageStack(t *testing.T) (*devnet.Devnet, *gateway.Gateway, string) {
	t.Helper()
	ctx := context.Background()
	dn, err := devnet.New(ctx, devnet.Options{Providers: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	for range 3 {
		if _, err := dn.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	network := func(name, prefix string) config.Network {
		n := config.Network{Name: name, ChainID: dn.ChainID(),
			Head: config.Head{PollInterval: 50 * time.Millisecond, MinOperators: 2}}
		for _, u := range dn.Upstreams() {
			u.Name = prefix + u.Name
			u.URL += "/v3/" + pageSecret + "?apikey=" + pageSecret
			n.Upstreams = append(n.Upstreams, u)
		}
		return n
	}
	strict, quorum := network("devnet", ""), network("quorum", "q")
	strict.Verify.Mode = config.VerifyStrict
	strict.Require = config.Require{Availability: 2, Integrity: 3}
	quorum.Quorum.K = 2
	cfg.Networks = []config.Network{strict, quorum}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(cfg, gateway.Options{Logger: testLogger(), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	gw.Start(ctx, 10*time.Second)
	srv := httptest.NewServer(server.New(gw, server.Options{Limits: cfg.Limits, Logger: testLogger(), Gatherer: reg}))
	t.Cleanup(srv.Close)
	return dn, gw, srv.URL
}

// exercise sends reads to both networks while two providers lie
// differently, until the strict network has caught lies and the quorum
// network has logged disputes (bounded); some reads repeat, for cache hits.
func exercise(t *testing.T, dn *devnet.Devnet, gw *gateway.Gateway, url string) {
	t.Helper()
	dn.Provider("p2").SetFaults(devnet.Faults{Lie: true, LieVariant: 1})
	dn.Provider("p3").SetFaults(devnet.Faults{Lie: true, LieVariant: 2})
	for i := range 200 {
		for _, path := range []string{"/devnet", "/quorum"} {
			for range 2 { // the second is a cache hit when the first was kept
				body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x%040x","0x2"]}`, i+1)
				if status, out := doRequest(t, http.MethodPost, url+path, body); status != http.StatusOK {
					t.Fatalf("%s: HTTP %d %s", path, status, out)
				}
			}
		}
		st := gw.Status()
		if len(st.Networks[0].Lies) > 0 && len(gw.Disputes()) > 0 && i >= 5 {
			return
		}
	}
	t.Fatalf("after 200 rounds: %d lies, %d disputes", len(gw.Status().Networks[0].Lies), len(gw.Disputes()))
}

// TestStatusPageInChromium drives the status page in headless Chromium
// against a devnet-backed braid: the page loads with no console error,
// exception or failed request (its policy allows its own inline script
// and style); its script's view and rendering equal the server's; what it
// shows after a refresh is what /status and /status/centralization
// report; it follows a new block on its own; it fits a phone's width.
// Screenshots go to artifacts/ (not committed).
func TestStatusPageInChromium(t *testing.T) {
	chromiumPath(t) // fails, naming the package, when there is none
	dn, gw, url := pageStack(t)
	exercise(t, dn, gw, url)
	b := startChromium(t)
	b.viewport(1280, 900, false)

	// The server's rendering and the script's agree on the same data.
	b.navigate(url + "/?refresh=0")
	checkNoProblems(t, b, "loading the page")
	checkSameRendering(t, b)

	b.navigate(url + "/?refresh=1")
	waitRefreshed(b)
	checkAgainstStatus(t, b)

	// A new block shows up without a reload.
	h, err := dn.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var want uint64
	await.Until(t, "braid serves the new block", func() bool {
		tip := gw.Network("devnet").Tip()
		want = tip.Latest.Number
		return tip.Latest.Hash == h
	})
	b.waitFor("the page shows block "+strconv.FormatUint(want, 10),
		`document.querySelector('#net-devnet .card .value').textContent === '`+strconv.FormatUint(want, 10)+`'`,
		`document.querySelector('#net-devnet .card .value').textContent + ' / ' + document.getElementById('updated').textContent`,
		20*time.Second)
	var html string
	b.eval(`document.documentElement.outerHTML`, &html)
	if strings.Contains(html, pageSecret) {
		t.Fatal("the page shows an upstream URL's key")
	}
	t.Logf("screenshot: %s", b.screenshot("status-page.png", true))

	checkPhone(t, b, url)
	checkNoProblems(t, b, "refreshing")
}

// checkNoProblems: no console error, uncaught exception or error log
// entry (a refused script, a failed request) so far.
func checkNoProblems(t *testing.T, b *browser, when string) {
	t.Helper()
	if p := b.problemList(); len(p) > 0 {
		t.Fatalf("%s, the page logged problems:\n%s", when, strings.Join(p, "\n"))
	}
}

// waitRefreshed waits until the page's script has refreshed it from
// /status (or says why it could not).
func waitRefreshed(b *browser) {
	b.t.Helper()
	b.waitFor("the script's refresh", `document.getElementById('updated').textContent.startsWith('Updated')`,
		`document.getElementById('updated').textContent`, 20*time.Second)
}

// domSignature lists every element of the page's main content: tag, id,
// class, column label and its own text.
const domSignature = `[...document.querySelectorAll('#main *')].map(e => e.tagName + '#' + e.id + '.' + e.className +
	'[' + (e.dataset.label || '') + ']:' +
	[...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').replace(/\s+/g, ' ').trim())`

// checkSameRendering: on a page that does not refresh, the script's view
// of the embedded documents equals the server's (PageView), and rendering
// it yields the DOM the server sent.
func checkSameRendering(t *testing.T, b *browser) {
	t.Helper()
	var docs struct{ Status, Centralization, Disputes json.RawMessage }
	b.eval(`JSON.parse(document.getElementById('braid-data').textContent)`, &docs)
	goView, err := server.PageView(docs.Status, docs.Centralization, docs.Disputes)
	if err != nil {
		t.Fatal(err)
	}
	var jsView json.RawMessage
	b.eval(`(() => { const d = JSON.parse(document.getElementById('braid-data').textContent);
		return braidPage.view(d.status, d.centralization, d.disputes); })()`, &jsView)
	var g, j any
	if json.Unmarshal(goView, &g) != nil || json.Unmarshal(jsView, &j) != nil || !reflect.DeepEqual(g, j) {
		t.Fatalf("the script's view differs from the server's:\nserver %s\nscript %s", goView, jsView)
	}
	var served, rendered []string
	b.eval(domSignature, &served)
	b.eval(`(() => { const d = JSON.parse(document.getElementById('braid-data').textContent);
		braidPage.render(braidPage.view(d.status, d.centralization, d.disputes)); })()`, nil)
	b.eval(domSignature, &rendered)
	if len(served) < 50 || !reflect.DeepEqual(served, rendered) {
		for i := range min(len(served), len(rendered)) {
			if served[i] != rendered[i] {
				t.Fatalf("element %d: server %q, script %q (%d vs %d elements)", i, served[i], rendered[i], len(served), len(rendered))
			}
		}
		t.Fatalf("server rendered %d elements, the script %d", len(served), len(rendered))
	}
}

// pageShown is what the page shows, read from its DOM right after it
// rendered the documents it fetched (so both are of the same moment).
type pageShown struct {
	Status         gateway.Status
	Centralization report.Report
	Cards          map[string]map[string]string // section id → card label → value
	Tables         map[string][][]string        // table id → rows of cell texts
}

const fetchAndShow = `(async () => {
	const get = async p => (await fetch(p, {cache: 'no-store'})).json();
	const [st, cz, ds] = await Promise.all([get('status'), get('status/centralization'), get('status/disputes')]);
	braidPage.render(braidPage.view(st, cz, ds));
	const cards = {}, tables = {};
	for (const s of document.querySelectorAll('#main section')) {
		cards[s.id] = Object.fromEntries([...s.querySelectorAll('.card')].map(c =>
			[c.querySelector('.label').textContent, c.querySelector('.value').textContent]));
	}
	for (const b of document.querySelectorAll('#main .block')) {
		tables[b.id] = [...b.querySelectorAll('tbody tr')].map(tr => [...tr.children].map(td => td.textContent));
	}
	return {status: st, centralization: cz, cards: cards, tables: tables};
})()`

// checkAgainstStatus: the tip, operators, upstreams, coefficients, lies
// and disputes the page shows are those /status and
// /status/centralization report.
func checkAgainstStatus(t *testing.T, b *browser) {
	t.Helper()
	var p pageShown
	b.eval(fetchAndShow, &p)
	if len(p.Status.Networks) != 2 || len(p.Centralization.Networks) != 2 {
		t.Fatalf("status of %d networks, report of %d", len(p.Status.Networks), len(p.Centralization.Networks))
	}
	for i, n := range p.Status.Networks {
		cards, rep := p.Cards["net-"+n.Name], p.Centralization.Networks[i]
		if !n.Tip.Known || cards["Served tip"] != strconv.FormatUint(n.Tip.Latest.Number, 10) {
			t.Errorf("%s: page shows tip %q, /status %d", n.Name, cards["Served tip"], n.Tip.Latest.Number)
		}
		if cards["Availability"] != strconv.Itoa(rep.Availability.Min) || cards["Integrity"] != strconv.Itoa(rep.Integrity.Value) ||
			!near(cards["Concentration (HHI)"], rep.HHI, 0.5) {
			t.Errorf("%s: page shows availability %q integrity %q HHI %q; report %d %d %v", n.Name,
				cards["Availability"], cards["Integrity"], cards["Concentration (HHI)"], rep.Availability.Min, rep.Integrity.Value, rep.HHI)
		}
		checkOperatorRows(t, n, rep, p.Tables["ops-"+n.Name])
		ups := p.Tables["ups-"+n.Name]
		if len(ups) != len(n.Upstreams) {
			t.Fatalf("%s: %d upstream rows, /status has %d", n.Name, len(ups), len(n.Upstreams))
		}
		for j, u := range n.Upstreams {
			cond := u.Condition
			if u.Quarantine != "" {
				cond += ": " + u.Quarantine
			}
			if ups[j][0] != u.Name || ups[j][1] != u.Operator || ups[j][2] != cond || ups[j][8] != u.URL ||
				!near(ups[j][4], u.LatencyMS, 0.05) || !near(ups[j][5], 100*u.ErrorRate, 0.05) {
				t.Errorf("%s: upstream row %q for %+v", n.Name, ups[j], u)
			}
		}
	}
	lies := p.Tables["lies-devnet"]
	if len(lies) == 0 || len(lies) != min(10, len(p.Status.Networks[0].Lies)) {
		t.Errorf("%d lie rows for %d lies", len(lies), len(p.Status.Networks[0].Lies))
	}
	for j, row := range lies {
		if l := p.Status.Networks[0].Lies[j]; row[1] != l.Operator || row[2] != l.Upstream || row[4] != l.Reason {
			t.Errorf("lie row %q for %+v", row, l)
		}
	}
	if len(p.Tables["disputes-quorum"]) == 0 || len(p.Tables["disputes-devnet"]) != 0 {
		t.Errorf("dispute rows: quorum %d, devnet %d", len(p.Tables["disputes-quorum"]), len(p.Tables["disputes-devnet"]))
	}
	if c := p.Status.Networks[0].Cache; c == nil || c.Hits == 0 || !near(p.Cards["net-devnet"]["Cache hit rate"], 100*c.HitRate, 0.05) {
		t.Errorf("cache: page %q, /status %+v", p.Cards["net-devnet"]["Cache hit rate"], c)
	}
}

func checkOperatorRows(t *testing.T, n gateway.NetworkStatus, rep *report.Network, ops [][]string) {
	t.Helper()
	if len(ops) != len(n.Operators) {
		t.Fatalf("%s: %d operator rows, /status has %d", n.Name, len(ops), len(n.Operators))
	}
	quarantined := 0
	for j, op := range n.Operators {
		var share float64
		for _, r := range rep.Operators {
			if r.Name == op.Name {
				share = r.Share
			}
		}
		until := "—"
		if op.QuarantinedUntil != nil {
			until = op.QuarantinedUntil.UTC().Format("2006-01-02 15:04:05") + "Z"
			quarantined++
		}
		if ops[j][0] != op.Name || ops[j][4] != fmt.Sprintf("%d/%d", op.Strikes, op.MaxStrikes) ||
			ops[j][5] != until || !near(ops[j][2], 100*share, 0.05) {
			t.Errorf("%s: operator row %q for %+v (share %v)", n.Name, ops[j], op, share)
		}
	}
	t.Logf("%s: %d of %d operators quarantined", n.Name, quarantined, len(n.Operators))
}

// near reports whether the number text starts with is within tol of want.
func near(text string, want, tol float64) bool {
	f := strings.Fields(text)
	if len(f) == 0 {
		return false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return err == nil && math.Abs(v-want) <= tol+1e-9
}

// checkPhone: on a phone's width the page needs no sideways scrolling, and
// tables become one card per row, each cell labelled.
func checkPhone(t *testing.T, b *browser, url string) {
	t.Helper()
	b.viewport(390, 844, true)
	b.navigate(url + "/?refresh=1")
	waitRefreshed(b)
	var fit struct {
		Scroll, Inner int
		Head          string
		Label         string
	}
	b.eval(`({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
		head: getComputedStyle(document.querySelector('#main thead')).display,
		label: getComputedStyle(document.querySelector('#main td'), '::before').content})`, &fit)
	if fit.Scroll > fit.Inner || fit.Head != "none" || !strings.Contains(fit.Label, "Operator") {
		t.Errorf("on a phone: page %dpx wide in a %dpx window, table head display %q, first cell label %q",
			fit.Scroll, fit.Inner, fit.Head, fit.Label)
	}
	t.Logf("screenshot: %s", b.screenshot("status-page-phone.png", false))
}
