package deploy_test

import (
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
)

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
