package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/config"
)

// A committer of project A declares project B's service entity in A's
// port.yml: `glsyncd resync` leaves B's entity as the project kind wrote
// it, and `glsyncd validate` then reports the refused claim.
func TestValidateReportsRefusedGitOpsClaims(t *testing.T) {
	s, org, url := sim(t)
	var a, b string
	var aID int64
	for _, p := range s.Projects() {
		switch {
		case p.EmptyRepo:
		case a == "":
			a, aID = p.PathWithNamespace, p.ID
		case b == "":
			b = p.PathWithNamespace
		}
	}
	s.SetFile(aID, "port.yml", "identifier: "+b+"\nblueprint: service\ntitle: Taken\n")
	dir := t.TempDir()
	mapFile := filepath.Join(dir, "mapping.yml")
	if err := os.WriteFile(mapFile, []byte(`specPath: '**/port.yml'
resources:
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, title: .name, blueprint: '"service"'}}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		config.EnvTokenMapping: `{"` + org.RootTokens[0] + `": ["**"], "` + org.RootTokens[1] + `": ["**"]}`,
		config.EnvGitLabHost:   url,
		envDataDir:             filepath.Join(dir, "data"),
	}
	if r := runCLI(t, env, "resync", "--mapping", mapFile); r.code != 0 {
		t.Fatalf("resync: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if out := runCLI(t, env, "catalog", "list", "--blueprint", "service").stdout; strings.Contains(out, "Taken") {
		t.Fatalf("B's entity was taken:\n%s", out)
	}
	r := runCLI(t, env, "validate", "--mapping", mapFile)
	if r.code != 0 || !strings.Contains(r.stdout, "refused a GitOps claim: service/"+b) {
		t.Fatalf("validate: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	assertNoToken(t, org, r)
}
