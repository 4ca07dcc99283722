package deploy_test

import (
	"bufio"
	"bytes"
	"net"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
)

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
	if !regexp.MustCompile(`(?m)^maxmemory-policy volatile-lru$`).MatchString(redis) {
		t.Errorf("systemd/redis-braid.conf: no line \"maxmemory-policy volatile-lru\": allkeys-lru could evict the API keys of auth.store: redis, the one braid entry without a TTL")
	}
	haproxy := string(read(t, "systemd/haproxy-braid.cfg"))
	if !strings.Contains(haproxy, "http-check send meth GET uri /readyz") {
		t.Errorf("systemd/haproxy-braid.cfg does not check GET /readyz")
	}
	if _, port, _ := net.SplitHostPort(replica["BRAID_LISTEN"]); !strings.Contains(haproxy, "127.0.0.1:"+port) {
		t.Errorf("systemd/haproxy-braid.cfg has no server at replica.env.example's port %s", port)
	}
}
