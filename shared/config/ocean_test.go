package config

import (
	"strings"
	"testing"
)

// oceanPortEnv is what an Ocean deployment of the GitLab integration
// sets: Port's credentials and URL, the identifier and the token, and no
// catalog (Ocean has none: it always writes to Port).
func oceanPortEnv() map[string]string {
	return map[string]string{
		EnvPortClientID:     "ocean-client",
		EnvPortClientSecret: "ocean-secret-xyz",
		EnvPortBaseURL:      "https://api.us.getport.io",
		EnvIntegrationID:    "my-gitlab",
		EnvTokenMapping:     `{"` + tok + `": ["**"]}`,
	}
}

// TestPortCredentialsImplyPort: Ocean's environment, with no catalog
// setting, writes to Port (not to an embedded file nobody reads), and
// says so: CatalogFrom names the credentials' variables. The same from
// the config file's keys, and from a mix.
func TestPortCredentialsImplyPort(t *testing.T) {
	c, err := Load("", env(oceanPortEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Catalog != "port" || c.CatalogFrom != "OCEAN__PORT__CLIENT_ID/OCEAN__PORT__CLIENT_SECRET" || len(c.Warnings) != 0 {
		t.Fatalf("catalog %q from %q, warnings %q", c.Catalog, c.CatalogFrom, c.Warnings)
	}
	s, err := LoadStorage("", env(oceanPortEnv()))
	if err != nil || s.Catalog != "port" {
		t.Fatalf("LoadStorage (the commands that open the catalog) must agree: %+v %v", s, err)
	}
	p := writeFile(t, "tokenMapping: {"+tok+": ['**']}\nportClientId: id\nportClientSecret: secret\n")
	if c, err = Load(p, env(nil)); err != nil || c.Catalog != "port" || c.CatalogFrom != "portClientId/portClientSecret in the config file" {
		t.Fatalf("file: %+v %v", c, err)
	}
	p = writeFile(t, "tokenMapping: {"+tok+": ['**']}\nportClientId: id\n")
	if c, err = Load(p, env(map[string]string{EnvPortClientSecret: "secret"})); err != nil || c.Catalog != "port" ||
		c.CatalogFrom != "portClientId in the config file and OCEAN__PORT__CLIENT_SECRET" {
		t.Fatalf("mixed: %+v %v", c, err)
	}
	// With a databaseUrl too, Port still wins: the database holds Port's
	// mirror, as with catalog: port.
	e := oceanPortEnv()
	e[EnvDatabaseURL] = "host=db user=glsync"
	if c, err = Load("", env(e)); err != nil || c.Catalog != "port" || !c.UsesPostgres() {
		t.Fatalf("with databaseUrl: %+v %v", c, err)
	}
	// No credentials: the embedded default, said to be the default.
	if c, err = Load("", env(map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`})); err != nil || c.Catalog != "embedded" || c.CatalogFrom != "the default" {
		t.Fatalf("default: %+v %v", c, err)
	}
}

// TestExplicitCatalogBesideCredentials: catalog embedded (or postgres)
// set on purpose wins over the credentials, but with a warning naming
// both and where each came from, since nothing will reach Port.
func TestExplicitCatalogBesideCredentials(t *testing.T) {
	e := oceanPortEnv()
	e[EnvCatalog] = "embedded"
	c, err := Load("", env(e))
	if err != nil {
		t.Fatal(err)
	}
	want := "catalog is embedded (from GLSYNC_CATALOG) but the Port credentials are set (OCEAN__PORT__CLIENT_ID/OCEAN__PORT__CLIENT_SECRET): nothing is written to Port"
	if c.Catalog != "embedded" || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], want) {
		t.Fatalf("catalog %q, warnings %q", c.Catalog, c.Warnings)
	}
	p := writeFile(t, "tokenMapping: {"+tok+": ['**']}\ncatalog: embedded\n")
	e = oceanPortEnv()
	delete(e, EnvTokenMapping)
	if c, err = Load(p, env(e)); err != nil || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "catalog is embedded (from catalog in the config file) but") {
		t.Fatalf("file: %+v %v", c.Warnings, err)
	}
	for _, w := range c.Warnings {
		if strings.Contains(w, "ocean-secret-xyz") {
			t.Fatal("the warning shows the secret")
		}
	}
	e = oceanPortEnv()
	e[EnvCatalog] = "port"
	if c, err = Load("", env(e)); err != nil || c.Catalog != "port" || c.CatalogFrom != EnvCatalog || len(c.Warnings) != 0 {
		t.Fatalf("explicit port: %+v %v", c, err)
	}
}

// TestHalfPortCredentials: one of the pair alone is a mistake whichever
// catalog is set; the error names the missing one and where the other
// came from, and never shows the one that is set.
func TestHalfPortCredentials(t *testing.T) {
	for _, c := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{EnvPortClientID: "ocean-client"}, "config: portClientSecret: is not set, but portClientId is (from OCEAN__PORT__CLIENT_ID): Port needs both; set portClientSecret (or OCEAN__PORT__CLIENT_SECRET)"},
		{map[string]string{EnvPortClientSecret: "ocean-secret-xyz"}, "config: portClientId: is not set, but portClientSecret is (from OCEAN__PORT__CLIENT_SECRET): Port needs both; set portClientId (or OCEAN__PORT__CLIENT_ID)"},
		{map[string]string{EnvPortClientSecret: "ocean-secret-xyz", EnvCatalog: "embedded"}, "config: portClientId: is not set"},
	} {
		c.set[EnvTokenMapping] = `{"` + tok + `": ["**"]}`
		_, err := Load("", env(c.set))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "ocean-secret-xyz") {
			t.Errorf("error %v, want it to contain %q", err, c.want)
		}
	}
}

// TestGitLabHostAPIPath: GitLab's API URL given as gitlabHost (what the
// simulator prints) is read as the instance's URL, with a note saying so,
// instead of passing validate and then 404ing every request.
func TestGitLabHostAPIPath(t *testing.T) {
	for _, host := range []string{"https://gitlab.example.com/api/v4", "https://gitlab.example.com/api/v4/", "https://gitlab.example.com/api/v4//"} {
		c, err := Load("", env(map[string]string{EnvGitLabToken: tok, EnvGitLabHost: host}))
		if err != nil {
			t.Fatal(err)
		}
		if c.GitLabHost != "https://gitlab.example.com" || len(c.Notes) != 1 ||
			!strings.Contains(c.Notes[0], "gitlabHost (from OCEAN__INTEGRATION__CONFIG__GITLAB_HOST) ends in /api/v4") ||
			!strings.Contains(c.Notes[0], "using https://gitlab.example.com") {
			t.Fatalf("%s: host %q, notes %q", host, c.GitLabHost, c.Notes)
		}
	}
	// A path before /api/v4 (GitLab under a relative URL) is kept.
	p := writeFile(t, "gitlabToken: "+tok+"\ngitlabHost: https://example.com/gitlab/api/v4\n")
	c, err := Load(p, env(nil))
	if err != nil || c.GitLabHost != "https://example.com/gitlab" || !strings.Contains(c.Notes[0], "gitlabHost (from gitlabHost in the config file)") {
		t.Fatalf("relative URL: %+v %v", c, err)
	}
	// Without /api/v4: no note.
	if c, err = Load("", env(map[string]string{EnvGitLabToken: tok, EnvGitLabHost: "https://gitlab.example.com/"})); err != nil || len(c.Notes) != 0 {
		t.Fatalf("plain host: %+v %v", c, err)
	}
}

// TestUnknownKeySuggestion: a mistyped key gets the nearest known one,
// as the mapping's do; a key far from all of them gets the list, which
// holds every key of the file (read from the struct, not a copy).
func TestUnknownKeySuggestion(t *testing.T) {
	for _, c := range []struct{ body, want, not string }{
		{"gitlabToken: " + tok + "\ngitlabHots: https://gitlab.example.com\n", `line 2: field gitlabHots is not a known setting; did you mean "gitlabHost"?`, "known:"},
		{"gitlabToken: " + tok + "\nportClientID: x\n", `did you mean "portClientId"?`, "known:"},
		{"gitlabToken: " + tok + "\nkafkaBrokers: x\n", "field kafkaBrokers is not a known setting (known: tokenMapping, gitlabToken,", "did you mean"},
	} {
		_, err := Load(writeFile(t, c.body), env(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), c.not) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
	keys := fileKeys()
	for _, k := range []string{"tokenMapping", "forceDeletion", "portClientSecret", "gitopsScope"} {
		if !strings.Contains(strings.Join(keys, ","), k) {
			t.Errorf("fileKeys lacks %s: %v", k, keys)
		}
	}
	// A token pasted as a key is not echoed.
	_, err := Load(writeFile(t, "gitlabToken: x\n"+tok+": y\n"), env(nil))
	if err == nil || strings.Contains(err.Error(), tok) {
		t.Fatalf("token echoed: %v", err)
	}
}
