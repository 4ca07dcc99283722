package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/config"
	braidgw "github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/server"
)

// ---------------------------------------------------------------------------
// Monitoring: the Prometheus alert rules and the Grafana dashboard

const (
	rulesFile      = "prometheus/braid-rules.yaml"
	rulesTestFile  = "prometheus/braid-rules.test.yaml"
	dashboardFile  = "grafana/braid.json"
	promtoolAdvice = "promtool not found: it comes with Debian's prometheus package, which ./scripts/test.sh installs when it is missing (or run: apt-get install prometheus)"
)

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal(promtoolAdvice)
	}
	return p
}

// runPromtool runs promtool in the deploy folder and fails the test with
// its output when it does not succeed.
func runPromtool(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestAlertRules: promtool accepts the rules, and their unit tests (each
// alert fires on the series that should raise it) pass.
func TestAlertRules(t *testing.T) {
	if out := runPromtool(t, "check", "rules", rulesFile); !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check rules: %s", out)
	}
	if out := runPromtool(t, "test", "rules", rulesTestFile); !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules: %s", out)
	}
	rules := alertRules(t)
	for _, want := range []string{"BraidTipStalled", "BraidOperatorQuarantined", "BraidAvailabilityBelowRequired",
		"BraidIntegrityBelowRequired", "BraidRedisDown", "BraidErrorRateHigh", "BraidUpstreamBroken", "BraidNoUsableUpstream",
		"BraidLimitsNotShared", "BraidAPIKeysLost", "BraidBeaconNotReady", "BraidBeaconAPIDown"} {
		if _, ok := rules[want]; !ok {
			t.Errorf("no alert %s in %s", want, rulesFile)
		}
	}
	tested := readFile(t, rulesTestFile)
	for name, r := range rules {
		if !strings.Contains(tested, "alertname: "+name+"\n") {
			t.Errorf("alert %s has no unit test in %s", name, rulesTestFile)
		}
		if r.Labels["severity"] != "warning" && r.Labels["severity"] != "critical" {
			t.Errorf("alert %s: severity %q, want warning or critical", name, r.Labels["severity"])
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s needs a summary and a description", name)
		}
	}
}

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// alertRules reads the alert rules by name.
func alertRules(t *testing.T) map[string]alertRule {
	t.Helper()
	var f struct {
		Groups []struct {
			Name  string      `yaml:"name"`
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(readFile(t, rulesFile)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	out := map[string]alertRule{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = r
		}
	}
	if len(out) < 8 {
		t.Fatalf("%s: only %d alerts", rulesFile, len(out))
	}
	return out
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type dashboardPanel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	GridPos    map[string]int `json:"gridPos"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// dashboardQueries reads the dashboard and returns each panel's queries
// by "panel title/refId", checking the panels' shape on the way.
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	var d struct {
		UID        string           `json:"uid"`
		Title      string           `json:"title"`
		Panels     []dashboardPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal([]byte(readFile(t, dashboardFile)), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("%s: the dashboard needs a uid and a title", dashboardFile)
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	if !slices.Equal(vars, []string{"datasource", "instance", "network"}) {
		t.Errorf("%s: variables %v, want datasource, instance, network", dashboardFile, vars)
	}
	queries := map[string]string{}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if g := p.GridPos; g["w"] < 1 || g["x"]+g["w"] > 24 || g["h"] < 1 {
			t.Errorf("panel %q: gridPos %v", p.Title, g)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: needs targets on the ${datasource} variable", p.Title)
		}
		for _, q := range p.Targets {
			queries[p.Title+"/"+q.RefID] = q.Expr
		}
	}
	if len(queries) < 25 {
		t.Fatalf("%s: only %d queries", dashboardFile, len(queries))
	}
	return queries
}

// TestDashboardQueriesParse: every panel query is valid PromQL once
// Grafana's variables are filled in (promtool checks them as recording
// rules), and filters by the replica and network variables.
func TestDashboardQueriesParse(t *testing.T) {
	queries := dashboardQueries(t)
	fill := strings.NewReplacer("$__rate_interval", "5m", "$instance", ".*", "$network", ".*")
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	names := make([]string, 0, len(queries))
	for k := range queries {
		names = append(names, k)
	}
	sort.Strings(names)
	for i, name := range names {
		q := queries[name]
		if !strings.Contains(q, `instance=~"$instance"`) {
			t.Errorf("query %s does not filter by $instance: %s", name, q)
		}
		expr, _ := json.Marshal(fill.Replace(q)) // a JSON string is a YAML string
		fmt.Fprintf(&b, "      - record: dashboard:query_%d\n        expr: %s\n", i, expr)
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "check", "rules", path)
}

// registered are braid's metrics: name → label names, and which are
// histograms (named in queries as _bucket, _sum and _count).
type registered struct {
	labels     map[string][]string
	histograms map[string]bool
}

// recorder is a Registerer that notes every metric described to it
// (vectors included, whether or not they have a child yet) and hands the
// collectors on to a real registry.
type recorder struct {
	t   *testing.T
	reg *prometheus.Registry
	registered
}

var descRE = regexp.MustCompile(`^Desc\{fqName: "([a-zA-Z_:][a-zA-Z0-9_:]*)", .*variableLabels: \{([^{}]*)\}\}$`)

func (r *recorder) Register(c prometheus.Collector) error {
	if err := r.reg.Register(c); err != nil {
		return err
	}
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		m := descRE.FindStringSubmatch(d.String())
		if m == nil {
			r.t.Fatalf("cannot read the metric description %s", d)
		}
		var labels []string
		for l := range strings.SplitSeq(m[2], ",") {
			if l != "" {
				labels = append(labels, strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"))
			}
		}
		r.labels[m[1]] = labels
		switch c.(type) {
		case prometheus.Histogram, *prometheus.HistogramVec:
			r.histograms[m[1]] = true
		}
	}
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *recorder) Unregister(c prometheus.Collector) bool { return r.reg.Unregister(c) }

// braidMetrics builds braid (gateway, server and the API key and limit
// checks) with every optional part that registers metrics — Redis, the
// memory cache, quorum, WebSocket, keys —
// and returns what it registered. Nothing is started: no upstream or
// Redis is contacted.
func braidMetrics(t *testing.T) registered {
	t.Helper()
	cfg := config.Default()
	cfg.Redis.URL = "redis://127.0.0.1:1/0"
	cfg.Networks = []config.Network{{Name: "mainnet", ChainID: 1, Quorum: config.Quorum{K: 2},
		Require: config.Require{Availability: 1, Integrity: 1},
		Upstreams: []config.Upstream{
			{Name: "a", Operator: "op-a", URL: "http://127.0.0.1:1/a"},
			{Name: "b", Operator: "op-b", URL: "http://127.0.0.1:1/b"},
		}}, {Name: "hoodi", ChainID: 560048, // trust: beacon registers the light client's metrics
		Trust: config.Trust{Source: config.TrustBeacon, Checkpoint: "0x" + strings.Repeat("ab", 32),
			BeaconAPIs: []config.BeaconAPI{{Name: "nimbus", URL: "http://127.0.0.1:1"}}},
		Upstreams: []config.Upstream{{Name: "h", Operator: "op-h", URL: "http://127.0.0.1:1/h"}}}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{t: t, reg: prometheus.NewRegistry(),
		registered: registered{labels: map[string][]string{}, histograms: map[string]bool{}}}
	gw, err := braidgw.New(cfg, braidgw.Options{Registry: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	ctl, err := access.New(cfg, access.Options{Registry: rec})
	if err != nil {
		t.Fatal(err)
	}
	server.New(gw, server.Options{Limits: cfg.Limits, Registry: rec, Gatherer: rec.reg, Access: ctl})
	if len(rec.labels) < 40 {
		t.Fatalf("braid registered only %d metrics: %v", len(rec.labels), rec.labels)
	}
	return rec.registered
}

var (
	metricRef = regexp.MustCompile(`\bbraid_[a-zA-Z0-9_]+`)
	// matcherRE is a metric name with its label matchers.
	matcherRE = regexp.MustCompile(`\b(braid_[a-zA-Z0-9_]+)\{([^}]*)\}`)
	labelRE   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
)

// scrapeLabels are added by Prometheus to every series it scrapes.
var scrapeLabels = []string{"instance", "job", "namespace", "pod"}

// queryProblems says what is wrong with q: a braid metric it names that
// braid does not register (a histogram counts only by its series: _bucket,
// _sum, _count), or a label it matches on that the metric lacks.
func queryProblems(reg registered, q string) []string {
	var out []string
	refs := metricRef.FindAllString(q, -1)
	if len(refs) == 0 {
		out = append(out, "names no braid metric")
	}
	base := func(name string) (string, bool) {
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, s); ok && reg.histograms[b] {
				return b, true
			}
		}
		_, ok := reg.labels[name]
		return name, ok && !reg.histograms[name]
	}
	for _, name := range refs {
		if _, ok := base(name); !ok {
			out = append(out, "names "+name+", which braid does not register")
		}
	}
	for _, m := range matcherRE.FindAllStringSubmatch(q, -1) {
		name, ok := base(m[1])
		if !ok {
			continue
		}
		for _, l := range labelRE.FindAllStringSubmatch(m[2], -1) {
			if !slices.Contains(reg.labels[name], l[1]) && !slices.Contains(scrapeLabels, l[1]) && l[1] != "le" {
				out = append(out, fmt.Sprintf("matches label %q of %s, which has %v", l[1], m[1], reg.labels[name]))
			}
		}
	}
	return out
}

// TestMonitoringMetricsExist: every metric a dashboard panel or an alert
// rule names is one braid registers, with the labels it matches on.
func TestMonitoringMetricsExist(t *testing.T) {
	reg := braidMetrics(t)
	check := func(where, q string) {
		for _, p := range queryProblems(reg, q) {
			t.Errorf("%s %s: %s", where, p, q)
		}
	}
	for name, r := range alertRules(t) {
		check("alert "+name, r.Expr)
	}
	for name, q := range dashboardQueries(t) {
		check("panel "+name, q)
	}
	// The check itself catches a wrong name, a wrong label and a
	// histogram named without its series.
	for _, bad := range []string{`rate(up[5m])`, `braid_tip_stale`, `braid_requests_total{outcom="error"}`, `braid_request_duration_seconds`} {
		if len(queryProblems(reg, bad)) == 0 {
			t.Errorf("the metric check lets %s through", bad)
		}
	}
	for _, good := range []string{`braid_requests_total{instance="x", outcome="error"}`, `braid_request_duration_seconds_bucket{le="1"}`,
		`braid_centralization_required{coefficient="integrity"}`, `braid_redis_up`, `braid_ws_connections`} {
		if p := queryProblems(reg, good); len(p) > 0 {
			t.Errorf("the metric check refuses %s: %v", good, p)
		}
	}
}
