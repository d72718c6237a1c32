package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// oceanEnv is exactly what an Ocean deployment of the GitLab
// integration sets (Ocean's names, no GLSYNC_* variable): Port's
// credentials, URL and the identifier, and the token mapping and host.
func oceanEnv(token, gitlabURL, portURL string) map[string]string {
	return map[string]string{
		"OCEAN__PORT__CLIENT_ID":                      "ocean-client",
		"OCEAN__PORT__CLIENT_SECRET":                  "ocean-secret-xyz",
		"OCEAN__PORT__BASE_URL":                       portURL,
		"OCEAN__INTEGRATION__IDENTIFIER":              "gitlab-prod",
		"OCEAN__INTEGRATION__CONFIG__TOKEN_MAPPING":   `{"` + token + `": ["**"]}`,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST":     gitlabURL,
		"OCEAN__INTEGRATION__CONFIG__USE_SYSTEM_HOOK": "false",
	}
}

// portServices counts the service entities the Port simulator holds.
func portServices(ps *porttest.Server) int {
	n := 0
	for _, e := range ps.Entities() {
		if e.Blueprint == "service" {
			n++
		}
	}
	return n
}

// TestOceanEnvironmentWritesToPort walks the path of someone switching
// from Ocean: the same environment, no catalog setting. validate says the
// entities go to Port (and why), and resync puts them in the Port
// simulator. Before, validate said "config ok" and resync filled the
// embedded SQLite file, with nothing reaching Port.
func TestOceanEnvironmentWritesToPort(t *testing.T) {
	_, org, url := sim(t)
	ps := porttest.New("ocean-client", "ocean-secret-xyz")
	pts := ps.Start(t)
	env := oceanEnv(org.RootTokens[0], url, pts.URL)
	dir := t.TempDir()

	r := runCLI(t, env, "validate", "--data-dir", filepath.Join(dir, "none"))
	if r.code != 0 || !strings.Contains(r.stdout, "config ok") ||
		!strings.Contains(r.stdout, "catalog: port (from OCEAN__PORT__CLIENT_ID/OCEAN__PORT__CLIENT_SECRET): entities go to Port at "+pts.URL+" as integration gitlab-prod") {
		t.Fatalf("validate: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "warning: catalog") {
		t.Fatalf("no warning without a catalog setting:\n%s", r.stdout)
	}

	r = runCLI(t, env, "resync", "--data-dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "Port: ") {
		t.Fatalf("resync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := portServices(ps); n == 0 || ps.Integration()["installationId"] != "gitlab-prod" {
		t.Fatalf("%d services in Port, integration %v", n, ps.Integration())
	}
	if !strings.Contains(r.stderr, "catalog=port") {
		t.Fatalf("resync does not log where it writes:\n%s", r.stderr)
	}
	assertNoToken(t, org, r)
	if strings.Contains(r.stdout+r.stderr, "ocean-secret-xyz") {
		t.Fatal("the Port secret is printed")
	}
}

// TestOceanV2EnvironmentWritesToPort: Ocean v2's form (one gitlabToken)
// with the Port credentials writes to Port too.
func TestOceanV2EnvironmentWritesToPort(t *testing.T) {
	_, org, url := sim(t)
	ps := porttest.New("ocean-client", "ocean-secret-xyz")
	pts := ps.Start(t)
	env := oceanEnv(org.RootTokens[0], url, pts.URL)
	delete(env, config.EnvTokenMapping)
	env["OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN"] = org.RootTokens[0]
	r := runCLI(t, env, "resync", "--data-dir", t.TempDir())
	if r.code != 0 || portServices(ps) == 0 {
		t.Fatalf("resync: exit %d, %d services in Port\n%s\n%s", r.code, portServices(ps), r.stdout, r.stderr)
	}
}

// TestExplicitEmbeddedBesidePortCredentials: catalog embedded set on
// purpose is obeyed (the entities land in the SQLite file, none in Port),
// but validate warns and resync logs the warning, naming both settings
// and where each came from.
func TestExplicitEmbeddedBesidePortCredentials(t *testing.T) {
	_, org, url := sim(t)
	ps := porttest.New("ocean-client", "ocean-secret-xyz")
	pts := ps.Start(t)
	env := oceanEnv(org.RootTokens[0], url, pts.URL)
	env[config.EnvCatalog] = "embedded"
	dir := t.TempDir()
	want := "catalog is embedded (from GLSYNC_CATALOG) but the Port credentials are set (OCEAN__PORT__CLIENT_ID/OCEAN__PORT__CLIENT_SECRET): nothing is written to Port"

	r := runCLI(t, env, "validate", "--data-dir", filepath.Join(dir, "none"))
	if r.code != 0 || !strings.Contains(r.stdout, "  warning: "+want) || !strings.Contains(r.stdout, "catalog: embedded (from GLSYNC_CATALOG)") {
		t.Fatalf("validate: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, env, "resync", "--data-dir", dir)
	if r.code != 0 || !strings.Contains(r.stderr, "level=WARN") || !strings.Contains(r.stderr, want) {
		t.Fatalf("resync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := portServices(ps); n != 0 {
		t.Fatalf("%d services reached Port with catalog embedded", n)
	}
	if _, err := os.Stat(filepath.Join(dir, sqlitestore.FileName)); err != nil {
		t.Fatalf("no embedded catalog: %v", err)
	}
}

// TestHalfPortCredentialsRefused: a client id without its secret (a
// secret not mounted, a typo in its name) fails validate with the
// missing one named, instead of a silent embedded catalog.
func TestHalfPortCredentialsRefused(t *testing.T) {
	env := oceanEnv("glpat-Base0Token0For0Tests0", "https://gitlab.example.com", "https://api.getport.io")
	delete(env, "OCEAN__PORT__CLIENT_SECRET")
	r := runCLI(t, env, "validate", "--data-dir", filepath.Join(t.TempDir(), "none"))
	if r.code != exitUsage || !strings.Contains(r.stderr, "config: portClientSecret: is not set, but portClientId is (from OCEAN__PORT__CLIENT_ID)") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestGitLabHostWithAPIPath: the simulator prints its URL with /api/v4,
// and so do GitLab's own docs; as gitlabHost it used to pass validate
// and then fail every request with 404. Now validate notes the fix and
// the resync reads GitLab.
func TestGitLabHostWithAPIPath(t *testing.T) {
	_, org, url := sim(t)
	env := map[string]string{
		config.EnvTokenMapping: `{"` + org.RootTokens[0] + `": ["**"]}`,
		config.EnvGitLabHost:   url + "/api/v4/",
	}
	dir := t.TempDir()
	r := runCLI(t, env, "validate", "--data-dir", filepath.Join(dir, "none"))
	if r.code != 0 || !strings.Contains(r.stdout, "config ok: gitlabHost "+url+",") ||
		!strings.Contains(r.stdout, "  note: gitlabHost (from OCEAN__INTEGRATION__CONFIG__GITLAB_HOST) ends in /api/v4, GitLab's API path, which glsync adds itself: using "+url) {
		t.Fatalf("validate: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, env, "resync", "--data-dir", dir)
	// A word of its own: the simulator's port may contain 404 (127.0.0.1:40401).
	if r.code != 0 || regexp.MustCompile(`\b404\b`).MatchString(r.stdout+r.stderr) || !strings.Contains(r.stderr, "ends in /api/v4") {
		t.Fatalf("resync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	assertNoToken(t, org, r)
}
