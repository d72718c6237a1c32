package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// TestResyncWithFailingExpression: a mapping whose expression raises on
// about one project in ten (tonumber on a description that is not a
// number) resyncs with exit 0, the table followed by the count per field;
// GLSYNC_STRICT_MAPPING brings back the failed kind (exit 1).
func TestResyncWithFailingExpression(t *testing.T) {
	s, org, url := sim(t)
	bad := 0
	for _, p := range s.Projects() {
		s.UpdateProject(p.ID, func(x *gitlabtest.Project) {
			x.Description = strconv.FormatInt(p.ID, 10)
			if p.ID%10 == 0 {
				x.Description = "n/a"
				bad++
			}
		})
	}
	dir := t.TempDir()
	mp := filepath.Join(dir, "mapping.yml")
	os.WriteFile(mp, []byte(`resources:
  - kind: project
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          blueprint: '"service"'
          properties:
            score: .description | tonumber
`), 0o600)
	env := map[string]string{config.EnvTokenMapping: `{"` + org.RootTokens[0] + `": ["**"], "` + org.RootTokens[1] + `": ["**"]}`,
		config.EnvGitLabHost: url, envDataDir: filepath.Join(dir, "data"), envMapping: mp}
	r := runCLI(t, env, "resync")
	if r.code != 0 || !strings.Contains(r.stdout, "resync 1 ok") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	m := regexp.MustCompile(`kind project, resources\[0\] properties.score: null on (\d+) objects \(e.g. [^)]+\): mapping: resources\[0\] \(kind project\): port.entity.mappings.properties.score: expression ".description \| tonumber"`).FindStringSubmatch(r.stdout)
	if m == nil || !strings.Contains(r.stdout, "expression errors: "+m[1]) {
		t.Fatalf("no count in the summary:\n%s", r.stdout)
	}
	if n, _ := strconv.Atoi(m[1]); n < bad || n > 2*bad {
		t.Fatalf("%d failures counted for %d projects with a bad description (each token maps what it sees)", n, bad)
	}
	if c := strings.Count(r.stderr, "mapping: an expression failed"); c != 1 {
		t.Fatalf("%d log lines for one failing field\n%s", c, r.stderr)
	}
	env[config.EnvStrictMapping] = "true"
	r = runCLI(t, env, "resync")
	if r.code != exitFailed || !strings.Contains(r.stderr, `port.entity.mappings.properties.score: expression ".description | tonumber"`) {
		t.Fatalf("strict: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestValidatePortSearchQuery: validate accepts the search-query relation
// of Port's docs (jq form), names the field and the rule for a wrong bare
// combinator, and warns (exit 0) for an expression that fails on some
// sample objects only, an error under strictMapping.
func TestValidatePortSearchQuery(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("tokenMapping:\n  glpat-QXbeg-Ev9xtu5_5FsaAQ: ['**']\n"), 0o600)
	doc, err := os.ReadFile("../../../shared/mapping/testdata/port-docs-search-relation.yml")
	if err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(dir, "mapping.yml")
	os.WriteFile(mp, []byte(strings.ReplaceAll(string(doc), "kind: repository", "kind: project")), 0o600)
	r := runCLI(t, map[string]string{envMapping: mp, envDataDir: filepath.Join(dir, "none")}, "validate", "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "mapping ok: 2 resource(s)") {
		t.Fatalf("Port's documented search query: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	os.WriteFile(mp, []byte("resources:\n  - kind: project\n    port: {entity: {mappings: {identifier: .path, blueprint: '\"s\"', relations: {owner: {combinator: xor, rules: [{property: '\"$identifier\"', operator: '\"=\"', value: .path}]}}}}}\n"), 0o600)
	r = runCLI(t, map[string]string{envMapping: mp}, "validate", "--config", cfg)
	if r.code != exitUsage || !strings.Contains(r.stderr, `resources[0] (kind project): port.entity.mappings.relations.owner.combinator: expression "xor": must be and or or`) {
		t.Fatalf("combinator xor: exit %d\n%s", r.code, r.stderr)
	}

	os.WriteFile(mp, []byte("resources:\n  - kind: project\n    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '\"s\"', properties: {topic: '.topics[0] | ascii_upcase'}}}}\n"), 0o600)
	r = runCLI(t, map[string]string{envMapping: mp, envDataDir: filepath.Join(dir, "none")}, "validate", "--config", cfg)
	want := `warning: resources[0] (kind project): port.entity.mappings.properties.topic: expression ".topics[0] | ascii_upcase" (on `
	if r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "a resync maps the field to null on such objects") {
		t.Fatalf("partial failure: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, map[string]string{envMapping: mp, envDataDir: filepath.Join(dir, "none"), config.EnvStrictMapping: "true"}, "validate", "--config", cfg)
	if r.code != exitUsage || !strings.Contains(r.stdout, "error: mapping: resources[0] (kind project): port.entity.mappings.properties.topic") {
		t.Fatalf("partial failure, strict: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
