package config

import (
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"

	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const tok = "glpat-QXbeg-Ev9xtu5_5FsaAQ"

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFileAndDefaults(t *testing.T) {
	p := writeFile(t, `
tokenMapping:
  `+tok+`: ["**/DevopsTeam/*Service", "**/RnDTeam/*Service"]
  glpat-xF7Ae-vXu5ts5_QbEgAQ9: ["**/MarketingTeam/*Service"]
scheduledResyncInterval: 120
`)
	c, err := Load(p, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.GitLabHost != "https://gitlab.com" {
		t.Errorf("GitLabHost = %q, want default https://gitlab.com", c.GitLabHost)
	}
	if len(c.TokenMapping) != 2 || c.TokenMapping[0].Token != tok {
		t.Errorf("TokenMapping order not kept: %d entries", len(c.TokenMapping))
	}
	if c.ScheduledResyncInterval != 2*time.Hour {
		t.Errorf("ScheduledResyncInterval = %v, want 2h", c.ScheduledResyncInterval)
	}
	if c.MaxConcurrentRequests != 8 || c.MaxRetries != 8 {
		t.Errorf("defaults wrong: %+v", c)
	}
}

func TestLoadEnvOnlyOceanNames(t *testing.T) {
	c, err := Load("", env(map[string]string{
		EnvTokenMapping:   `{"` + tok + `": ["**"]}`,
		EnvGitLabHost:     "https://gitlab.example.com/",
		EnvAppHost:        "https://glsync.example.com",
		EnvUseSystemHook:  "true",
		EnvResyncInterval: "90m",
		EnvHooksOverride:  `{"` + tok + `": {"groups": {"acme": {"events": ["push_events"]}}}}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.GitLabHost != "https://gitlab.example.com" || c.AppHost != "https://glsync.example.com" || !c.UseSystemHook || c.ScheduledResyncInterval != 90*time.Minute {
		t.Fatalf("env not applied: %+v", c)
	}
	if len(c.TokenGroupHooksOverrideMapping) != 1 || c.TokenGroupHooksOverrideMapping[0].Groups[0].FullPath != "acme" {
		t.Fatalf("override mapping not parsed: %+v", c.TokenGroupHooksOverrideMapping)
	}
}

// testAdminToken is a valid adminToken (at least MinAdminTokenLen).
const testAdminToken = "admintok-for-config-tests-0123456789"

// TestShortAdminTokenRefused: a short adminToken is guessed by anyone who
// reaches the admin API (which serves token mappings and hook secrets), so
// one under 32 characters is refused at start, from the file or the
// environment, with an error naming the setting, its variable, the rule
// and how to generate one, and never the value.
func TestShortAdminTokenRefused(t *testing.T) {
	const short = "x7Qshort-admin-token-0123456789" // 31 characters
	if len(short) != MinAdminTokenLen-1 {
		t.Fatalf("short is %d characters", len(short))
	}
	for _, c := range []struct {
		name, file string
		env        map[string]string
		src        string
	}{
		{"file", "adminToken: " + short + "\n", nil, ""},
		{"file one character", "adminToken: x\n", nil, ""},
		{"env", "", map[string]string{EnvAdminToken: short}, EnvAdminToken},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, "tokenMapping: {"+tok+": ['**']}\n"+c.file)
			_, err := Load(p, env(c.env))
			var ce *Error
			if !errors.As(err, &ce) || ce.Setting != "adminToken" || ce.Source != c.src {
				t.Fatalf("got %v, want an adminToken error from %q", err, c.src)
			}
			msg := err.Error()
			for _, want := range []string{"adminToken", EnvAdminToken, "at least 32 characters", "openssl rand -base64 32"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			if strings.Contains(msg, short) || strings.Contains(msg, "x7Q") {
				t.Errorf("error %q shows the token", msg)
			}
		})
	}
	// 32 characters, and none (the admin API disabled), are accepted.
	for _, v := range []string{short + "z", ""} {
		if _, err := Load(writeFile(t, "tokenMapping: {"+tok+": ['**']}\n"), env(map[string]string{EnvAdminToken: v})); err != nil {
			t.Fatalf("adminToken of %d characters: %v", len(v), err)
		}
	}
}

func TestDaemonSettings(t *testing.T) {
	p := writeFile(t, "tokenMapping: {"+tok+": ['**']}\nresyncCron: '@every 90m'\nresyncOnStart: false\neventWorkers: 8\nhookReconcileInterval: 30m\n")
	c, err := Load(p, env(map[string]string{EnvAdminToken: testAdminToken, EnvSystemHookSecret: "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ResyncCron != "@every 90m" || c.ResyncOnStart || c.EventWorkers != 8 || c.HookReconcileInterval != 30*time.Minute ||
		c.AdminToken != testAdminToken || c.SystemHookSecret != "s3cret" || c.WebhookMaxBodyBytes != 25<<20 {
		t.Fatalf("%+v", c)
	}
}

func TestPortSettingsFromOceanEnv(t *testing.T) {
	c, err := Load("", env(map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`, EnvCatalog: "port",
		EnvPortClientID: "id", EnvPortClientSecret: "secret", EnvPortBaseURL: "https://api.us.getport.io/", EnvIntegrationID: "my-gitlab", EnvSendExamples: "false"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Catalog != "port" || c.PortBaseURL != "https://api.us.getport.io" || c.IntegrationIdentifier != "my-gitlab" || c.SendRawDataExamples || c.DeletionThreshold != 0.5 {
		t.Fatalf("%+v", c)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	p := writeFile(t, "tokenMapping: '{\""+tok+"\": [\"a/**\"]}'\ngitlabHost: https://file.example.com\n")
	c, err := Load(p, env(map[string]string{EnvGitLabHost: "https://env.example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.GitLabHost != "https://env.example.com" {
		t.Fatalf("GitLabHost = %q, env should win", c.GitLabHost)
	}
	if c.TokenMapping[0].Patterns[0] != "a/**" {
		t.Fatalf("JSON-string tokenMapping in YAML not parsed: %+v", c.TokenMapping[0].Patterns)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		file string
		env  map[string]string
		want string
	}{
		{"unknown key", "tokenMapping: {" + tok + ": ['**']}\ngitlabhost: x\n", nil, "field gitlabhost is not a known setting"},
		{"missing mapping", "gitlabHost: https://gitlab.com\n", nil, "config: tokenMapping: is required"},
		{"malformed env JSON", "", map[string]string{EnvTokenMapping: `{"` + tok + `": [`}, "config: tokenMapping (from OCEAN__INTEGRATION__CONFIG__TOKEN_MAPPING): token glpat-QX…: malformed JSON: unexpected end of input"},
		{"invalid glob", "tokenMapping: {" + tok + ": ['acme/[x']}\n", nil, `config: tokenMapping: token glpat-QX…: pattern "acme/[x": invalid glob`},
		{"empty pattern list", "tokenMapping: {" + tok + ": []}\n", nil, "config: tokenMapping: token glpat-QX…: the pattern list is empty"},
		{"patterns not a list", "tokenMapping: {" + tok + ": '**'}\n", nil, "config: tokenMapping: token glpat-QX…: line 1: value must be a list of glob strings"},
		{"bad host", "tokenMapping: {" + tok + ": ['**']}\ngitlabHost: gitlab.com\n", nil, `config: gitlabHost: must be an http(s) URL like https://gitlab.com, got "gitlab.com"`},
		{"bad app host env", "", map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`, EnvAppHost: "::"}, "config: appHost (from OCEAN__INTEGRATION__CONFIG__APP_HOST): must be the http(s) URL"},
		{"bad bool", "", map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`, EnvUseSystemHook: "yes please"}, `config: useSystemHook (from OCEAN__INTEGRATION__CONFIG__USE_SYSTEM_HOOK): must be true or false, got "yes please"`},
		{"bad interval", "tokenMapping: {" + tok + ": ['**']}\nscheduledResyncInterval: often\n", nil, `config: scheduledResyncInterval: must be minutes (e.g. 120) or a duration (e.g. 2h), got "often"`},
		{"override token unknown", "tokenMapping: {" + tok + ": ['**']}\ntokenGroupHooksOverrideMapping:\n  glpat-other-token-value: {groups: {acme: {events: []}}}\n", nil, "config: tokenGroupHooksOverrideMapping: token glpat-ot…: token is not in tokenMapping"},
		{"override missing events", "tokenMapping: {" + tok + ": ['**']}\ntokenGroupHooksOverrideMapping:\n  " + tok + ": {groups: {acme: {}}}\n", nil, `config: tokenGroupHooksOverrideMapping: token glpat-QX…: group "acme": the "events" key is required`},
		{"bad cron", "tokenMapping: {" + tok + ": ['**']}\nresyncCron: 'every day'\n", nil, `config: resyncCron: invalid cron expression "every day"`},
		{"cron and interval", "tokenMapping: {" + tok + ": ['**']}\nresyncCron: '0 * * * *'\nscheduledResyncInterval: 60\n", nil, "config: resyncCron: set either scheduledResyncInterval or resyncCron, not both"},
		{"workers", "tokenMapping: {" + tok + ": ['**']}\neventWorkers: 0\nmaxRetries: 3\neventWorkers: 100\n", nil, "mapping key \"eventWorkers\" already defined"},
		{"port without credentials", "tokenMapping: {" + tok + ": ['**']}\ncatalog: port\n", nil, "config: portClientId: catalog is port: set portClientId and portClientSecret (or OCEAN__PORT__CLIENT_ID and OCEAN__PORT__CLIENT_SECRET)"},
		{"bad catalog", "tokenMapping: {" + tok + ": ['**']}\ncatalog: s3\n", nil, `config: catalog: must be embedded, postgres or port, got "s3"`},
		{"database url with embedded catalog", "tokenMapping: {" + tok + ": ['**']}\ncatalog: embedded\ndatabaseUrl: postgres://u:hunter2@db/glsync\n", nil,
			"config: databaseUrl: is set but catalog is embedded (the SQLite file): remove one, or set catalog to postgres"},
		{"database url not a url", "", map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`, EnvDatabaseURL: "hunter2"},
			"config: databaseUrl (from GLSYNC_DATABASE_URL): must be a postgres:// URL or a libpq key=value string (value not shown: it may hold a password)"},
		{"bad threshold", "", map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`, EnvDeleteThreshold: "2"}, "config: deletionThreshold: must be more than 0 and at most 1, got 2"},
		{"concurrency range", "tokenMapping: {" + tok + ": ['**']}\nmaxConcurrentRequests: 1000\n", nil, "config: maxConcurrentRequests: must be between 1 and 64, got 1000"},
		{"adaptive ceiling below the floor", "tokenMapping: {" + tok + ": ['**']}\nmaxConcurrentRequests: 16\nmaxAdaptiveConcurrentRequests: 8\n", nil, "config: maxAdaptiveConcurrentRequests: must be between maxConcurrentRequests (16) and 256, got 8"},
		{"negative rate limit", "", map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`, EnvGitLabRateLimit: "-5"}, "config: gitlabRateLimit (from OCEAN__INTEGRATION__CONFIG__GITLAB_RATE_LIMIT): must be requests per minute per token"},
		{"rate limit not a number", "", map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`, EnvGitLabRateLimit: "lots"}, `config: gitlabRateLimit (from OCEAN__INTEGRATION__CONFIG__GITLAB_RATE_LIMIT): must be a whole number of requests per minute, got "lots"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := ""
			if c.file != "" {
				p = writeFile(t, c.file)
			}
			_, err := Load(p, env(c.env))
			if err == nil {
				t.Fatalf("want error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error:\n  %s\nwant it to contain:\n  %s", err, c.want)
			}
			if strings.Contains(err.Error(), tok) {
				t.Fatalf("error leaks the token: %s", err)
			}
		})
	}
}

// TestOceanV2Form: a v2 deployment sets only GITLAB_TOKEN and BASE_URL;
// it gets one token for every path, v2's defaults, and its appHost.
// Both forms of one setting together are an error naming both.
func TestOceanV2Form(t *testing.T) {
	c, err := Load("", env(map[string]string{EnvGitLabToken: tok, EnvBaseURL: "https://glsync.example.com/"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.TokenMapping) != 1 || c.TokenMapping[0].Token != tok || c.TokenMapping[0].Patterns[0] != "**" || c.AppHost != "https://glsync.example.com" || c.OceanVersion != "v2" {
		t.Fatalf("v2 form: %+v", c)
	}
	v1, err := Load("", env(map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`}))
	if err != nil || v1.OceanVersion != "v1" {
		t.Fatalf("v1 form: %v %v", v1, err)
	}
	forced, err := Load("", env(map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`, EnvOceanVersion: "v2"}))
	if err != nil || forced.OceanVersion != "v2" {
		t.Fatalf("oceanVersion: %v %v", forced, err)
	}
	for _, bad := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvGitLabToken: tok, EnvTokenMapping: `{"` + tok + `": ["**"]}`}, "gitlabToken (from OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN): set either tokenMapping (Ocean v1's form) or gitlabToken (v2's), not both"},
		{map[string]string{EnvGitLabToken: tok, EnvBaseURL: "https://a.example.com", EnvAppHost: "https://b.example.com"}, "appHost (from OCEAN__BASE_URL): set either appHost (Ocean v1's form, here OCEAN__INTEGRATION__CONFIG__APP_HOST) or OCEAN__BASE_URL (v2's), not both"},
		{map[string]string{EnvGitLabToken: tok, EnvOceanVersion: tok}, "oceanVersion (from GLSYNC_OCEAN_VERSION): must be v1 (Ocean's integrations/gitlab) or v2 (integrations/gitlab-v2), got a 26-character value"},
	} {
		_, err := Load("", env(bad.env))
		if err == nil || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), tok) {
			t.Errorf("error %v, want it to contain %q and no token", err, bad.want)
		}
	}
}

func TestStorageSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := LoadStorage("", env(map[string]string{EnvDatabaseURL: "postgres://glsync:secret@db:5432/glsync", EnvReplicaName: "glsync-0"}))
	if err != nil || c.Catalog != "postgres" || !c.UsesPostgres() || c.ReplicaName != "glsync-0" {
		t.Fatalf("a databaseUrl alone selects postgres: %+v %v", c, err)
	}
	c, err = LoadStorage("", env(map[string]string{EnvCatalog: "postgres"}))
	if err != nil || !c.UsesPostgres() || c.DatabaseURL != "" {
		t.Fatalf("catalog postgres with libpq's PG* variables: %+v %v", c, err)
	}
	c, err = LoadStorage("", env(map[string]string{EnvCatalog: "port", EnvDatabaseURL: "host=db user=glsync"}))
	if err != nil || c.Catalog != "port" || !c.UsesPostgres() {
		t.Fatalf("Port with its mirror in PostgreSQL: %+v %v", c, err)
	}
	c, err = LoadStorage("", env(nil))
	if err != nil || c.Catalog != "embedded" || c.UsesPostgres() {
		t.Fatalf("default: %+v %v", c, err)
	}
	_, err = LoadStorage("", env(map[string]string{EnvDatabaseURL: "postgres://glsync:hunter2@/glsync"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("a URL without a host must fail without showing the password: %v", err)
	}
}

// maxRetries: 0 switches retries off; not setting it keeps the default.
func TestMaxRetriesZeroMeansNone(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tm := `{"glpat-Base0Token0For0Tests0": ["**"]}`
	c, err := Load("", env(map[string]string{EnvTokenMapping: tm, EnvMaxRetries: "0"}))
	if err != nil {
		t.Fatal(err)
	}
	if o := c.ClientOptions(gitlab.Options{}); o.MaxRetries != gitlab.NoRetries {
		t.Fatalf("maxRetries 0: client MaxRetries %d", o.MaxRetries)
	}
	c, _ = Load("", env(map[string]string{EnvTokenMapping: tm}))
	if o := c.ClientOptions(gitlab.Options{MaxRetries: c.MaxRetries}); o.MaxRetries != 8 {
		t.Fatalf("default: client MaxRetries %d", o.MaxRetries)
	}
}

// TestPacingSettings: gitlabRateLimit and maxAdaptiveConcurrentRequests
// reach the GitLab clients' options; the environment wins over the file.
func TestPacingSettings(t *testing.T) {
	c, err := Load(writeFile(t, "tokenMapping: {"+tok+": ['**']}\ngitlabRateLimit: 600\nmaxAdaptiveConcurrentRequests: 32\n"),
		env(map[string]string{EnvGitLabRateLimit: "1200"}))
	if err != nil {
		t.Fatal(err)
	}
	o := c.ClientOptions(gitlab.Options{})
	if o.RateLimit != 1200 || o.ConcurrencyCeiling != 32 {
		t.Fatalf("client options: rate %v, ceiling %d", o.RateLimit, o.ConcurrencyCeiling)
	}
	d, err := Load("", env(map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`}))
	if err != nil || d.GitLabRateLimit != 0 || d.MaxAdaptiveConcurrentRequests != gitlab.DefaultConcurrencyCeiling {
		t.Fatalf("defaults: %+v %v", d, err)
	}
}

// incrementalResync: auto follows appHost; true and false force it;
// anything else names the setting and the rule.
func TestIncrementalResyncSettings(t *testing.T) {
	tm := `{"glpat-Base0Token0For0Tests0": ["**"]}`
	c, err := Load("", env(map[string]string{EnvTokenMapping: tm}))
	if err != nil || c.IncrementalResync != "auto" || c.Incremental() || c.FullResyncInterval != 24*time.Hour {
		t.Fatalf("defaults without appHost: %q %v %v %v", c.IncrementalResync, c.Incremental(), c.FullResyncInterval, err)
	}
	c, err = Load("", env(map[string]string{EnvTokenMapping: tm, EnvAppHost: "https://glsync.example.com"}))
	if err != nil || !c.Incremental() {
		t.Fatalf("auto with appHost must be incremental: %v", err)
	}
	c, err = Load(writeFile(t, "incrementalResync: true\nfullResyncInterval: 6h\n"), env(map[string]string{EnvTokenMapping: tm}))
	if err != nil || !c.Incremental() || c.FullResyncInterval != 6*time.Hour {
		t.Fatalf("file settings: %v %v %v", c.Incremental(), c.FullResyncInterval, err)
	}
	c, err = Load("", env(map[string]string{EnvTokenMapping: tm, EnvAppHost: "https://glsync.example.com", EnvIncrementalResync: "FALSE"}))
	if err != nil || c.Incremental() {
		t.Fatalf("false wins over appHost: %v", err)
	}
	for setting, e := range map[string]map[string]string{
		"incrementalResync":  {EnvIncrementalResync: "sometimes"},
		"fullResyncInterval": {EnvFullResyncInterval: "10m"},
	} {
		e[EnvTokenMapping] = tm
		_, err := Load("", env(e))
		if err == nil || !strings.Contains(err.Error(), setting) || !strings.Contains(err.Error(), "must be") {
			t.Errorf("%s: %v", setting, err)
		}
	}
}

// Replicas on PostgreSQL that create hooks seal their secrets with
// secretKey; without it (and without webhookSecret, from which secrets
// derive) they would start ready and then fail every hook, so the config
// is refused at load, naming the setting and its variable. The key's value
// never shows.
func TestSecretKeyRequiredForHooksOnPostgres(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tm := `{"glpat-Base0Token0For0Tests0": ["**"]}`
	const key = "q0Jp4Vq3v1cSx5zC0o2dVdl9m7t7k1yYF8aH0aP2cQs="
	cases := []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"postgres and appHost, no key", map[string]string{EnvCatalog: "postgres", EnvAppHost: "https://glsync.example.com"}, false},
		{"databaseUrl alone selects postgres", map[string]string{EnvDatabaseURL: "postgres://u:p@db/glsync", EnvAppHost: "https://glsync.example.com"}, false},
		{"Port's mirror in PostgreSQL", map[string]string{EnvCatalog: "port", EnvPortClientID: "id", EnvPortClientSecret: "secret", EnvDatabaseURL: "host=db", EnvAppHost: "https://glsync.example.com"}, false},
		{"with GLSYNC_SECRET_KEY", map[string]string{EnvCatalog: "postgres", EnvAppHost: "https://glsync.example.com", EnvSecretKey: key}, true},
		{"with webhookSecret: secrets derive", map[string]string{EnvCatalog: "postgres", EnvAppHost: "https://glsync.example.com", EnvWebhookSecret: "replicas-share-this-secret"}, true},
		{"no appHost: no hooks to create", map[string]string{EnvCatalog: "postgres"}, true},
		{"embedded: a key file in the data directory", map[string]string{EnvAppHost: "https://glsync.example.com"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.env[EnvTokenMapping] = tm
			_, err := Load("", env(tc.env))
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Setting != "secretKey" || !strings.Contains(err.Error(), "GLSYNC_SECRET_KEY") || !strings.Contains(err.Error(), "webhookSecret") {
				t.Fatalf("want a secretKey error naming GLSYNC_SECRET_KEY, got %v", err)
			}
		})
	}
	// In the file too.
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte("tokenMapping: "+tm+"\ncatalog: postgres\nappHost: https://glsync.example.com\n"), 0o600)
	if _, err := Load(p, env(nil)); err == nil || !strings.HasPrefix(err.Error(), "config: secretKey: is required") {
		t.Fatalf("file: %v", err)
	}
	os.WriteFile(p, []byte("tokenMapping: "+tm+"\ncatalog: postgres\nappHost: https://glsync.example.com\nsecretKey: "+key+"\n"), 0o600)
	if _, err := Load(p, env(nil)); err != nil {
		t.Fatal(err)
	}
}

// webhookMaxConnections: a default, the file, the environment over the
// file, and a bound that names the setting and where it came from.
func TestWebhookMaxConnections(t *testing.T) {
	base := "tokenMapping: {" + tok + ": ['**']}\n"
	c, err := Load(writeFile(t, base), env(nil))
	if err != nil || c.WebhookMaxConnections != DefaultMaxConnections {
		t.Fatalf("default: %d %v", c.WebhookMaxConnections, err)
	}
	if c, err = Load(writeFile(t, base+"webhookMaxConnections: 100\n"), env(nil)); err != nil || c.WebhookMaxConnections != 100 {
		t.Fatalf("file: %d %v", c.WebhookMaxConnections, err)
	}
	if c, err = Load(writeFile(t, base+"webhookMaxConnections: 100\n"), env(map[string]string{EnvMaxConnections: "2000"})); err != nil || c.WebhookMaxConnections != 2000 {
		t.Fatalf("environment: %d %v", c.WebhookMaxConnections, err)
	}
	for _, tc := range []struct {
		file string
		env  map[string]string
		want string
	}{
		{base + "webhookMaxConnections: 8\n", nil, "config: webhookMaxConnections: must be between 16 and 65536, got 8"},
		{base + "webhookMaxConnections: -1\n", nil, "config: webhookMaxConnections: must be between 16 and 65536, got -1"},
		{base, map[string]string{EnvMaxConnections: "0"}, "config: webhookMaxConnections (from " + EnvMaxConnections + "): must be between 16 and 65536, got 0"},
		{base, map[string]string{EnvMaxConnections: "lots"}, "config: webhookMaxConnections (from " + EnvMaxConnections + "): must be a whole number of connections"},
	} {
		_, err := Load(writeFile(t, tc.file), env(tc.env))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q %v: got %v, want %s", tc.file, tc.env, err, tc.want)
		}
	}
}
