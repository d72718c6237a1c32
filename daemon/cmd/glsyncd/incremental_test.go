package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/config"
)

// With incrementalResync on, the second resync skips the unchanged
// projects of the per-project kinds; --full reads them all again.
func TestResyncIncrementalAndFull(t *testing.T) {
	s, org, url := sim(t)
	dir := t.TempDir()
	mappingFile := filepath.Join(dir, "mapping.yml")
	if err := os.WriteFile(mappingFile, []byte(`resources:
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, title: .name, blueprint: '"service"'}}}
  - kind: tag
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: '.__project.path_with_namespace + ":" + .name', title: .name, blueprint: '"gitlabTag"'}}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		config.EnvTokenMapping:      `{"` + org.RootTokens[0] + `": ["**"]}`,
		config.EnvGitLabHost:        url,
		config.EnvIncrementalResync: "true",
		envDataDir:                  filepath.Join(dir, "data"),
		envMapping:                  mappingFile,
	}
	tagLine := func(r result) string {
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "tag ") {
				return l
			}
		}
		t.Fatalf("no tag line in\n%s", r.stdout)
		return ""
	}
	r := runCLI(t, env, "resync")
	if r.code != 0 || !strings.HasSuffix(strings.TrimSpace(tagLine(r)), "full") {
		t.Fatalf("first resync must be full: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, env, "resync")
	if l := tagLine(r); r.code != 0 || !strings.Contains(l, "incremental: 0 projects read") {
		t.Fatalf("second resync must skip every project: %s\n%s", l, r.stderr)
	}
	// A push is activity: that project is read again, only it.
	var pushed int64
	for _, p := range s.Projects() {
		if !p.EmptyRepo && strings.HasPrefix(p.PathWithNamespace, org.Roots[0].FullPath+"/") {
			pushed = p.ID
			break
		}
	}
	s.PushRef(t.Context(), pushed, "refs/tags/v7.0.0", false)
	r = runCLI(t, env, "resync")
	if l := tagLine(r); r.code != 0 || !strings.Contains(l, "incremental: 1 projects read") {
		t.Fatalf("after a tag push, one project read: %s\n%s", l, r.stderr)
	}
	r = runCLI(t, env, "resync", "--full")
	if r.code != 0 || !strings.HasSuffix(strings.TrimSpace(tagLine(r)), "full") {
		t.Fatalf("--full: %s", r.stdout)
	}
	assertNoToken(t, org, r)
}
