package deploy_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
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

	// Probes: ready when /healthz says so; alive as long as the process
	// answers, whatever the providers do.
	if p := dig(c, "readinessProbe", "httpGet", "path"); p != "/healthz" {
		t.Errorf("%s: readinessProbe should GET /healthz, has %v", source, p)
	}
	live := dig(c, "livenessProbe")
	if live == nil {
		t.Errorf("%s: no livenessProbe", source)
	} else if dig(live, "httpGet", "path") == "/healthz" {
		t.Errorf("%s: livenessProbe must not use /healthz: it is 503 while the providers are down, and restarts would not help", source)
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

// ---------------------------------------------------------------------------
// Kubernetes manifests

func TestKubernetesManifests(t *testing.T) {
	const source = "kubernetes/braid.yaml"
	objs := objects(t, decodeAll(t, read(t, source), source), source)

	dep := find(objs, "Deployment", "braid")
	if dep == nil {
		t.Fatalf("%s: no Deployment braid", source)
	}
	g := checkGateway(t, dep, 3, source)
	checkService(t, find(objs, "Service", "braid"), g.podLabels, source)
	checkPDB(t, find(objs, "PodDisruptionBudget", ""), g.podLabels, source)

	cm := find(objs, "ConfigMap", g.configMap)
	data, _ := dig(cm, "data", g.configKey).(string)
	if data == "" {
		t.Fatalf("%s: the ConfigMap %s has no %s", source, g.configMap, g.configKey)
	}
	cfg, names := checkBraidConfig(t, []byte(data), source+": ConfigMap "+g.configMap)
	checkDrain(t, dep, cfg.Limits.ShutdownTimeout, source)
	checkRedis(t, objs, cfg, source)
	if cfg.Cache.Backend != config.CacheRedis {
		t.Errorf("%s: cache backend %q, want redis (shared by the replicas)", source, cfg.Cache.Backend)
	}

	// Every ${NAME} in braid.yaml reaches the pods from the example Secret,
	// whose values are all placeholders.
	var secrets []string
	provided := map[string]bool{}
	for _, ref := range g.secretRefs {
		sec := find(objs, "Secret", ref)
		if sec == nil {
			t.Errorf("%s: envFrom names the Secret %s, which is not in the file", source, ref)
			continue
		}
		for k, v := range labels(dig(sec, "stringData")) {
			provided[k] = true
			secrets = append(secrets, v)
			if !strings.HasPrefix(v, "REPLACE_WITH_") {
				t.Errorf("%s: Secret %s key %s is not an obvious placeholder (REPLACE_WITH_...)", source, ref, k)
			}
		}
	}
	for _, n := range g.env {
		provided[n] = true
	}
	for _, n := range names {
		if !provided[n] {
			t.Errorf("%s: braid.yaml uses ${%s}, but the Deployment does not set it", source, n)
		}
	}
	noSecrets(t, objs, secrets, source)
	if count(objs, "NetworkPolicy") == 0 {
		t.Errorf("%s: no NetworkPolicy keeps other pods away from Redis", source)
	}
}

// ---------------------------------------------------------------------------
// systemd

// unit is a parsed systemd unit file: section -> key -> values in order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, data []byte, source string) (unit, []string) {
	t.Helper()
	u := unit{}
	var order []string
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] != nil {
				t.Errorf("%s:%d: section [%s] appears twice", source, n, section)
			}
			u[section] = map[string][]string{}
			order = append(order, section)
		case strings.HasSuffix(line, "\\"):
			t.Errorf("%s:%d: continuation lines are not used here", source, n)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Errorf("%s:%d: %q is not Key=Value inside a section", source, n, line)
				continue
			}
			k = strings.TrimSpace(k)
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	return u, order
}

// one returns the last value of key (what systemd uses for single-valued
// keys), or "".
func (u unit) one(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// systemdSeconds parses a systemd time span such as "45s", "2min" or "30".
func systemdSeconds(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(strings.ReplaceAll(strings.ReplaceAll(s, "min", "m"), " ", ""))
}

// envFile parses a systemd EnvironmentFile.
func envFile(t *testing.T, name string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for n, line := range strings.Split(string(read(t, name)), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !envRef.MatchString("${"+k+"}") || strings.ContainsAny(k, " \t") {
			t.Errorf("%s:%d: %q is not NAME=value", name, n+1, line)
			continue
		}
		env[k] = v
	}
	return env
}

func TestSystemd(t *testing.T) {
	const source = "systemd/braid.yaml"
	cfg, names := checkBraidConfig(t, read(t, source), source)
	if cfg.Redis.URL == "" || cfg.Cache.Backend != config.CacheRedis {
		t.Errorf("%s: the replicas should share a Redis (redis.url, cache backend redis)", source)
	}

	// The example environment file defines every ${NAME}, with placeholders.
	keys := envFile(t, "systemd/braid.env.example")
	for _, n := range names {
		v, ok := keys[n]
		if !ok {
			t.Errorf("systemd/braid.env.example does not define %s, which braid.yaml uses", n)
		} else if !strings.HasPrefix(v, "REPLACE_WITH_") {
			t.Errorf("systemd/braid.env.example: %s should be an obvious placeholder (REPLACE_WITH_...)", n)
		}
	}
	replica := envFile(t, "systemd/replica.env.example")
	if _, _, err := net.SplitHostPort(replica["BRAID_LISTEN"]); err != nil {
		t.Errorf("systemd/replica.env.example: BRAID_LISTEN %q is not host:port", replica["BRAID_LISTEN"])
	}

	const unitFile = "systemd/braid@.service"
	u, order := parseUnit(t, read(t, unitFile), unitFile)
	if want := []string{"Unit", "Service", "Install"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("%s: sections %v, want %v", unitFile, order, want)
	}
	exec := strings.Fields(u.one("Service", "ExecStart"))
	if len(exec) < 4 || path.Base(exec[0]) != "braid" || exec[1] != "serve" || exec[2] != "--config" {
		t.Fatalf("%s: ExecStart should run `braid serve --config FILE`, is %q", unitFile, u.one("Service", "ExecStart"))
	}
	if path.Base(exec[3]) != "braid.yaml" {
		t.Errorf("%s: ExecStart's config %s is not the shipped braid.yaml", unitFile, exec[3])
	}
	if i := slices.Index(exec, "--listen"); i < 0 || i+1 >= len(exec) || exec[i+1] != "${BRAID_LISTEN}" {
		t.Errorf("%s: ExecStart should pass --listen ${BRAID_LISTEN} from the instance's environment file", unitFile)
	}
	envFiles := u["Service"]["EnvironmentFile"]
	if !slices.Contains(envFiles, "/etc/braid/%i.env") || !slices.Contains(envFiles, "/etc/braid/braid.env") {
		t.Errorf("%s: EnvironmentFile should name /etc/braid/braid.env and /etc/braid/%%i.env, has %v", unitFile, envFiles)
	}

	stop, err := systemdSeconds(u.one("Service", "TimeoutStopSec"))
	if err != nil || stop <= cfg.Limits.ShutdownTimeout {
		t.Errorf("%s: TimeoutStopSec %q must exceed limits.shutdown_timeout %s", unitFile, u.one("Service", "TimeoutStopSec"), cfg.Limits.ShutdownTimeout)
	}
	if n, err := strconv.Atoi(u.one("Service", "LimitNOFILE")); err != nil || n < 2*cfg.WebSocket.MaxConnections {
		t.Errorf("%s: LimitNOFILE %q should be at least twice websocket.max_connections (%d)", unitFile, u.one("Service", "LimitNOFILE"), cfg.WebSocket.MaxConnections)
	}
	for key, want := range map[string]string{
		"Restart":         "on-failure",
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes",
	} {
		if got := u.one("Service", key); got != want {
			t.Errorf("%s: %s=%q, want %q", unitFile, key, got, want)
		}
	}
	if u.one("Service", "DynamicUser") != "yes" && u.one("Service", "User") == "" {
		t.Errorf("%s: braid must not run as root: set DynamicUser=yes or User=", unitFile)
	}
	if u.one("Service", "MemoryMax") == "" {
		t.Errorf("%s: no MemoryMax", unitFile)
	}
	if fam := strings.Fields(u.one("Service", "RestrictAddressFamilies")); !reflect.DeepEqual(fam, []string{"AF_INET", "AF_INET6", "AF_UNIX"}) {
		t.Errorf("%s: RestrictAddressFamilies=%v, want AF_INET AF_INET6 AF_UNIX", unitFile, fam)
	}
	if u.one("Install", "WantedBy") != "multi-user.target" {
		t.Errorf("%s: WantedBy=%q, want multi-user.target", unitFile, u.one("Install", "WantedBy"))
	}

	redis := string(read(t, "systemd/redis-braid.conf"))
	for _, line := range []string{`save ""`, "appendonly no"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `$`).MatchString(redis) {
			t.Errorf("systemd/redis-braid.conf: no line %q: Redis holds nothing durable for braid", line)
		}
	}
	haproxy := string(read(t, "systemd/haproxy-braid.cfg"))
	if !strings.Contains(haproxy, "http-check send meth GET uri /healthz") {
		t.Errorf("systemd/haproxy-braid.cfg does not check GET /healthz")
	}
	if _, port, _ := net.SplitHostPort(replica["BRAID_LISTEN"]); !strings.Contains(haproxy, "127.0.0.1:"+port) {
		t.Errorf("systemd/haproxy-braid.cfg has no server at replica.env.example's port %s", port)
	}
}

// ---------------------------------------------------------------------------
// Helm: a renderer for the subset of Helm's template language the chart uses

const chartDir = "helm/braid"

// helmFuncs are the only functions the chart's templates may call besides
// text/template's builtins; a template calling another fails to parse.
// Each behaves as Helm's (Sprig's) function of the same name.
func helmFuncs(tmpl **template.Template) template.FuncMap {
	return template.FuncMap{
		"include": func(name string, data any) (string, error) {
			var b strings.Builder
			err := (*tmpl).ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
		"toYaml": func(v any) string {
			var b bytes.Buffer
			enc := yaml.NewEncoder(&b)
			enc.SetIndent(2)
			if err := enc.Encode(v); err != nil {
				return ""
			}
			if err := enc.Close(); err != nil {
				return ""
			}
			return strings.TrimSuffix(b.String(), "\n")
		},
		"indent": indent,
		"nindent": func(n int, s string) string {
			return "\n" + indent(n, s)
		},
		"quote": func(vs ...any) string {
			out := make([]string, 0, len(vs))
			for _, v := range vs {
				if v != nil {
					out = append(out, strconv.Quote(toString(v)))
				}
			}
			return strings.Join(out, " ")
		},
		"default": func(d any, given ...any) any {
			if len(given) == 0 || empty(given[0]) {
				return d
			}
			return given[0]
		},
		"printf": fmt.Sprintf,
		"trunc": func(n int, s string) string {
			switch {
			case n < 0 && len(s)+n > 0:
				return s[:len(s)+n]
			case n >= 0 && len(s) > n:
				return s[:n]
			}
			return s
		},
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"required": func(msg string, v any) (any, error) {
			if s, ok := v.(string); v == nil || ok && s == "" {
				return v, errors.New(msg)
			}
			return v, nil
		},
		"b64enc": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"sha256sum": func(s string) string {
			h := sha256.Sum256([]byte(s))
			return hex.EncodeToString(h[:])
		},
		"toString": toString,
	}
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case error:
		return v.Error()
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

// empty is Sprig's notion of an empty value, which default replaces.
func empty(v any) bool {
	r := reflect.ValueOf(v)
	if !r.IsValid() {
		return true
	}
	switch r.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return r.Len() == 0
	case reflect.Bool:
		return !r.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return r.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return r.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return r.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return r.IsNil()
	}
	return false
}

// chartMeta is Chart.yaml with Helm's capitalised names, as templates see
// it in .Chart.
func chartMeta(t *testing.T) map[string]any {
	t.Helper()
	var c struct {
		APIVersion  string `yaml:"apiVersion"`
		Name        string `yaml:"name"`
		Version     string `yaml:"version"`
		AppVersion  string `yaml:"appVersion"`
		Description string `yaml:"description"`
		Type        string `yaml:"type"`
		KubeVersion string `yaml:"kubeVersion"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(read(t, chartDir+"/Chart.yaml")))
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("Chart.yaml: %v", err)
	}
	return map[string]any{
		"APIVersion": c.APIVersion, "Name": c.Name, "Version": c.Version, "AppVersion": c.AppVersion,
		"Description": c.Description, "Type": c.Type, "KubeVersion": c.KubeVersion,
	}
}

// defaultValues is values.yaml, parsed afresh so each test may change it.
func defaultValues(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal(read(t, chartDir+"/values.yaml"), &v); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	return v
}

// set sets a dotted key of values, creating maps on the way.
func set(values map[string]any, key string, v any) {
	parts := strings.Split(key, ".")
	m := values
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// rendered is one run of the chart: its manifests and NOTES.txt.
type rendered struct {
	manifests string
	notes     string
}

// render renders the chart as `helm template test deploy/helm/braid`
// would: every file of templates/ is parsed into one template set (so
// include sees the named templates of _helpers.tpl), and every file not
// starting with "_" is executed with .Values, .Release, .Chart and
// .Capabilities.
func render(t *testing.T, values map[string]any) (rendered, error) {
	t.Helper()
	chart := chartMeta(t)
	var tmpl *template.Template
	tmpl = template.New("chart").Funcs(helmFuncs(&tmpl)).Option("missingkey=zero")
	dir := filepath.Join(filepath.FromSlash(chartDir), "templates")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".tpl") || name == "NOTES.txt") {
			continue
		}
		text, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		full := fmt.Sprintf("%s/templates/%s", chart["Name"], name)
		if _, err := tmpl.New(full).Parse(string(text)); err != nil {
			t.Fatalf("templates/%s: %v", name, err)
		}
		files = append(files, name)
	}
	slices.Sort(files)

	var out rendered
	var b strings.Builder
	for _, name := range files {
		if strings.HasPrefix(name, "_") {
			continue
		}
		full := fmt.Sprintf("%s/templates/%s", chart["Name"], name)
		data := map[string]any{
			"Values":  values,
			"Chart":   chart,
			"Release": map[string]any{"Name": "test", "Namespace": "default", "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
			"Capabilities": map[string]any{
				"KubeVersion": map[string]any{"Version": "v1.31.0", "Major": "1", "Minor": "31"},
				"APIVersions": []string{"v1", "apps/v1", "policy/v1", "networking.k8s.io/v1"},
			},
			"Template": map[string]any{"Name": full, "BasePath": fmt.Sprintf("%s/templates", chart["Name"])},
		}
		var one strings.Builder
		if err := tmpl.ExecuteTemplate(&one, full, data); err != nil {
			return rendered{}, err
		}
		text := strings.ReplaceAll(one.String(), "<no value>", "") // as Helm does
		if name == "NOTES.txt" {
			out.notes = text
			continue
		}
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", full, text)
	}
	out.manifests = b.String()
	return out, nil
}

// renderedObjects splits the manifests on "\n---" as Helm does and decodes
// each document, which must be valid YAML holding one object.
func renderedObjects(t *testing.T, r rendered, source string) []object {
	t.Helper()
	var docs []map[string]any
	for i, part := range strings.Split(r.manifests, "\n---") {
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(part), &doc); err != nil {
			t.Fatalf("%s: rendered document %d is not valid YAML: %v\n%s", source, i, err, part)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	return objects(t, docs, source)
}

// checkChart checks a rendering of the chart and returns its objects and
// braid's config.
func checkChart(t *testing.T, values map[string]any, replicas int, source string) ([]object, *config.Config) {
	t.Helper()
	r, err := render(t, values)
	if err != nil {
		t.Fatalf("%s: %v", source, err)
	}
	objs := renderedObjects(t, r, source)
	if strings.TrimSpace(r.notes) == "" {
		t.Errorf("%s: NOTES.txt renders empty", source)
	}

	for _, kind := range []string{"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"} {
		if count(objs, kind) == 0 {
			t.Errorf("%s: no %s rendered", source, kind)
		}
	}
	if n := count(objs, "Secret"); n != 0 {
		t.Errorf("%s: the chart renders %d Secret(s); secrets come from existing ones", source, n)
	}
	for _, o := range objs {
		l := labels(dig(o.doc, "metadata", "labels"))
		if l["app.kubernetes.io/name"] != "braid" || l["app.kubernetes.io/instance"] != "test" || l["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("%s: %s %s lacks the chart's labels: %v", source, o.kind, o.name, l)
		}
	}

	dep := find(objs, "Deployment", "test-braid")
	if dep == nil {
		t.Fatalf("%s: no Deployment test-braid", source)
	}
	g := checkGateway(t, dep, replicas, source)
	checkService(t, find(objs, "Service", "test-braid"), g.podLabels, source)
	checkPDB(t, find(objs, "PodDisruptionBudget", "test-braid"), g.podLabels, source)

	cm := find(objs, "ConfigMap", g.configMap)
	data, _ := dig(cm, "data", g.configKey).(string)
	if data == "" {
		t.Fatalf("%s: the ConfigMap %s has no %s", source, g.configMap, g.configKey)
	}
	cfg, _ := checkBraidConfig(t, []byte(data), source+": ConfigMap "+g.configMap)
	checkDrain(t, dep, cfg.Limits.ShutdownTimeout, source)

	// The pods carry the hash of braid.yaml, so a config change rolls them.
	sum := sha256.Sum256([]byte(strings.TrimSuffix(data, "\n")))
	if got := dig(dep, "spec", "template", "metadata", "annotations", "checksum/config"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("%s: checksum/config annotation %v is not the sha256 of the ConfigMap's braid.yaml", source, got)
	}
	noSecrets(t, objs, nil, source)
	return objs, cfg
}

func TestHelmChartMetadata(t *testing.T) {
	c := chartMeta(t)
	if c["APIVersion"] != "v2" || c["Name"] != "braid" {
		t.Errorf("Chart.yaml: apiVersion %v name %v, want v2 braid", c["APIVersion"], c["Name"])
	}
	semver := regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	if v, _ := c["Version"].(string); !semver.MatchString(v) {
		t.Errorf("Chart.yaml: version %q is not SemVer 2", v)
	}
	if c["AppVersion"] == "" {
		t.Errorf("Chart.yaml: no appVersion")
	}
}

func TestHelmChartDefaults(t *testing.T) {
	values := defaultValues(t)
	objs, cfg := checkChart(t, values, 3, "helm (defaults)")
	if cfg.Redis.URL != "redis://test-braid-redis:6379/0" || cfg.Cache.Backend != config.CacheRedis {
		t.Errorf("helm (defaults): redis.url %q, cache %q; want the release's Redis", cfg.Redis.URL, cfg.Cache.Backend)
	}
	checkRedis(t, objs, cfg, "helm (defaults)")
	if find(objs, "NetworkPolicy", "test-braid-redis") == nil {
		t.Errorf("helm (defaults): no NetworkPolicy for Redis")
	}
	dep := find(objs, "Deployment", "test-braid")
	if ref := dig(dep, "spec", "template", "spec", "containers", 0, "envFrom", 0, "secretRef", "name"); ref != values["existingSecret"] {
		t.Errorf("helm (defaults): envFrom Secret %v, want existingSecret %v", ref, values["existingSecret"])
	}
	if img := dig(dep, "spec", "template", "spec", "containers", 0, "image"); img != "ghcr.io/braidrpc/braid:"+chartMeta(t)["AppVersion"].(string) {
		t.Errorf("helm (defaults): image %v should default its tag to the appVersion", img)
	}

	// Another config, another checksum: the pods roll.
	before := dig(dep, "spec", "template", "metadata", "annotations", "checksum/config")
	set(values, "config.limits.request_timeout", "20s")
	objs, cfg = checkChart(t, values, 3, "helm (changed config)")
	if cfg.Limits.RequestTimeout != 20*time.Second {
		t.Errorf("helm (changed config): request_timeout %s, want 20s", cfg.Limits.RequestTimeout)
	}
	if after := dig(find(objs, "Deployment", "test-braid"), "spec", "template", "metadata", "annotations", "checksum/config"); after == before {
		t.Errorf("helm: the config checksum did not change with the config")
	}
}

func TestHelmChartExternalRedis(t *testing.T) {
	values := defaultValues(t)
	set(values, "redis.enabled", false)
	set(values, "redis.url", "redis://redis.example.internal:6379/0")
	set(values, "replicaCount", 5)
	objs, cfg := checkChart(t, values, 5, "helm (external Redis)")
	if cfg.Redis.URL != "redis://redis.example.internal:6379/0" {
		t.Errorf("helm (external Redis): redis.url %q", cfg.Redis.URL)
	}
	for _, o := range objs {
		if strings.Contains(o.name, "redis") {
			t.Errorf("helm (external Redis): %s %s rendered with redis.enabled false", o.kind, o.name)
		}
	}
	if n := count(objs, "Deployment"); n != 1 {
		t.Errorf("helm (external Redis): %d Deployments, want braid's only", n)
	}
}

func TestHelmChartNoRedisSecretEnv(t *testing.T) {
	values := defaultValues(t)
	set(values, "redis.enabled", false)
	set(values, "existingSecret", "")
	set(values, "secretEnv", map[string]any{
		"INFURA_KEY":  map[string]any{"secretName": "infura", "key": "project-id"},
		"ALCHEMY_KEY": map[string]any{"secretName": "alchemy", "key": "api-key"},
		"ANKR_KEY":    map[string]any{"secretName": "ankr", "key": "api-key"},
	})
	objs, cfg := checkChart(t, values, 3, "helm (no Redis, secretEnv)")
	if cfg.Redis.URL != "" || cfg.Cache.Backend != config.CacheMemory {
		t.Errorf("helm (no Redis): redis.url %q, cache %q; want none and memory", cfg.Redis.URL, cfg.Cache.Backend)
	}
	if r, _ := render(t, values); !strings.Contains(r.notes, "WARNING: no Redis") {
		t.Errorf("helm (no Redis): NOTES.txt does not warn that the replicas share nothing")
	}
	c := dig(find(objs, "Deployment", "test-braid"), "spec", "template", "spec", "containers", 0)
	if dig(c, "envFrom") != nil {
		t.Errorf("helm (secretEnv): envFrom set without existingSecret")
	}
	if ref := dig(c, "env", 0, "valueFrom", "secretKeyRef"); dig(ref, "name") != "alchemy" || dig(ref, "key") != "api-key" {
		t.Errorf("helm (secretEnv): first env entry %v, want ALCHEMY_KEY from Secret alchemy key api-key", dig(c, "env", 0))
	}
}

func TestHelmChartRefusesRedisInConfig(t *testing.T) {
	values := defaultValues(t)
	set(values, "config.redis", map[string]any{"url": "redis://elsewhere:6379/0"})
	if _, err := render(t, values); err == nil || !strings.Contains(err.Error(), "not under config.redis") {
		t.Errorf("render with config.redis: err = %v, want the required message", err)
	}
}
