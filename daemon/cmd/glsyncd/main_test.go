package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, func(k string) string { return env[k] })
	return result{code, out.String(), errb.String()}
}

func sim(t *testing.T) (*gitlabtest.Server, gitlabtest.Org, string) {
	t.Helper()
	s := gitlabtest.New(gitlabtest.Options{Seed: 5})
	org := s.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 150, Depth: 3, Seed: 5})
	ts := s.Start(t)
	return s, org, ts.URL
}

func assertNoToken(t *testing.T, org gitlabtest.Org, r result) {
	t.Helper()
	for _, tok := range append(append([]string{}, org.RootTokens...), org.AdminToken) {
		if strings.Contains(r.stdout, tok) || strings.Contains(r.stderr, tok) {
			t.Fatal("a token appears in the output")
		}
	}
}

func TestResyncFromOceanEnvironment(t *testing.T) {
	_, org, url := sim(t)
	dir := t.TempDir()
	env := map[string]string{
		config.EnvTokenMapping: `{"` + org.RootTokens[0] + `": ["**"], "` + org.RootTokens[1] + `": ["**/DevopsTeam/*Service"]}`,
		config.EnvGitLabHost:   url,
		envDataDir:             dir,
	}
	r := runCLI(t, env, "resync")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	assertNoToken(t, org, r)
	if !strings.Contains(r.stdout, "resync 1 ok") || !strings.Contains(r.stderr, "resync of kind done") {
		t.Fatalf("summary or progress missing:\n%s\n%s", r.stdout, r.stderr)
	}
	r = runCLI(t, env, "catalog", "list", "--blueprint", "service", "--output", "json")
	if r.code != 0 {
		t.Fatalf("list exit %d: %s", r.code, r.stderr)
	}
	var ents []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &ents); err != nil || len(ents) == 0 {
		t.Fatalf("json list: %v (%d entities)", err, len(ents))
	}
	for _, k := range []string{"blueprint", "identifier", "title", "properties", "relations"} {
		if _, ok := ents[0][k]; !ok {
			t.Fatalf("entity lacks %q: %v", k, ents[0])
		}
	}
	// A second resync changes nothing.
	r = runCLI(t, env, "resync")
	if r.code != 0 || !strings.Contains(r.stdout, "resync 2 ok") {
		t.Fatalf("second resync: %d %s", r.code, r.stdout)
	}
}

func TestResyncFailureExitCode(t *testing.T) {
	s, org, url := sim(t)
	s.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects": 500}})
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := writeConfig(cfg, url, demoMapping(org)); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, map[string]string{config.EnvTokenMapping: "", "GLSYNC_MAX_RETRIES": "1"}, "resync", "--config", cfg, "--data-dir", t.TempDir())
	if r.code != exitFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", r.code, exitFailed, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "FAILED") || !strings.Contains(r.stderr, "kind project") || !strings.Contains(r.stderr, "500") {
		t.Fatalf("failure not reported:\n%s\n%s", r.stdout, r.stderr)
	}
	assertNoToken(t, org, r)
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("tokenMapping:\n  glpat-QXbeg-Ev9xtu5_5FsaAQ: ['**/DevopsTeam/*Service']\nappHost: https://glsync.example.com\n"), 0o600)
	r := runCLI(t, nil, "validate", "--config", good)
	if r.code != 0 || !strings.Contains(r.stdout, "glpat-QX…: **/DevopsTeam/*Service") || strings.Contains(r.stdout, "glpat-QXbeg") {
		t.Fatalf("validate good: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("tokenMapping:\n  glpat-QXbeg-Ev9xtu5_5FsaAQ: []\n"), 0o600)
	r = runCLI(t, nil, "validate", "--config", bad)
	if r.code != exitUsage || !strings.Contains(r.stderr, "config: tokenMapping: token glpat-QX…: the pattern list is empty") {
		t.Fatalf("validate bad: %d\n%s", r.code, r.stderr)
	}
	badMap := filepath.Join(dir, "mapping.yaml")
	os.WriteFile(badMap, []byte("resources:\n  - kind: project\n    port: {entity: {mappings: {identifier: '.id |', blueprint: '\"s\"'}}}\n"), 0o600)
	r = runCLI(t, map[string]string{envMapping: badMap}, "validate", "--config", good)
	if r.code != exitUsage || !strings.Contains(r.stderr, `resources[0] (kind project): port.entity.mappings.identifier: expression ".id |"`) {
		t.Fatalf("validate bad mapping: %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, nil, "catalog", "list", "--output", "xml", "--data-dir", dir)
	if r.code != exitUsage || !strings.Contains(r.stderr, `--output: "xml" is not json or table`) {
		t.Fatalf("bad output flag: %d %s", r.code, r.stderr)
	}
}

// TestShortAdminTokenRefusedAtStart: `validate` and `run` refuse an
// adminToken shorter than 32 characters (guessable, and it guards the
// admin API's token mappings and hook secrets) before anything starts:
// exit 2, naming the setting, its variable and how to generate one,
// never printing the value.
func TestShortAdminTokenRefusedAtStart(t *testing.T) {
	const short = "t0ken-for-admin" // the tests' former token: 15 characters
	dir := t.TempDir()
	cfg := filepath.Join(dir, "short.yaml")
	os.WriteFile(cfg, []byte("tokenMapping:\n  glpat-QXbeg-Ev9xtu5_5FsaAQ: ['**']\nadminToken: "+short+"\n"), 0o600)
	noToken := filepath.Join(dir, "none.yaml")
	os.WriteFile(noToken, []byte("tokenMapping:\n  glpat-QXbeg-Ev9xtu5_5FsaAQ: ['**']\n"), 0o600)
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"validate, file", nil, []string{"validate", "--config", cfg}},
		{"run, file", map[string]string{envDataDir: dir}, []string{"run", "--config", cfg, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}},
		{"run, environment", map[string]string{envDataDir: dir, config.EnvAdminToken: short}, []string{"run", "--config", noToken, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, c.env, c.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, exitUsage, r.stdout, r.stderr)
			}
			for _, want := range []string{"adminToken", config.EnvAdminToken, "at least 32 characters", "openssl rand -base64 32"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
				}
			}
			if strings.Contains(r.stdout+r.stderr, short) {
				t.Errorf("the token is printed:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, nil, "demo", "--projects", "200", "--data-dir", dir)
	if r.code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "catalog in "+dir) || !strings.Contains(r.stdout, "resync 1 ok") || !strings.Contains(r.stdout, "catalog list --data-dir") ||
		!strings.Contains(r.stdout, "group hooks in GitLab") || !strings.Contains(r.stdout, "service entity created in") ||
		!strings.Contains(r.stdout, "entity removed") {
		t.Fatalf("demo output:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, "glpat-") && !strings.Contains(r.stdout, "…") {
		t.Fatal("demo prints tokens unmasked")
	}
	fi, err := os.Stat(filepath.Join(dir, "config.yaml"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file must be private: %v %v", err, fi.Mode())
	}
}

func TestWriteConfigKeepsTokenOrder(t *testing.T) {
	_, org, url := sim(t)
	m := demoMapping(org)
	// Reverse so the order differs from any sorted order.
	m[0], m[1] = m[1], m[0]
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := writeConfig(p, url, m); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(p, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		if c.TokenMapping[i].Token != m[i].Token || strings.Join(c.TokenMapping[i].Patterns, ",") != strings.Join(m[i].Patterns, ",") {
			t.Fatalf("entry %d differs after a round trip", i)
		}
	}
}

func TestResyncIntoPortWithOceanEnvironment(t *testing.T) {
	_, org, url := sim(t)
	ps := porttest.New("ocean-client", "ocean-secret-xyz")
	pts := ps.Start(t)
	env := map[string]string{
		config.EnvTokenMapping:     `{"` + org.RootTokens[0] + `": ["**"]}`,
		config.EnvGitLabHost:       url,
		envDataDir:                 t.TempDir(),
		config.EnvCatalog:          "port",
		config.EnvPortClientID:     "ocean-client",
		config.EnvPortClientSecret: "ocean-secret-xyz",
		config.EnvPortBaseURL:      pts.URL,
		config.EnvIntegrationID:    "gitlab-prod",
	}
	r := runCLI(t, env, "resync")
	if r.code != 0 || !strings.Contains(r.stdout, "Port: ") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "ocean-secret-xyz") {
		t.Fatal("the Port secret is printed")
	}
	n := 0
	for _, e := range ps.Entities() {
		if e.Blueprint == "service" {
			n++
		}
	}
	if n == 0 || ps.Integration()["installationId"] != "gitlab-prod" {
		t.Fatalf("%d services in Port, integration %v", n, ps.Integration())
	}
	// Wrong credentials: a clear failure.
	env[config.EnvPortClientSecret] = "wrong"
	r = runCLI(t, env, "resync")
	if r.code != exitFailed || !strings.Contains(r.stderr, "check portClientId and portClientSecret") {
		t.Fatalf("bad credentials: %d %s", r.code, r.stderr)
	}
}

func TestMappingInitAndTest(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "mapping.yml")
	if r := runCLI(t, nil, "mapping", "init", "--output", out); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "mapping", "init", "--output", out); r.code != exitUsage || !strings.Contains(r.stderr, "use --force") {
		t.Fatalf("init over an existing file: %d %s", r.code, r.stderr)
	}
	r := runCLI(t, nil, "mapping", "test", "--kind", "project", "--mapping", out, "--input", "testdata/project.json")
	if r.code != 0 || !strings.Contains(r.stdout, `"identifier": "acme/DevopsTeam/PaymentService"`) || !strings.Contains(r.stdout, `"blueprint": "service"`) {
		t.Fatalf("test: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte("resources:\n  - kind: project\n    port: {entity: {mappings: {identifier: .id, blueprint: '\"s\"'}}}\n"), 0o600)
	r = runCLI(t, nil, "mapping", "test", "--kind", "project", "--mapping", bad, "--input", "testdata/project.json")
	if r.code != exitFailed || !strings.Contains(r.stderr, `resources[0] (kind project): port.entity.mappings.identifier: expression ".id": must return a string, got number`) {
		t.Fatalf("jq error: %d %s", r.code, r.stderr)
	}
	// From the raw examples a resync kept.
	_, org, url := sim(t)
	data := t.TempDir()
	env := map[string]string{config.EnvTokenMapping: `{"` + org.RootTokens[0] + `": ["**"]}`, config.EnvGitLabHost: url, envDataDir: data}
	if r := runCLI(t, env, "resync"); r.code != 0 {
		t.Fatalf("resync: %s", r.stderr)
	}
	r = runCLI(t, env, "mapping", "test", "--kind", "group", "--from-examples")
	if r.code != 0 || strings.Count(r.stdout, `"blueprint": "gitlabGroup"`) == 0 {
		t.Fatalf("from examples: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestOceanDefaultMappings: a user switching over writes Ocean's default
// mapping (mapping init --ocean), and validate and resync run it with
// zero errors, v1's with a tokenMapping deployment and v2's with a
// gitlabToken one.
func TestOceanDefaultMappings(t *testing.T) {
	_, org, url := sim(t)
	for _, tc := range []struct {
		gen string
		env map[string]string
	}{
		{"v1", map[string]string{config.EnvTokenMapping: `{"` + org.RootTokens[0] + `": ["**"]}`}},
		{"v2", map[string]string{config.EnvGitLabToken: org.RootTokens[1]}},
	} {
		t.Run(tc.gen, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "port-app-config.yml")
			if r := runCLI(t, nil, "mapping", "init", "--ocean", tc.gen, "--output", file); r.code != 0 {
				t.Fatalf("init: %d %s", r.code, r.stderr)
			}
			tc.env[config.EnvGitLabHost] = url
			tc.env[envMapping] = file
			tc.env[envDataDir] = dir
			r := runCLI(t, tc.env, "validate")
			if r.code != 0 || !strings.Contains(r.stdout, "Ocean "+tc.gen+" defaults") {
				t.Fatalf("validate: %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			if tc.gen == "v1" && !strings.Contains(r.stdout, "warning: resources[0] (kind project): port.entity.mappings.properties.readme: DEPRECATION: Using 'file://' prefix") {
				t.Fatalf("validate does not show the deprecation:\n%s", r.stdout)
			}
			r = runCLI(t, tc.env, "resync")
			if r.code != 0 || strings.Contains(r.stderr, "level=ERROR") {
				t.Fatalf("resync: %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			assertNoToken(t, org, r)
			r = runCLI(t, tc.env, "catalog", "list", "--blueprint", "service", "--output", "json")
			var ents []struct{ Properties map[string]any }
			if err := json.Unmarshal([]byte(r.stdout), &ents); err != nil || len(ents) == 0 {
				t.Fatalf("services: %v %d\n%s", err, len(ents), r.stderr)
			}
			readme, _ := ents[0].Properties["readme"].(string)
			if !strings.HasPrefix(readme, "# ") {
				t.Fatalf("readme not read from the repository: %q", readme)
			}
		})
	}
	if r := runCLI(t, nil, "mapping", "init", "--ocean", "v3"); r.code != exitUsage || !strings.Contains(r.stderr, "--ocean: must be v1") {
		t.Fatalf("bad --ocean: %d %s", r.code, r.stderr)
	}
}

// TestMappingTestOnOceanExamples: the all-kinds mapping maps Ocean's own
// raw examples of the skill and plugin kinds (testdata/ocean-examples,
// copied from integrations/gitlab-v2/.port/examples).
func TestMappingTestOnOceanExamples(t *testing.T) {
	for _, tc := range []struct{ kind, want string }{
		{"skill", `"identifier": "acme/example-skills:skills/hello-skill/SKILL.md"`},
		{"plugin", `"version": "6.1.1"`},
	} {
		r := runCLI(t, nil, "mapping", "test", "--kind", tc.kind, "--mapping", "../../../shared/mapping/all-kinds.yml", "--input", "testdata/ocean-examples/"+tc.kind+".json")
		if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
			t.Fatalf("%s: %d\n%s\n%s", tc.kind, r.code, r.stdout, r.stderr)
		}
	}
	r := runCLI(t, nil, "mapping", "test", "--kind", "plugin", "--mapping", "../../../shared/mapping/all-kinds.yml", "--input", "testdata/ocean-examples/plugin.json")
	if !strings.Contains(r.stdout, `"claude"`) || !strings.Contains(r.stdout, `"opencode"`) || !strings.Contains(r.stdout, `"title": "Superpowers"`) {
		t.Fatalf("plugin providers: %s", r.stdout)
	}
}

// TestOceanV2Deployment: a deployment in Ocean v2's form (the token and
// the base URL, nothing else but the GitLab host) syncs and plans its
// hooks; so does Ocean's hosted form, an OAuth token in a file.
func TestOceanV2Deployment(t *testing.T) {
	s, org, url := sim(t)
	env := map[string]string{config.EnvGitLabToken: org.RootTokens[0], config.EnvBaseURL: "https://glsync.example.com", config.EnvGitLabHost: url, envDataDir: t.TempDir()}
	if r := runCLI(t, env, "resync"); r.code != 0 || !strings.Contains(r.stdout, "resync 1 ok") {
		t.Fatalf("resync: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, env, "hooks", "plan"); r.code != 0 || !strings.Contains(r.stdout, "https://glsync.example.com/integration/hook/") {
		t.Fatalf("hooks plan: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	oauth := "oauth-2-access-token-for-tests"
	s.AddToken(gitlabtest.Token{Value: oauth, Kind: gitlabtest.GroupAccessToken, GroupID: org.Roots[1].ID, OAuth: true})
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte(oauth+"\n"), 0o600)
	env = map[string]string{config.EnvOAuthTokenFile: file, config.EnvGitLabHost: url, envDataDir: t.TempDir()}
	r := runCLI(t, env, "resync")
	if r.code != 0 || !strings.Contains(r.stdout, "resync 1 ok") || strings.Contains(r.stdout+r.stderr, oauth) {
		t.Fatalf("OAuth token file: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
