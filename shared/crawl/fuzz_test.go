package crawl

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// repositorySeeds are the files the simulated GitLab serves that a spec
// file or file:// resolution reads (port.yml, catalog-info.json, a
// Kubernetes manifest), read from it as glsync reads them, and Ocean's
// documented examples: real content to mutate from.
func repositorySeeds(f *testing.F) [][]byte {
	f.Helper()
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 12, Seed: 7})
	ts := sim.Start(f)
	c, err := gitlab.New(ts.URL, org.AdminToken, gitlab.Options{RetryBase: time.Millisecond}, nil)
	if err != nil {
		f.Fatal(err)
	}
	src := &Source{Client: c}
	seeds := [][]byte{
		// Ocean's GitOps example (docs: GitLab, GitOps).
		[]byte("identifier: myService\ntitle: My Service\nblueprint: service\nproperties:\n  language: Python\n  readme: file://README.md\nrelations:\n  team: backend\n"),
		[]byte(`[{"identifier": "a", "blueprint": "b", "properties": {"doc": "file://docs/index.md", "spec": "file:///etc/passwd"}}]`),
		[]byte("name: a\nowner: file://docs/owner.txt\n---\nname: b\nlinks: [file://docs/owner.txt]\n"),
		[]byte("a: &x {r: file://README.md}\nb: *x\nc: [*x, {r: file://missing.txt}, {r: file://big.txt}]\n"),
	}
	for _, p := range sim.Projects() {
		if p.EmptyRepo {
			continue
		}
		for _, path := range []string{"port.yml", "catalog-info.json", "deploy/k8s.yaml"} {
			b, err := src.FileBytes(context.Background(), p.ID, path, p.DefaultBranch)
			if err != nil {
				f.Fatal(err)
			}
			if b != nil {
				seeds = append(seeds, b)
			}
		}
	}
	return seeds
}

// FuzzSpecFile parses GitOps spec files as SpecEntities does for a resync
// and a push. It must not panic; a file it refuses is a FileError naming
// the file with a spec reason; what it accepts is entities (none for an
// empty list: a file emptied to delete what it declared) with a string
// identifier and blueprint, each marked with its project and file.
func FuzzSpecFile(f *testing.F) {
	for _, s := range repositorySeeds(f) {
		f.Add(s)
	}
	pr := map[string]any{"id": float64(7), "path_with_namespace": "acme/svc"}
	f.Fuzz(func(t *testing.T, content []byte) {
		if len(content) > 64<<10 {
			t.Skip("input larger than 64 KB")
		}
		out, err := SpecEntities(pr, "port.yml", "main", content)
		if err != nil {
			fe, ok := AsFileError(err)
			if !ok || fe.Path != "port.yml" || fe.Project != "acme/svc" || fe.Ref != "main" ||
				(fe.Reason != ReasonInvalid && fe.Reason != ReasonNotEntity) {
				t.Fatalf("not a spec FileError: %#v", err)
			}
			return
		}
		for _, e := range out {
			if id, _ := e["identifier"].(string); id == "" {
				t.Fatalf("identifier %#v", e["identifier"])
			}
			if bp, _ := e["blueprint"].(string); bp == "" {
				t.Fatalf("blueprint %#v", e["blueprint"])
			}
			if e["__specFile"] != "port.yml" || e["__project"] == nil {
				t.Fatalf("not marked with its file and project: %v %v", e["__specFile"], e["__project"])
			}
		}
	})
}

// FuzzFileRefs resolves file:// values in content parsed as the file
// kind parses it (v2, JSON or YAML), with a small random budget and a
// reader that counts its reads. It must not panic, never read a path
// twice nor more paths than the budget, never resolve more values or
// bytes than the budget, leave no value unresolved while the budget
// lasts, and resolve the same content the same way every time.
func FuzzFileRefs(f *testing.F) {
	for _, s := range repositorySeeds(f) {
		f.Add(s, true, uint8(3), uint16(64))
		f.Add(s, false, uint8(100), uint16(4096))
	}
	f.Fuzz(func(t *testing.T, content []byte, yml bool, maxRefs uint8, maxBytes uint16) {
		if len(content) > 64<<10 {
			t.Skip("input larger than 64 KB")
		}
		name := "catalog.json"
		if yml {
			name = "catalog.yml"
		}
		resolve := func() (any, *fileRefs, map[string]int, error) {
			reads := map[string]int{}
			fr := &fileRefs{maxRefs: int(maxRefs), maxBytes: int(maxBytes), read: func(_ context.Context, p string) (*string, error) {
				reads[p]++
				switch {
				case strings.Contains(p, "missing"):
					return nil, nil
				case strings.Contains(p, "big"):
					return nil, &FileError{Path: p, Reason: ReasonTooLarge, Err: errors.New("fake")}
				}
				// Never a file:// value itself, so what is left is
				// what was not resolved.
				c := strings.Repeat("c", len(p)*7%200)
				return &c, nil
			}}
			v, err := fr.resolve(context.Background(), parseFile("v2", name, content))
			return v, fr, reads, err
		}
		v, fr, reads, err := resolve()
		for p, n := range reads {
			if n > 1 {
				t.Fatalf("%q read %d times", p, n)
			}
		}
		if len(reads) > int(maxRefs) || fr.resolved > int(maxRefs) || fr.bytes > int(maxBytes) {
			t.Fatalf("over the budget (%d, %d): %d reads, %d resolved, %d bytes", maxRefs, maxBytes, len(reads), fr.resolved, fr.bytes)
		}
		if err != nil {
			if fe, ok := AsFileError(err); !ok || !strings.Contains(fe.Path, "big") {
				t.Fatalf("error %v", err)
			}
			return
		}
		if fr.left > 0 != fr.spent {
			t.Fatalf("%d left, spent %v", fr.left, fr.spent)
		}
		if n := unresolved(v); fr.left == 0 && n > 0 {
			t.Fatalf("%d values unresolved within the budget", n)
		}
		again, _, _, _ := resolve()
		if !reflect.DeepEqual(v, again) {
			t.Fatalf("resolved differently the second time:\n%v\n%v", v, again)
		}
	})
}

// unresolved counts the values resolve would resolve: object values
// "file://..." that are not "file:///...".
func unresolved(v any) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if s, ok := e.(string); ok && strings.HasPrefix(s, "file://") && !strings.HasPrefix(s, "file:///") {
				n++
			} else {
				n += unresolved(e)
			}
		}
	case []any:
		for _, e := range x {
			n += unresolved(e)
		}
	}
	return n
}
