package crawl

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// A committer's port.yml that expands to billions of nodes through YAML
// aliases ("billion laughs") is refused as not valid YAML, quickly and
// without the memory it asks for.
func TestYAMLAliasBombInASpecFileIsRefused(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		bomb += n + ": &" + n + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = n
	}
	bomb += "identifier: x\nblueprint: service\n"
	start := time.Now()
	_, err := SpecEntities(map[string]any{"id": 1.0, "path_with_namespace": "g/p"}, "port.yml", "main", []byte(bomb))
	var fe *FileError
	if !errors.As(err, &fe) || fe.Reason != ReasonInvalid {
		t.Fatalf("alias bomb: %v", err)
	}
	t.Logf("refused in %v: %v", time.Since(start).Round(time.Millisecond), err)
}

// A file://PATH value in repository content is read through GitLab's API
// from the same repository, never from glsync's own disk; file:/// is
// left as it is (as Ocean does).
func TestFileReferencesNeverReadTheLocalDisk(t *testing.T) {
	local, err := os.ReadFile("/etc/hostname")
	if err != nil || len(strings.TrimSpace(string(local))) == 0 {
		local = []byte("glsync-local-secret")
		dir := t.TempDir()
		if err := os.WriteFile(dir+"/secret", local, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 3, Seed: 3})
	ts := sim.Start(t)
	s := source(t, ts.URL, org.AdminToken, "**")
	var pr map[string]any
	for _, p := range sim.Projects() {
		if !p.EmptyRepo {
			pr = map[string]any{"id": float64(p.ID), "path_with_namespace": p.PathWithNamespace}
			sim.SetFile(p.ID, "config/refs.json", `{"abs": "file:///etc/hostname", "up": "file://../../../../etc/hostname", "rel": "file://etc/hostname"}`)
			break
		}
	}
	objs, err := s.FileObjects(context.Background(), pr, "config/refs.json", "", FileOptions{Generation: "v2"})
	if err != nil || len(objs) != 1 {
		t.Fatalf("file objects %v %v", objs, err)
	}
	content := objs[0]["file"].(map[string]any)["content"].(map[string]any)
	if content["abs"] != "file:///etc/hostname" {
		t.Fatalf("file:/// was resolved: %v", content["abs"])
	}
	for k, v := range content {
		if s, ok := v.(string); ok && strings.Contains(s, strings.TrimSpace(string(local))) {
			t.Fatalf("%s holds the local file's content", k)
		}
	}
	if content["up"] != nil || content["rel"] != nil {
		t.Fatalf("files the repository does not hold resolve to null: %v", content)
	}
}
