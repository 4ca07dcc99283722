package deploy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
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
