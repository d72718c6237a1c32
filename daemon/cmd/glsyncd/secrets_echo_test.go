package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNoSettingEchoesAToken puts a token, and a URL with a token in its
// user info, into every setting glsync reads (every environment variable
// and every config file key, found in shared/config's source so a new
// setting is covered the day it is added) and checks that validate's
// output never holds the token.
func TestNoSettingEchoesAToken(t *testing.T) {
	src, err := os.ReadFile("../../../shared/config/config.go")
	if err != nil {
		t.Fatal(err)
	}
	envs := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+Env\w+\s*=\s*"([A-Z_]+)"`).FindAllSubmatch(src, -1) {
		envs[string(m[1])] = true
	}
	// The keys are the rows of the settings table: {key: "…", …} or a
	// row helper's boolRow("…", …).
	table, err := os.ReadFile("../../../shared/config/table.go")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?:key: |Row\()"(\w+)"`).FindAllSubmatch(table, -1) {
		keys[string(m[1])] = true
	}
	if len(envs) < 25 || len(keys) < 25 {
		t.Fatalf("found %d environment variables in config.go and %d keys in table.go", len(envs), len(keys))
	}
	const secret = "Zq8vR2mT4xYw9KpL3nB7"
	token := "glpat-" + secret
	base := "glpat-Base0Token0For0Tests0"
	values := []string{token, "https://oauth2:" + token + "@gitlab.example.com", "postgres://glsync:" + secret + "@db/glsync", secret}
	check := func(t *testing.T, what string, args []string, env map[string]string) {
		t.Helper()
		var out, errOut bytes.Buffer
		getenv := func(k string) string { return env[k] }
		code := run(context.Background(), args, &out, &errOut, getenv)
		all := out.String() + errOut.String()
		for _, leak := range []string{secret, base[6:]} {
			if strings.Contains(all, leak) {
				t.Errorf("%s: exit %d, the output holds a secret:\n%s", what, code, all)
			}
		}
	}
	dir := t.TempDir()
	for env := range envs {
		for _, v := range values {
			e := map[string]string{"OCEAN__INTEGRATION__CONFIG__TOKEN_MAPPING": `{"` + base + `": ["**"]}`, env: v}
			check(t, env+"="+v[:8]+"…", []string{"validate", "--data-dir", dir}, e)
		}
	}
	for key := range keys {
		for _, v := range values {
			doc := "tokenMapping:\n  " + base + ": ['**']\n"
			if key == "tokenMapping" {
				doc = ""
			}
			doc += key + ": '" + v + "'\n"
			f := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			check(t, key+": "+v[:8]+"…", []string{"validate", "--config", f, "--data-dir", dir}, nil)
		}
	}
}
