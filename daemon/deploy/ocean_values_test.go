package deploy

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/glsync/terraform-provider-glsync/shared/config"
)

// podEnv is the environment the Deployment's container gets, with values
// from the chart's own Secret resolved as the kubelet would (a missing
// optional key leaves the variable out). Variables from other sources
// (the pod's name, another Secret) are left out.
func podEnv(t *testing.T, docs []manifest) map[string]string {
	t.Helper()
	secret := find(docs, "Secret")
	data, _ := dig(secret, "stringData").(map[string]any)
	out := map[string]string{}
	for name, e := range envOf(find(docs, "Deployment")) {
		if v, ok := e["value"]; ok {
			out[name] = v.(string)
			continue
		}
		ref := dig(e, "valueFrom", "secretKeyRef")
		if ref == nil || secret == nil || dig(ref, "name") != dig(secret, "metadata", "name") {
			continue
		}
		if v, ok := data[dig(ref, "key").(string)]; ok {
			out[name] = v.(string)
		} else if dig(ref, "optional") != true {
			t.Fatalf("%s needs key %v, which the chart's Secret lacks", name, dig(ref, "key"))
		}
	}
	return out
}

// podConfig is glsyncd's config as the pod would load it.
func podConfig(t *testing.T, docs []manifest) *config.Config {
	t.Helper()
	env := podEnv(t, docs)
	cfg, err := config.Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("the pod's environment does not load: %v", err)
	}
	return cfg
}

// oceanValues are the values Ocean gitlab-v2's documented helm install
// sets for the same purposes (port-labs/helm-charts charts/port-ocean:
// port.clientId, port.clientSecret, port.baseUrl, integration.identifier,
// integration.secrets.gitlabToken, sendRawDataExamples, and
// liveEvents.baseUrl for real-time events), given to glsync's
// chart unchanged.
var oceanValues = []string{
	"--set", "port.clientId=ocean-client",
	"--set", "port.clientSecret=ocean-secret-xyz",
	"--set", "port.baseUrl=https://api.us.getport.io",
	"--set", "integration.identifier=my-gitlab-v2",
	"--set", "integration.secrets.gitlabToken=glpat-oh1YXc54pR4eofx6hYy5",
	"--set", "sendRawDataExamples=false",
	"--set", "liveEvents.baseUrl=https://glsync.example.com",
}

// TestChartTakesOceansValues: Ocean's value names reach the pod under
// Ocean's variables, the credentials and the token through the Secret
// only, and the pod's config then writes to Port with them, as the
// Ocean deployment it replaces did.
func TestChartTakesOceansValues(t *testing.T) {
	docs := render(t, oceanValues...)
	dep := find(docs, "Deployment")
	env := envOf(dep)
	for name, key := range map[string]string{"OCEAN__PORT__CLIENT_ID": "portClientId", "OCEAN__PORT__CLIENT_SECRET": "portClientSecret", "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN": "gitlabToken"} {
		if _, inline := env[name]["value"]; inline || dig(env[name], "valueFrom", "secretKeyRef", "key") != key {
			t.Errorf("%s: %v, want it from the Secret's %s", name, env[name], key)
		}
	}
	for _, d := range docs {
		b, _ := yaml.Marshal(d)
		if d["kind"] != "Secret" && (strings.Contains(string(b), "ocean-secret-xyz") || strings.Contains(string(b), "glpat-oh1YXc54pR4eofx6hYy5")) {
			t.Errorf("a secret appears outside the Secret, in a %v", d["kind"])
		}
	}
	pe := podEnv(t, docs)
	if pe["OCEAN__PORT__BASE_URL"] != "https://api.us.getport.io" || pe["OCEAN__INTEGRATION__IDENTIFIER"] != "my-gitlab-v2" || pe["OCEAN__SEND_RAW_DATA_EXAMPLES"] != "false" {
		t.Errorf("pod env: %v", pe)
	}
	cfg := podConfig(t, docs)
	if cfg.Catalog != "port" || cfg.PortClientID != "ocean-client" || cfg.PortBaseURL != "https://api.us.getport.io" ||
		cfg.IntegrationIdentifier != "my-gitlab-v2" || cfg.SendRawDataExamples || cfg.AppHost != "https://glsync.example.com" || len(cfg.TokenMapping) != 1 || cfg.OceanVersion != "v2" || len(cfg.Warnings) != 0 {
		t.Errorf("the pod's config: catalog %s, Port %s as %s, examples %v, %d token(s), Ocean %s, warnings %q",
			cfg.Catalog, cfg.PortBaseURL, cfg.IntegrationIdentifier, cfg.SendRawDataExamples, len(cfg.TokenMapping), cfg.OceanVersion, cfg.Warnings)
	}

	// With a database, Port still: its mirror goes to PostgreSQL.
	docs = render(t, append(append([]string{}, oceanValues...), "--set", "database.enabled=true", "--set", "database.url="+dbURL,
		"--set", "integration.secrets.secretKey=q0Jp4Vq3v1cSx5zC0o2dVdl9m7t7k1yYF8aH0aP2cQs=")...)
	if cfg := podConfig(t, docs); cfg.Catalog != "port" || !cfg.UsesPostgres() || len(cfg.Warnings) != 0 {
		t.Errorf("with a database: catalog %s, postgres %v, warnings %q", cfg.Catalog, cfg.UsesPostgres(), cfg.Warnings)
	}

	// Without the credentials: the embedded catalog, as before.
	if cfg := podConfig(t, render(t, valuesWith()...)); cfg.Catalog != "embedded" {
		t.Errorf("without Port credentials: catalog %s", cfg.Catalog)
	}
}

// TestChartRefusesHalfOfOceansValues: one Port credential without the
// other, or both forms of the token or of the public URL, fails the install naming what is missing
// or doubled (and not the value), instead of a pod that writes nowhere
// useful or crash-loops.
func TestChartRefusesHalfOfOceansValues(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{valuesWith("--set", "port.clientId=ocean-client"), "port.clientId is set but port.clientSecret is not"},
		{valuesWith("--set", "port.clientSecret=ocean-secret-xyz"), "port.clientSecret is set but port.clientId is not"},
		{valuesWith("--set", "integration.secrets.gitlabToken=glpat-oh1YXc54pR4eofx6hYy5"), "set either integration.secrets.tokenMapping (Ocean v1's form) or integration.secrets.gitlabToken (v2's), not both"},
		{valuesWith("--set", "liveEvents.baseUrl=https://a.example.com", "--set", "integration.config.appHost=https://b.example.com"), "set either integration.config.appHost (Ocean gitlab's appHost) or liveEvents.baseUrl (gitlab-v2's OCEAN__BASE_URL), not both"},
		{nil, "integration.secrets.tokenMapping (Ocean v1) or integration.secrets.gitlabToken (Ocean v2) is required"},
	} {
		out := renderFails(t, c.args...)
		if !strings.Contains(out, c.want) || strings.Contains(out, "ocean-secret-xyz") {
			t.Errorf("%v: %s", c.args, out)
		}
	}
}
