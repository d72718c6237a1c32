package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// helm finds the helm binary: $HELM, then PATH, then GOPATH/bin (where
// `make tools` installs it).
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
		t.Fatal("helm is required in CI (make tools installs it)")
	}
	t.Skip("helm not installed; run `make tools`")
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
		"--set", "adminToken=s3cret-admin")
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
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %v, want %v", k, env[k], v)
		}
	}
	if dig(c, "livenessProbe", "httpGet", "path") != "/healthz" || dig(c, "readinessProbe", "httpGet", "path") != "/readyz" {
		t.Error("probes must use /healthz and /readyz")
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
	if err == nil || !strings.Contains(string(out), "integration.secrets.tokenMapping is required") {
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
