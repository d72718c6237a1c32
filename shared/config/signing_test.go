package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// webhookSigning: off by default, on from the file or
// GLSYNC_WEBHOOK_SIGNING (which wins), a bad value named with its source.
func TestWebhookSigningSetting(t *testing.T) {
	base := map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`}
	c, err := Load("", env(base))
	if err != nil || c.WebhookSigning {
		t.Fatalf("default: %v %v", c.WebhookSigning, err)
	}
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("webhookSigning: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = Load(file, env(base)); err != nil || !c.WebhookSigning {
		t.Fatalf("from the file: %v %v", c, err)
	}
	with := func(v string) map[string]string {
		m := map[string]string{EnvWebhookSigning: v}
		for k, x := range base {
			m[k] = x
		}
		return m
	}
	if c, err = Load(file, env(with("false"))); err != nil || c.WebhookSigning {
		t.Fatalf("the environment wins: %v %v", c, err)
	}
	if _, err = Load("", env(with("sometimes"))); err == nil || !strings.Contains(err.Error(), "webhookSigning") || !strings.Contains(err.Error(), EnvWebhookSigning) {
		t.Fatalf("bad value: %v", err)
	}
}

// systemHookSigningToken must be in GitLab's format; a bad one is refused
// naming the setting and its source, never the value.
func TestSystemHookSigningTokenSetting(t *testing.T) {
	base := map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`, EnvSystemSigningToken: "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	if c, err := Load("", env(base)); err != nil || c.SystemHookSigningToken != base[EnvSystemSigningToken] {
		t.Fatalf("valid token: %v", err)
	}
	base[EnvSystemSigningToken] = "whsec_sekrit-value"
	_, err := Load("", env(base))
	if err == nil || !strings.Contains(err.Error(), "systemHookSigningToken") || !strings.Contains(err.Error(), EnvSystemSigningToken) || strings.Contains(err.Error(), "sekrit") {
		t.Fatalf("bad token: %v", err)
	}
}
