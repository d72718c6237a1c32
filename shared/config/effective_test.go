package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every file key and every variable the config reads has a row, so the
// console's Settings page lists them all.
func TestEffectiveCoversEveryKey(t *testing.T) {
	rows := map[string]bool{}
	vars := map[string]bool{}
	documented := map[string]bool{}
	for _, s := range settings {
		if rows[s.key] {
			t.Errorf("%s listed twice", s.key)
		}
		rows[s.key] = true
		for _, e := range s.env {
			vars[e] = true
		}
		for _, e := range s.also {
			documented[e] = true
		}
	}
	for _, k := range fileKeys() {
		if !rows[k] {
			t.Errorf("config file key %s has no row in the settings table", k)
		}
	}
	// The previous secret key only opens old values: it has no file key,
	// and is documented with secretKey's row.
	if !documented[EnvSecretKeyPrevious] {
		t.Errorf("variable %s is documented with no row of the settings table", EnvSecretKeyPrevious)
	}
	for v := range envConstants(t) {
		if !vars[v] && v != EnvSecretKeyPrevious {
			t.Errorf("variable %s is in no row of the settings table", v)
		}
	}
}

func TestEffectiveSourcesAndSecrets(t *testing.T) {
	const (
		token  = "glpat-Zq9Xw8Vv7Uu6Tt5Ss4Rr"
		admin  = "admin-Kk3Jj2Hh1Gg0Ff9Ee8Dd7Cc6Bb5Aa4"
		secret = "webhook-Mm5Nn6Oo7Pp8Qq9"
	)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("tokenMapping:\n  "+token+": ['group/**']\nadminToken: "+admin+"\nmaxRetries: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvWebhookSecret: secret, EnvGitLabHost: "https://gitlab.example.com"}
	c, err := Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Effective{}
	for _, e := range c.Effective() {
		got[e.Key] = e
		for _, s := range []string{token, admin, secret, token[6:12], admin[:12], secret[:10]} {
			if strings.Contains(e.Value, s) {
				t.Errorf("%s shows a secret: %q", e.Key, e.Value)
			}
		}
	}
	for key, want := range map[string]Effective{
		"tokenMapping":  {Value: "token 1 (glpat-…): group/**", Source: SourceFile, Secret: true},
		"adminToken":    {Value: hidden, Source: SourceFile, Secret: true},
		"webhookSecret": {Value: hidden, Source: EnvWebhookSecret, Secret: true},
		"gitlabHost":    {Value: "https://gitlab.example.com", Source: EnvGitLabHost},
		"maxRetries":    {Value: "3", Source: SourceFile},
		"eventWorkers":  {Value: "4", Source: SourceDefault},
		"gitlabToken":   {Value: "not set", Source: SourceDefault, Secret: true},
	} {
		want.Key = key
		if got[key] != want {
			t.Errorf("%s: got %+v, want %+v", key, got[key], want)
		}
	}
}
