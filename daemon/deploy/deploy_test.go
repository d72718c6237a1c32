package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// helm finds the helm binary: $HELM (`make chart` sets it to the helm it
// builds), then PATH, then GOPATH/bin.
func helm(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	if h, err := exec.LookPath("helm"); err == nil {
		return h
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		h := filepath.Join(strings.TrimSpace(string(out)), "bin", "helm")
		if _, err := os.Stat(h); err == nil {
			return h
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("helm is required in CI (make chart builds it and sets HELM)")
	}
	t.Skip("helm not installed; run `make chart`")
	return ""
}

type manifest = map[string]any

func render(t *testing.T, args ...string) []manifest {
	t.Helper()
	cmd := exec.Command(helm(t), append([]string{"template", "glsync", "helm/glsync"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr.String())
	}
	var docs []manifest
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var m manifest
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m != nil {
			docs = append(docs, m)
		}
	}
	return docs
}

func find(docs []manifest, kind string) manifest {
	for _, d := range docs {
		if d["kind"] == kind {
			return d
		}
	}
	return nil
}

func dig(m any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, _ := m.(map[string]any)
			m = mm[k]
		case int:
			l, _ := m.([]any)
			if k >= len(l) {
				return nil
			}
			m = l[k]
		}
	}
	return m
}

// The spec's Helm example, verbatim after shell unquoting.
const specTokenMapping = `\{"glpat-oh1YXc54pR4eofx6hYy5": ["**"]\}`

func TestChartWithTheSpecsValues(t *testing.T) {
	docs := render(t,
		"--set", "integration.secrets.tokenMapping="+specTokenMapping,
		"--set", "integration.config.appHost=https://glsync.example.com",
		"--set", "integration.config.useSystemHook=true",
		"--set", "scheduledResyncInterval=120",
		"--set", "adminToken=s3cret-admin-0123456789abcdefghijklmn")
	secret := find(docs, "Secret")
	if got := dig(secret, "stringData", "tokenMapping"); got != `{"glpat-oh1YXc54pR4eofx6hYy5": ["**"]}` {
		t.Fatalf("secret tokenMapping = %v", got)
	}
	dep := find(docs, "Deployment")
	c := dig(dep, "spec", "template", "spec", "containers", 0)
	env := map[string]any{}
	for _, e := range dig(c, "env").([]any) {
		em := e.(map[string]any)
		if v, ok := em["value"]; ok {
			env[em["name"].(string)] = v
		} else {
			env[em["name"].(string)] = dig(em, "valueFrom", "secretKeyRef", "key")
		}
	}
	want := map[string]any{
		"OCEAN__INTEGRATION__CONFIG__TOKEN_MAPPING":   "tokenMapping", // from the Secret, never inline
		"OCEAN__INTEGRATION__CONFIG__APP_HOST":        "https://glsync.example.com",
		"OCEAN__INTEGRATION__CONFIG__USE_SYSTEM_HOOK": "true",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST":     "https://gitlab.com",
		"OCEAN__SCHEDULED_RESYNC_INTERVAL":            "120",
		"GLSYNC_ADMIN_TOKEN":                          "adminToken",
		"GLSYNC_DATA_DIR":                             "/data",
		"GLSYNC_ADMIN_LISTEN":                         ":8001",
		"GLSYNC_METRICS_LISTEN":                       ":9090",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %v, want %v", k, env[k], v)
		}
	}
	if dig(c, "livenessProbe", "httpGet", "path") != "/healthz" || dig(c, "readinessProbe", "httpGet", "path") != "/readyz" ||
		dig(c, "readinessProbe", "httpGet", "port") != "metrics" {
		t.Error("probes must use /healthz and /readyz on the metrics port")
	}
	if find(docs, "NetworkPolicy") != nil {
		t.Error("no NetworkPolicy unless asked for")
	}
	if dig(dep, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Error("the pod must run as non-root")
	}
	if find(docs, "PersistentVolumeClaim") == nil || dig(dep, "spec", "strategy", "type") != "Recreate" {
		t.Error("the embedded catalog needs a PVC and the Recreate strategy")
	}
	for _, d := range docs {
		b, _ := yaml.Marshal(d)
		if d["kind"] != "Secret" && strings.Contains(string(b), "glpat-oh1YXc54pR4eofx6hYy5") {
			t.Errorf("the token appears outside the Secret, in a %v", d["kind"])
		}
	}
}

func TestChartRequiresATokenMapping(t *testing.T) {
	cmd := exec.Command(helm(t), "template", "glsync", "helm/glsync")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "integration.secrets.tokenMapping (Ocean v1) or integration.secrets.gitlabToken (Ocean v2) is required") {
		t.Fatalf("want a clear error, got %v\n%s", err, out)
	}
	docs := render(t, "--set", "integration.existingSecret=my-glsync")
	dep := find(docs, "Deployment")
	if find(docs, "Secret") != nil {
		t.Fatal("no Secret should be rendered with existingSecret")
	}
	env := dig(dep, "spec", "template", "spec", "containers", 0, "env").([]any)
	for _, e := range env {
		em := e.(map[string]any)
		if em["name"] == "OCEAN__INTEGRATION__CONFIG__TOKEN_MAPPING" && dig(em, "valueFrom", "secretKeyRef", "name") != "my-glsync" {
			t.Fatalf("token mapping from %v", dig(em, "valueFrom", "secretKeyRef", "name"))
		}
	}
}

// TestChartRefusesShortAdminToken: a short adminToken guards the admin
// API (token mappings, hook secrets) with a guessable secret; the chart
// refuses one under 32 characters, saying how to generate one, without
// printing it.
func TestChartRefusesShortAdminToken(t *testing.T) {
	const short = "t0ken-for-admin"
	out := renderFails(t, "--set", "integration.secrets.tokenMapping="+specTokenMapping, "--set", "adminToken="+short)
	if !strings.Contains(out, "adminToken (GLSYNC_ADMIN_TOKEN) must be at least 32 characters, got 15") || !strings.Contains(out, "openssl rand -base64 32") {
		t.Fatalf("%s", out)
	}
	if strings.Contains(out, short) {
		t.Fatalf("the token is printed: %s", out)
	}
	for _, v := range []string{"", "x8Vn3Qw7Lr2Kt9Yb5Hm1Pz6Jc4Fd0Sg3"} {
		if find(render(t, "--set", "integration.secrets.tokenMapping="+specTokenMapping, "--set", "adminToken="+v), "Deployment") == nil {
			t.Fatalf("adminToken of %d characters refused", len(v))
		}
	}
}

// renderFails runs helm template expecting it to refuse the values, and
// returns helm's output (the fail message).
func renderFails(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(helm(t), append([]string{"template", "glsync", "helm/glsync"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("helm template %v rendered; want a failure\n%s", args, out)
	}
	return string(out)
}

// envOf indexes the Deployment's container env by name.
func envOf(dep manifest) map[string]map[string]any {
	env := map[string]map[string]any{}
	l, _ := dig(dep, "spec", "template", "spec", "containers", 0, "env").([]any)
	for _, e := range l {
		em := e.(map[string]any)
		env[em["name"].(string)] = em
	}
	return env
}

// volume returns the pod volume named name.
func volume(dep manifest, name string) map[string]any {
	l, _ := dig(dep, "spec", "template", "spec", "volumes").([]any)
	for _, v := range l {
		if vm := v.(map[string]any); vm["name"] == name {
			return vm
		}
	}
	return nil
}

var withToken = []string{"--set", "integration.secrets.tokenMapping=" + specTokenMapping,
	"--set", "integration.secrets.secretKey=q0Jp4Vq3v1cSx5zC0o2dVdl9m7t7k1yYF8aH0aP2cQs="}

// valuesWith is the token mapping every render needs, then extra.
func valuesWith(extra ...string) []string { return append(append([]string{}, withToken...), extra...) }

const dbURL = "postgres://u:p@db:5432/glsync"

var postgresArgs = valuesWith("--set", "replicaCount=3", "--set", "database.enabled=true", "--set", "database.url="+dbURL)

func TestChartDefaultsToOneReplicaOnSQLite(t *testing.T) {
	docs := render(t, valuesWith()...)
	dep := find(docs, "Deployment")
	if got := dig(dep, "spec", "replicas"); got != 1 {
		t.Errorf("replicas = %v, want 1", got)
	}
	if got := dig(dep, "spec", "strategy", "type"); got != "Recreate" {
		t.Errorf("strategy = %v, want Recreate: one pod holds the SQLite file", got)
	}
	if find(docs, "PodDisruptionBudget") != nil {
		t.Error("no PodDisruptionBudget for a single replica")
	}
	pvc := find(docs, "PersistentVolumeClaim")
	if pvc == nil {
		t.Fatal("the embedded catalog needs a PVC")
	}
	if got := dig(volume(dep, "data"), "persistentVolumeClaim", "claimName"); got != dig(pvc, "metadata", "name") {
		t.Errorf("data volume claims %v, want the chart's PVC %v", got, dig(pvc, "metadata", "name"))
	}
	if got := dig(dep, "spec", "template", "spec", "containers", 0, "volumeMounts", 0); dig(got, "name") != "data" || dig(got, "mountPath") != "/data" {
		t.Errorf("first volume mount = %v, want data on /data", got)
	}
	env := envOf(dep)
	if got := dig(env["GLSYNC_REPLICA_NAME"], "valueFrom", "fieldRef", "fieldPath"); got != "metadata.name" {
		t.Errorf("GLSYNC_REPLICA_NAME from %v, want the pod name", got)
	}
	for _, k := range []string{"GLSYNC_CATALOG", "GLSYNC_DATABASE_URL"} {
		if env[k] != nil {
			t.Errorf("%s set without a database: %v", k, env[k])
		}
	}
	if _, ok := dig(find(docs, "Secret"), "stringData").(map[string]any)["databaseUrl"]; ok {
		t.Error("no databaseUrl in the Secret without a database")
	}
}

func TestChartRunsReplicasOnPostgres(t *testing.T) {
	docs := render(t, postgresArgs...)
	dep := find(docs, "Deployment")
	if got := dig(dep, "spec", "replicas"); got != 3 {
		t.Errorf("replicas = %v, want 3", got)
	}
	if got := dig(dep, "spec", "strategy", "type"); got != "RollingUpdate" {
		t.Errorf("strategy = %v, want RollingUpdate", got)
	}
	pdb := find(docs, "PodDisruptionBudget")
	if pdb == nil {
		t.Fatal("want a PodDisruptionBudget with 3 replicas")
	}
	if pdb["apiVersion"] != "policy/v1" || dig(pdb, "spec", "maxUnavailable") != 1 {
		t.Errorf("pdb = %v %v, want policy/v1, maxUnavailable 1", pdb["apiVersion"], dig(pdb, "spec"))
	}
	sel := dig(pdb, "spec", "selector", "matchLabels").(map[string]any)
	if !reflect.DeepEqual(sel, dig(dep, "spec", "selector", "matchLabels")) {
		t.Errorf("pdb selects %v, the Deployment %v", sel, dig(dep, "spec", "selector", "matchLabels"))
	}
	podLabels := dig(dep, "spec", "template", "metadata", "labels").(map[string]any)
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("pdb label %s=%v not on the pods (%v)", k, v, podLabels)
		}
	}

	env := envOf(dep)
	// No GLSYNC_CATALOG: the URL alone means postgres to glsyncd's config
	// (and with Port credentials, Port with its mirror there).
	if env["GLSYNC_CATALOG"] != nil {
		t.Errorf("GLSYNC_CATALOG = %v, want it unset", env["GLSYNC_CATALOG"])
	}
	if cfg := podConfig(t, docs); cfg.Catalog != "postgres" || cfg.DatabaseURL != dbURL {
		t.Errorf("the pod's config: catalog %s, database %v", cfg.Catalog, cfg.DatabaseURL != "")
	}
	url := env["GLSYNC_DATABASE_URL"]
	if _, inline := url["value"]; inline {
		t.Errorf("GLSYNC_DATABASE_URL inline: %v", url)
	}
	secret := find(docs, "Secret")
	if dig(url, "valueFrom", "secretKeyRef", "name") != dig(secret, "metadata", "name") || dig(url, "valueFrom", "secretKeyRef", "key") != "databaseUrl" {
		t.Errorf("GLSYNC_DATABASE_URL from %v, want the chart's Secret, key databaseUrl", dig(url, "valueFrom"))
	}
	if got := dig(secret, "stringData", "databaseUrl"); got != dbURL {
		t.Errorf("secret databaseUrl = %v", got)
	}
	if got := dig(env["GLSYNC_REPLICA_NAME"], "valueFrom", "fieldRef", "fieldPath"); got != "metadata.name" {
		t.Errorf("GLSYNC_REPLICA_NAME from %v, want the pod name", got)
	}

	if find(docs, "PersistentVolumeClaim") != nil {
		t.Error("no PVC with a database")
	}
	for _, v := range dig(dep, "spec", "template", "spec", "volumes").([]any) {
		if dig(v, "persistentVolumeClaim") != nil {
			t.Errorf("a PVC is mounted with a database: %v", v)
		}
	}
	for _, d := range docs {
		b, _ := yaml.Marshal(d)
		if d["kind"] != "Secret" && strings.Contains(string(b), "u:p@db") {
			t.Errorf("the database URL appears outside the Secret, in a %v", d["kind"])
		}
	}

	// One replica on PostgreSQL rolls, but needs no budget.
	docs = render(t, valuesWith("--set", "database.enabled=true", "--set", "database.url="+dbURL)...)
	if find(docs, "PodDisruptionBudget") != nil || dig(find(docs, "Deployment"), "spec", "strategy", "type") != "RollingUpdate" {
		t.Error("one replica on PostgreSQL: RollingUpdate and no PodDisruptionBudget")
	}
	docs = render(t, append(postgresArgs, "--set", "podDisruptionBudget.maxUnavailable=2")...)
	if got := dig(find(docs, "PodDisruptionBudget"), "spec", "maxUnavailable"); got != 2 {
		t.Errorf("podDisruptionBudget.maxUnavailable=2 rendered %v", got)
	}
	docs = render(t, append(postgresArgs, "--set", "podDisruptionBudget.enabled=false")...)
	if find(docs, "PodDisruptionBudget") != nil {
		t.Error("podDisruptionBudget.enabled=false still renders one")
	}
}

func TestChartTakesTheDatabaseURLFromAnExistingSecret(t *testing.T) {
	docs := render(t, valuesWith("--set", "replicaCount=2", "--set", "database.enabled=true",
		"--set", "database.existingSecret=my-db", "--set", "database.existingSecretKey=url",
		"--set", "database.url=postgres://ignored@db/x")...)
	url := envOf(find(docs, "Deployment"))["GLSYNC_DATABASE_URL"]
	if dig(url, "valueFrom", "secretKeyRef", "name") != "my-db" || dig(url, "valueFrom", "secretKeyRef", "key") != "url" {
		t.Errorf("GLSYNC_DATABASE_URL from %v, want my-db key url", dig(url, "valueFrom"))
	}
	if _, ok := dig(find(docs, "Secret"), "stringData").(map[string]any)["databaseUrl"]; ok {
		t.Error("the chart's Secret holds a databaseUrl though database.existingSecret is set")
	}
	if find(docs, "PodDisruptionBudget") == nil || find(docs, "PersistentVolumeClaim") != nil {
		t.Error("want a PodDisruptionBudget and no PVC")
	}

	// The integration's Secret is the user's, the URL given inline: the
	// chart's Secret holds only the URL.
	docs = render(t, "--set", "integration.existingSecret=my-glsync",
		"--set", "database.enabled=true", "--set", "database.url="+dbURL)
	secret := find(docs, "Secret")
	if got := dig(secret, "stringData"); !reflect.DeepEqual(got, map[string]any{"databaseUrl": dbURL}) {
		t.Errorf("chart Secret stringData = %v, want only databaseUrl", got)
	}
	env := envOf(find(docs, "Deployment"))
	if got := dig(env["GLSYNC_DATABASE_URL"], "valueFrom", "secretKeyRef", "name"); got != dig(secret, "metadata", "name") {
		t.Errorf("GLSYNC_DATABASE_URL from %v", got)
	}
	if got := dig(env["OCEAN__INTEGRATION__CONFIG__TOKEN_MAPPING"], "valueFrom", "secretKeyRef", "name"); got != "my-glsync" {
		t.Errorf("token mapping from %v, want my-glsync", got)
	}
}

func TestChartRefusesReplicasWithoutADatabase(t *testing.T) {
	for _, extra := range [][]string{
		{"--set", "replicaCount=2"},
		{"--set", "replicaCount=2", "--set", "persistence.enabled=false"},
		{"--set", "replicaCount=2", "--set", "database.url=" + dbURL}, // not enabled
	} {
		out := renderFails(t, valuesWith(extra...)...)
		for _, want := range []string{
			"replicaCount=2 needs a database",
			"the embedded SQLite catalog (and the Port catalog's local mirror) lives on one volume for one process",
			"set database.enabled=true with database.url or database.existingSecret",
		} {
			if !strings.Contains(strings.ToLower(out), strings.ToLower(want)) {
				t.Errorf("%v: message lacks %q:\n%s", extra, want, out)
			}
		}
	}
	out := renderFails(t, valuesWith("--set", "replicaCount=2", "--set", "database.enabled=true")...)
	if !strings.Contains(out, "database.enabled=true needs database.url (a postgres:// URL) or database.existingSecret") {
		t.Errorf("database.enabled without a URL: %s", out)
	}
	out = renderFails(t, valuesWith("--set", "database.enabled=true")...)
	if !strings.Contains(out, "database.enabled=true needs database.url") {
		t.Errorf("database.enabled without a URL: %s", out)
	}
}

// networkPolicy.enabled admits deliveries from anywhere, metrics from
// metricsFrom, and the admin API only from its labelled clients.
func TestChartNetworkPolicy(t *testing.T) {
	docs := render(t, "--set", "integration.secrets.tokenMapping="+specTokenMapping, "--set", "networkPolicy.enabled=true",
		"--set", "admin.listen=127.0.0.1:8001")
	np := find(docs, "NetworkPolicy")
	if np == nil {
		t.Fatal("no NetworkPolicy")
	}
	rules := dig(np, "spec", "ingress").([]any)
	if len(rules) != 3 || dig(rules[0].(map[string]any), "from") != nil {
		t.Fatalf("ingress %v", rules)
	}
	admin := rules[2].(map[string]any)
	if dig(admin, "ports", 0, "port") != 8001 || dig(admin, "from", 0, "podSelector", "matchLabels", "glsync-admin-client") != "true" {
		t.Fatalf("admin rule %v", admin)
	}
	if envOf(find(docs, "Deployment"))["GLSYNC_ADMIN_LISTEN"]["value"] != "127.0.0.1:8001" {
		t.Fatal("admin.listen not applied")
	}
}

// With a database, the replicas must share the secret key that seals the
// hook secrets and token mappings: the chart refuses to go without it.
func TestChartWantsASecretKeyWithADatabase(t *testing.T) {
	out := renderFails(t, "--set", "integration.secrets.tokenMapping="+specTokenMapping, "--set", "database.enabled=true", "--set", "database.url="+dbURL)
	if !strings.Contains(out, "needs integration.secrets.secretKey") {
		t.Fatalf("%s", out)
	}
	docs := render(t, postgresArgs...)
	if envOf(find(docs, "Deployment"))["GLSYNC_SECRET_KEY"] == nil || dig(find(docs, "Secret"), "stringData", "secretKey") == nil {
		t.Fatal("GLSYNC_SECRET_KEY not passed from the Secret")
	}
}

// Replicas on PostgreSQL with appHost (hooks) and no secretKey used to
// pass /readyz and then fail every hook they created. The chart refuses
// such values however PostgreSQL is chosen (database.enabled, or
// GLSYNC_CATALOG / GLSYNC_DATABASE_URL through extraEnv), naming the value
// and its variable; a key or a webhookSecret from values or extraEnv, or
// an integration.existingSecret (read from the cluster when Helm can; the
// daemon refuses to start without the key otherwise), satisfies it.
func TestChartRefusesPostgresHooksWithoutSecretKey(t *testing.T) {
	tm := []string{"--set", "integration.secrets.tokenMapping=" + specTokenMapping, "--set", "integration.config.appHost=https://glsync.example.com"}
	with := func(extra ...string) []string { return append(append([]string{}, tm...), extra...) }
	db := []string{"--set", "database.enabled=true", "--set", "database.url=" + dbURL, "--set", "replicaCount=3"}
	viaEnv := []string{"--set", "extraEnv[0].name=GLSYNC_CATALOG", "--set", "extraEnv[0].value=postgres",
		"--set", "extraEnv[1].name=GLSYNC_DATABASE_URL", "--set", "extraEnv[1].valueFrom.secretKeyRef.name=my-db", "--set", "extraEnv[1].valueFrom.secretKeyRef.key=url"}
	for name, args := range map[string][]string{
		"database.enabled":           with(db...),
		"GLSYNC_CATALOG in extraEnv": with(viaEnv...),
		"GLSYNC_DATABASE_URL alone":  with("--set", "extraEnv[0].name=GLSYNC_DATABASE_URL", "--set", "extraEnv[0].value="+dbURL),
	} {
		out := renderFails(t, args...)
		if !strings.Contains(out, "needs integration.secrets.secretKey (GLSYNC_SECRET_KEY") {
			t.Errorf("%s: %s", name, out)
		}
	}
	for name, args := range map[string][]string{
		"secretKey":                 with(append(db, "--set", "integration.secrets.secretKey=q0Jp4Vq3v1cSx5zC0o2dVdl9m7t7k1yYF8aH0aP2cQs=")...),
		"webhookSecret":             with(append(db, "--set", "integration.secrets.webhookSecret=replicas-share-this-secret")...),
		"GLSYNC_SECRET_KEY in env":  with(append(viaEnv, "--set", "extraEnv[2].name=GLSYNC_SECRET_KEY", "--set", "extraEnv[2].valueFrom.secretKeyRef.name=my-key", "--set", "extraEnv[2].valueFrom.secretKeyRef.key=k")...),
		"existingSecret (offline)":  with(append(db, "--set", "integration.existingSecret=my-glsync")...),
		"no database: the key file": with(),
	} {
		if dep := find(render(t, args...), "Deployment"); dep == nil {
			t.Errorf("%s: no Deployment", name)
		}
	}
}
