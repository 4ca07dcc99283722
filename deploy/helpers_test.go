package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/braidrpc/braid/internal/config"
)

// ---------------------------------------------------------------------------
// braid's configuration, wherever it is shipped

// envRef is a ${NAME} reference in a braid configuration.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// literalSecret is a key, token or password written out rather than as a
// ${NAME} reference: "apikey=abc", "password: hunter2".
var literalSecret = regexp.MustCompile(`(?i)(api[_-]?key|token|secret|password)\s*[=:]\s*[^$\s]`)

// placeholder is what every ${NAME} expands to in these tests. It must not
// appear in any shipped file: that would mean a secret was written out.
const placeholder = "placeholder-from-test"

// checkBraidConfig validates data with braid's own config loader, every
// ${NAME} expanded to a placeholder, and checks that it keeps secrets out:
// provider keys in URL paths are ${NAME} references and the Redis URL has
// no password (the file lands in a ConfigMap or in /etc). It returns the
// parsed config and the variables it references.
func checkBraidConfig(t *testing.T, data []byte, source string) (*config.Config, []string) {
	t.Helper()
	var names []string
	lookup := func(name string) (string, bool) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		return placeholder, true
	}
	cfg, err := config.ParseWithEnv(data, source, lookup)
	if err != nil {
		t.Fatalf("%s does not pass braid's config validation:\n%v", source, err)
	}
	if len(names) == 0 {
		t.Errorf("%s references no ${NAME}: provider keys must come from the environment", source)
	}

	// The raw file: every upstream URL with a path carries its key as a
	// ${NAME} reference, never literally.
	var raw struct {
		Networks []struct {
			Name      string
			Upstreams []struct {
				Name  string
				URL   string `yaml:"url"`
				WSURL string `yaml:"ws_url"`
			}
		}
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatalf("%s: %v", source, err)
	}
	for _, n := range raw.Networks {
		for _, u := range n.Upstreams {
			for _, s := range []string{u.URL, u.WSURL} {
				p := s
				if i := strings.Index(p, "://"); i >= 0 {
					p = p[i+3:]
				}
				if i := strings.IndexByte(p, '/'); i >= 0 && strings.Trim(p[i:], "/") != "" && !envRef.MatchString(p[i:]) {
					t.Errorf("%s: network %s upstream %s: the URL path looks like a literal API key; write it as ${NAME}", source, n.Name, u.Name)
				}
			}
		}
	}
	if cfg.Redis.URL != "" {
		u, err := url.Parse(cfg.Redis.URL)
		if err != nil {
			t.Fatalf("%s: redis.url: %v", source, err)
		}
		if _, ok := u.User.Password(); ok {
			t.Errorf("%s: redis.url holds a password; it would be readable wherever the file is", source)
		}
	}
	for _, bad := range []string{placeholder, "REPLACE_WITH"} {
		if strings.Contains(string(data), bad) {
			t.Errorf("%s contains %q: secrets belong in the environment, not in the config", source, bad)
		}
	}
	if m := literalSecret.FindString(string(data)); m != "" {
		t.Errorf("%s contains %q: secrets belong in the environment, not in the config", source, m)
	}
	return cfg, names
}

// ---------------------------------------------------------------------------
// YAML documents

// decodeAll decodes every document of a multi-document YAML stream,
// skipping empty ones.
func decodeAll(t *testing.T, data []byte, source string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: document %d is not valid YAML: %v", source, len(docs)+1, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// object is one Kubernetes object.
type object struct {
	kind, name string
	doc        map[string]any
}

// objects checks that every document is a Kubernetes object (apiVersion,
// kind, metadata.name) without a namespace, and indexes them.
func objects(t *testing.T, docs []map[string]any, source string) []object {
	t.Helper()
	var objs []object
	seen := map[string]bool{}
	for i, d := range docs {
		api, _ := d["apiVersion"].(string)
		kind, _ := d["kind"].(string)
		name, _ := dig(d, "metadata", "name").(string)
		if api == "" || kind == "" || name == "" {
			t.Errorf("%s: document %d lacks apiVersion, kind or metadata.name", source, i+1)
			continue
		}
		if ns := dig(d, "metadata", "namespace"); ns != nil {
			t.Errorf("%s: %s %s sets metadata.namespace %v; the namespace is chosen at install", source, kind, name, ns)
		}
		if seen[kind+"/"+name] {
			t.Errorf("%s: %s %s is defined twice", source, kind, name)
		}
		seen[kind+"/"+name] = true
		objs = append(objs, object{kind, name, d})
	}
	return objs
}

func find(objs []object, kind, name string) map[string]any {
	for _, o := range objs {
		if o.kind == kind && (name == "" || o.name == name) {
			return o.doc
		}
	}
	return nil
}

func count(objs []object, kind string) int {
	n := 0
	for _, o := range objs {
		if o.kind == kind {
			n++
		}
	}
	return n
}

// dig walks v by map keys (strings) and list indexes (ints); nil when a
// step is missing.
func dig(v any, steps ...any) any {
	for _, s := range steps {
		switch k := s.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case uint64:
		return int(n), true
	case float64:
		return int(n), n == float64(int(n))
	}
	return 0, false
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

func labels(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, e := range m {
		out[k] = fmt.Sprint(e)
	}
	return out
}

// selects reports whether selector is non-empty and every one of its
// labels is in labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

// gateway is what checkGateway learned from braid's Deployment.
type gateway struct {
	configMap  string   // the ConfigMap mounted as --config's directory
	configKey  string   // the key holding braid.yaml
	secretRefs []string // envFrom Secrets
	env        []string // env names
	podLabels  map[string]string
	port       int
}

// checkGateway checks braid's Deployment: replicas, probes, draining,
// hardening, spreading, metrics annotations and how it gets its config.
func checkGateway(t *testing.T, dep map[string]any, replicas int, source string) gateway {
	t.Helper()
	var g gateway
	if n, _ := asInt(dig(dep, "spec", "replicas")); n != replicas {
		t.Errorf("%s: Deployment replicas = %v, want %d", source, dig(dep, "spec", "replicas"), replicas)
	}
	if u, ok := asInt(dig(dep, "spec", "strategy", "rollingUpdate", "maxUnavailable")); !ok || u != 0 {
		t.Errorf("%s: a rollout should take no replica down before its successor is ready (maxUnavailable 0)", source)
	}
	pod := dig(dep, "spec", "template")
	g.podLabels = labels(dig(pod, "metadata", "labels"))
	if !selects(labels(dig(dep, "spec", "selector", "matchLabels")), g.podLabels) {
		t.Errorf("%s: the Deployment's selector does not match its pod labels", source)
	}
	spec := dig(pod, "spec")
	if dig(spec, "securityContext", "runAsNonRoot") != true {
		t.Errorf("%s: pod securityContext.runAsNonRoot should be true", source)
	}
	if dig(spec, "topologySpreadConstraints") == nil && dig(spec, "affinity", "podAntiAffinity") == nil {
		t.Errorf("%s: replicas are not spread across nodes", source)
	}
	var c any
	for _, e := range dig(spec, "containers").([]any) {
		if dig(e, "name") == "braid" {
			c = e
		}
	}
	if c == nil {
		t.Fatalf("%s: no container named braid", source)
	}

	args := strs(dig(c, "args"))
	i := slices.Index(args, "--config")
	if len(args) == 0 || args[0] != "serve" || i < 0 || i+1 >= len(args) {
		t.Fatalf("%s: the container should run `braid serve --config FILE`, args are %q", source, args)
	}
	cfgPath := args[i+1]
	g.port, _ = asInt(dig(c, "ports", 0, "containerPort"))
	if j := slices.Index(args, "--listen"); j >= 0 && j+1 < len(args) {
		_, port, err := net.SplitHostPort(args[j+1])
		if p, _ := strconv.Atoi(port); err != nil || p != g.port {
			t.Errorf("%s: --listen %s does not match containerPort %d", source, args[j+1], g.port)
		}
	} else {
		t.Errorf("%s: the container should pass --listen for its containerPort", source)
	}
	ann := labels(dig(pod, "metadata", "annotations"))
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" || ann["prometheus.io/port"] != strconv.Itoa(g.port) {
		t.Errorf("%s: Prometheus scrape annotations missing or wrong: %v", source, ann)
	}

	// The config file is a key of a ConfigMap mounted at its directory.
	for _, m := range dig(c, "volumeMounts").([]any) {
		if dig(m, "mountPath") != path.Dir(cfgPath) {
			continue
		}
		for _, v := range dig(spec, "volumes").([]any) {
			if dig(v, "name") == dig(m, "name") {
				g.configMap, _ = dig(v, "configMap", "name").(string)
				g.configKey = path.Base(cfgPath)
			}
		}
	}
	if g.configMap == "" {
		t.Errorf("%s: --config %s is not in a mounted ConfigMap", source, cfgPath)
	}
	if l, ok := dig(c, "envFrom").([]any); ok {
		for _, e := range l {
			if s, ok := dig(e, "secretRef", "name").(string); ok {
				g.secretRefs = append(g.secretRefs, s)
			}
		}
	}
	if l, ok := dig(c, "env").([]any); ok {
		for _, e := range l {
			g.env = append(g.env, fmt.Sprint(dig(e, "name")))
		}
	}

	// Probes: ready when /readyz says so (a served tip that is not
	// stalled); alive as long as /healthz answers, which it does (200)
	// whatever the providers do. /readyz for liveness would restart every
	// replica while the providers are down, which would not help.
	if p := dig(c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
		t.Errorf("%s: readinessProbe should GET /readyz, has %v", source, p)
	}
	live := dig(c, "livenessProbe")
	if live == nil {
		t.Errorf("%s: no livenessProbe", source)
	} else if p := dig(live, "httpGet", "path"); p != "/healthz" {
		t.Errorf("%s: livenessProbe should GET /healthz (200 while the process serves, whatever the providers do), has %v", source, p)
	}
	if p := dig(c, "startupProbe", "httpGet", "path"); p != nil && p != "/healthz" {
		t.Errorf("%s: startupProbe should GET /healthz like the livenessProbe, has %v", source, p)
	}
	if f, _ := asInt(dig(live, "failureThreshold")); f < 3 {
		t.Errorf("%s: livenessProbe failureThreshold %d is not generous", source, f)
	}

	// Hardening and resources.
	sc := dig(c, "securityContext")
	if dig(sc, "readOnlyRootFilesystem") != true || dig(sc, "allowPrivilegeEscalation") != false || !slices.Contains(strs(dig(sc, "capabilities", "drop")), "ALL") {
		t.Errorf("%s: container securityContext should be read-only, without privilege escalation and drop ALL capabilities: %v", source, sc)
	}
	if dig(c, "resources", "requests", "memory") == nil || dig(c, "resources", "limits", "memory") == nil {
		t.Errorf("%s: container resources should request and limit memory", source)
	}
	return g
}

// checkDrain checks that a stopping replica gets the preStop sleep plus
// braid's shutdown_timeout before it is killed.
func checkDrain(t *testing.T, dep map[string]any, shutdown time.Duration, source string) {
	t.Helper()
	spec := dig(dep, "spec", "template", "spec")
	grace, _ := asInt(dig(spec, "terminationGracePeriodSeconds"))
	sleep, ok := asInt(dig(spec, "containers", 0, "lifecycle", "preStop", "sleep", "seconds"))
	if !ok || sleep < 1 {
		t.Errorf("%s: the braid container should sleep in preStop so it leaves the Service before draining", source)
	}
	if need := time.Duration(sleep)*time.Second + shutdown; time.Duration(grace)*time.Second <= need {
		t.Errorf("%s: terminationGracePeriodSeconds %d must exceed the preStop sleep plus shutdown_timeout (%s)", source, grace, need)
	}
}

// checkRedis checks the Redis that ships with braid: one replica, no
// persistence, reachable under the name braid's config uses.
func checkRedis(t *testing.T, objs []object, cfg *config.Config, source string) {
	t.Helper()
	u, err := url.Parse(cfg.Redis.URL)
	if err != nil || u.Hostname() == "" {
		t.Fatalf("%s: braid's redis.url %q has no host", source, cfg.Redis.URL)
	}
	svc := find(objs, "Service", u.Hostname())
	if svc == nil {
		t.Fatalf("%s: redis.url names %s, but there is no Service of that name", source, u.Hostname())
	}
	var dep map[string]any
	for _, o := range objs {
		if o.kind == "Deployment" && selects(labels(dig(svc, "spec", "selector")), labels(dig(o.doc, "spec", "template", "metadata", "labels"))) {
			dep = o.doc
		}
	}
	if dep == nil {
		t.Fatalf("%s: no Deployment behind the Service %s", source, u.Hostname())
	}
	if n, _ := asInt(dig(dep, "spec", "replicas")); n != 1 {
		t.Errorf("%s: Redis replicas = %d, want 1", source, n)
	}
	args := strings.Join(strs(dig(dep, "spec", "template", "spec", "containers", 0, "args")), " ")
	if !strings.Contains(args, "--save  ") || !strings.Contains(args, "--appendonly no") {
		t.Errorf("%s: Redis should run without persistence (--save \"\" --appendonly no), args: %s", source, args)
	}
	// allkeys-lru could evict the API keys of auth.store: redis, the one
	// braid entry without a TTL.
	if !strings.Contains(args, "--maxmemory-policy volatile-lru") {
		t.Errorf("%s: Redis should evict only entries with a TTL (--maxmemory-policy volatile-lru), args: %s", source, args)
	}
	if port, _ := asInt(dig(svc, "spec", "ports", 0, "port")); strconv.Itoa(port) != u.Port() {
		t.Errorf("%s: redis.url port %s does not match the Service's %d", source, u.Port(), port)
	}
}

// checkService checks that a Service of port 8545 selects the pods.
func checkService(t *testing.T, svc map[string]any, pods map[string]string, source string) {
	t.Helper()
	if svc == nil {
		t.Fatalf("%s: no Service for braid", source)
	}
	if !selects(labels(dig(svc, "spec", "selector")), pods) {
		t.Errorf("%s: the Service does not select braid's pods", source)
	}
	if typ := dig(svc, "spec", "type"); typ != "ClusterIP" {
		t.Errorf("%s: Service type %v, want ClusterIP", source, typ)
	}
	if p, _ := asInt(dig(svc, "spec", "ports", 0, "port")); p != 8545 {
		t.Errorf("%s: Service port %d, want 8545", source, p)
	}
	if a := dig(svc, "spec", "sessionAffinity"); a != "ClientIP" {
		t.Errorf("%s: Service sessionAffinity %v, want ClientIP: filters live in one replica", source, a)
	}
}

func checkPDB(t *testing.T, pdb map[string]any, pods map[string]string, source string) {
	t.Helper()
	if pdb == nil {
		t.Fatalf("%s: no PodDisruptionBudget", source)
	}
	if n, _ := asInt(dig(pdb, "spec", "minAvailable")); n != 2 {
		t.Errorf("%s: PodDisruptionBudget minAvailable = %v, want 2", source, dig(pdb, "spec", "minAvailable"))
	}
	if !selects(labels(dig(pdb, "spec", "selector", "matchLabels")), pods) {
		t.Errorf("%s: the PodDisruptionBudget does not select braid's pods", source)
	}
}

// noSecrets checks that no object but a Secret carries a secret value.
func noSecrets(t *testing.T, objs []object, secrets []string, source string) {
	t.Helper()
	for _, o := range objs {
		if o.kind == "Secret" {
			continue
		}
		out, err := yaml.Marshal(o.doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range append(secrets, placeholder, "REPLACE_WITH") {
			if strings.Contains(string(out), s) {
				t.Errorf("%s: %s %s contains the secret value %q", source, o.kind, o.name, s)
			}
		}
	}
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.FromSlash(name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
