package resync_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
)

// specProjects are the projects whose repository has a port.yml.
func specProjects(e *env) []gitlabtest.ProjectInfo {
	var out []gitlabtest.ProjectInfo
	for _, p := range e.sim.Projects() {
		if !p.EmptyRepo && p.ID%3 == 0 {
			out = append(out, p)
		}
	}
	return out
}

// specEntity is the port.yml the simulator writes, for one entity.
func specEntity(id, title string) string {
	return fmt.Sprintf("- identifier: %s\n  title: %s\n  blueprint: runbook\n", id, title)
}

// catalogByKey is every entity of the store, by key.
func catalogByKey(t *testing.T, st catalog.Store) map[catalog.Key]*catalog.Entity {
	t.Helper()
	ents, err := st.List(context.Background(), catalog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[catalog.Key]*catalog.Entity{}
	for _, e := range ents {
		out[e.Key()] = e
	}
	return out
}

func (e *env) run(t *testing.T, m *mapping.Config) *resync.Summary {
	t.Helper()
	sum, err := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: m, Store: e.store,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Client: gitlab.Options{RetryBase: time.Millisecond, MaxRetries: 2}})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// A broken port.yml in one project among many fails neither the GitOps
// kind nor the resync: the other projects' entities are written, the
// broken file's entities stay exactly as they were through two resyncs,
// stale entities elsewhere are still deleted, and the summary names the
// file.
func TestBrokenSpecFileIsIsolated(t *testing.T) {
	for _, tc := range []struct {
		name, content, reason string
	}{
		{"invalid YAML", "- identifier: [unclosed\n  blueprint: runbook\n", crawl.ReasonInvalid},
		{"not an entity", "just a sentence someone wrote\n", crawl.ReasonNotEntity},
		{"entity without identifier", "- title: no identifier\n  blueprint: runbook\n", crawl.ReasonNotEntity},
		{"over 1 MiB", specEntity("big", "big") + strings.Repeat("# padding\n", 120_000), crawl.ReasonTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, allOf)
			specs := specProjects(e)
			if len(specs) < 4 {
				t.Fatalf("%d projects with a port.yml", len(specs))
			}
			m, err := mapping.Parse([]byte("specPath: '**/port.yml'\nentityDeletionThreshold: 1\nresources: []\n"))
			if err != nil {
				t.Fatal(err)
			}
			e.mustResync(t, m, e.store)
			before := catalogByKey(t, e.store)

			// The broken one is in the middle of the listing, so projects
			// are read both before and after it.
			broken, shrunk, grown := specs[len(specs)/2], specs[0], specs[len(specs)-1]
			slug := func(p gitlabtest.ProjectInfo) string { return strings.ReplaceAll(p.PathWithNamespace, "/", "-") }
			brokenKeys := []catalog.Key{{Blueprint: "runbook", Identifier: slug(broken) + "-runbook"}, {Blueprint: "oncall", Identifier: slug(broken) + "-oncall"}}
			for _, k := range brokenKeys {
				if before[k] == nil {
					t.Fatalf("%v missing before", k)
				}
			}
			e.sim.SetFile(broken.ID, "port.yml", tc.content)
			// Another project drops its on-call entity: stale, deleted.
			e.sim.SetFile(shrunk.ID, "port.yml", specEntity(slug(shrunk)+"-runbook", "shrunk"))
			// Another declares a new one (and drops its on-call too).
			e.sim.SetFile(grown.ID, "port.yml", specEntity(slug(grown)+"-runbook", "grown")+specEntity(slug(grown)+"-extra", "extra"))

			for pass := 1; pass <= 2; pass++ {
				sum := e.run(t, m)
				k := kind(sum, mapping.GitOpsKind)
				if sum.Failed() || k.Failed() || sum.Outcome() != resync.OutcomeFileErrors {
					t.Fatalf("pass %d: the resync must complete with file errors: %s %v", pass, sum.Outcome(), sum.Err())
				}
				if k.FileErrorsTotal != 1 || len(k.FileErrors) != 1 {
					t.Fatalf("pass %d: want the one broken file reported: %+v", pass, k.FileErrors)
				}
				fe := k.FileErrors[0]
				if fe.Project != broken.PathWithNamespace || fe.ProjectID != broken.ID || fe.Path != "port.yml" || fe.Reason != tc.reason {
					t.Fatalf("pass %d: file error %+v, want %s port.yml %q", pass, fe, broken.PathWithNamespace, tc.reason)
				}
				wantDeleted := 0
				if pass == 1 {
					wantDeleted = 2 // shrunk's and grown's on-call
				}
				if k.Deleted != wantDeleted {
					t.Fatalf("pass %d: deleted %d, want %d", pass, k.Deleted, wantDeleted)
				}
				now := catalogByKey(t, e.store)
				for _, key := range brokenKeys {
					was, is := before[key], now[key]
					if is == nil {
						t.Fatalf("pass %d: %v, produced by the broken file, was deleted", pass, key)
					}
					if is.Title != was.Title || fmt.Sprint(is.Properties) != fmt.Sprint(was.Properties) || fmt.Sprint(is.Relations) != fmt.Sprint(was.Relations) {
						t.Fatalf("pass %d: %v changed: %+v, was %+v", pass, key, is, was)
					}
				}
				if now[catalog.Key{Blueprint: "oncall", Identifier: slug(shrunk) + "-oncall"}] != nil || now[catalog.Key{Blueprint: "oncall", Identifier: slug(grown) + "-oncall"}] != nil {
					t.Fatalf("pass %d: the on-call entity dropped from another port.yml must be deleted", pass)
				}
				if x := now[catalog.Key{Blueprint: "runbook", Identifier: slug(grown) + "-extra"}]; x == nil || x.Title != "extra" {
					t.Fatalf("pass %d: the entity added in another port.yml must be written: %+v", pass, x)
				}
				if x := now[catalog.Key{Blueprint: "runbook", Identifier: slug(shrunk) + "-runbook"}]; x == nil || x.Title != "shrunk" {
					t.Fatalf("pass %d: the entity updated in another port.yml must be written: %+v", pass, x)
				}
			}
			// One log line per file per resync.
			if n := strings.Count(e.logs.String(), "file skipped"); n != 2 {
				t.Fatalf("%d log lines for the broken file over two resyncs, want 2:\n%s", n, e.logs.String())
			}
			// Fixed: its entities follow the file again, and the one it
			// no longer declares is deleted.
			e.sim.SetFile(broken.ID, "port.yml", specEntity(slug(broken)+"-runbook", "fixed"))
			sum := e.run(t, m)
			if k := kind(sum, mapping.GitOpsKind); sum.Outcome() != resync.OutcomeOK || k.Deleted != 1 {
				t.Fatalf("after the fix: %s, deleted %d", sum.Outcome(), k.Deleted)
			}
			now := catalogByKey(t, e.store)
			if now[brokenKeys[1]] != nil || now[brokenKeys[0]] == nil || now[brokenKeys[0]].Title != "fixed" {
				t.Fatalf("after the fix: %+v %+v", now[brokenKeys[0]], now[brokenKeys[1]])
			}
		})
	}
}

// A transient failure reading a spec file (5xx after retries) still
// fails the kind: nothing is deleted, as before.
func TestTransientSpecFileFailureFailsKind(t *testing.T) {
	e := newEnv(t, allOf)
	m, err := mapping.Parse([]byte("specPath: '**/port.yml'\nresources: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	e.mustResync(t, m, e.store)
	counts, _ := e.sim.Requests()
	var route string
	for r := range counts {
		if strings.Contains(r, "port.yml") {
			route = r
		}
	}
	if route == "" {
		t.Fatalf("no read of port.yml in %v", counts)
	}
	e.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{route: 502}})
	sum := e.run(t, m)
	if k := kind(sum, mapping.GitOpsKind); !k.Failed() || k.Deleted != 0 || k.FileErrorsTotal != 0 || sum.Outcome() != resync.OutcomeFailed {
		t.Fatalf("a 502 must fail the kind: %s %+v", sum.Outcome(), k)
	}
}

// A file:// value naming a file over the size limit, inside a file's
// content or in a mapped property, is a file error: the entities that
// needed it keep their stored values, the kind's other entities are
// written, nothing is deleted, and the summary names both files.
func TestFileReferenceOverTheLimit(t *testing.T) {
	e := newEnv(t, allOf)
	p := e.service(t)
	big := strings.Repeat("# padding\n", 120_000)
	e.sim.SetFile(p.ID, "catalog/a.yml", "name: a\nowner: file://docs/owner.txt\n")
	e.sim.SetFile(p.ID, "catalog/b.yml", "name: b\n")
	e.sim.SetFile(p.ID, "docs/owner.txt", "team-x\n")
	e.sim.SetFile(p.ID, "docs/notes.txt", "notes\n")
	sel := "      files: {path: 'catalog/*.yml', repos: [" + p.PathWithNamespace + "]}\n"
	maps := "          identifier: .file.path\n          blueprint: '\"f\"'\n          properties:\n            name: .file.content[0].name\n" +
		"            owner: .file.content[0].owner\n            notes: '\"file://docs/notes.txt\"'\n"
	m := oceanMapping(t, mapping.OceanV2, "file", sel, maps)
	m.EntityDeletionThreshold = 1
	e.mustResync(t, m, e.store)
	get := func(id string) *catalog.Entity {
		return catalogByKey(t, e.store)[catalog.Key{Blueprint: "f", Identifier: id}]
	}
	if a := get("catalog/a.yml"); a == nil || a.Properties["owner"] != "team-x\n" || a.Properties["notes"] != "notes\n" {
		t.Fatalf("before: %+v", a)
	}

	// Inside a's content: a is kept, b is written.
	e.sim.SetFile(p.ID, "docs/owner.txt", big)
	e.sim.SetFile(p.ID, "catalog/a.yml", "name: a2\nowner: file://docs/owner.txt\n")
	e.sim.SetFile(p.ID, "catalog/b.yml", "name: b2\n")
	sum := e.run(t, m)
	k := kind(sum, "file")
	if k.Failed() || k.Deleted != 0 || k.FileErrorsTotal != 1 {
		t.Fatalf("file:// in content: %s %+v", sum.Outcome(), k)
	}
	if fe := k.FileErrors[0]; fe.Path != "docs/owner.txt" || fe.ReferencedFrom != "catalog/a.yml" || fe.Reason != crawl.ReasonTooLarge || fe.Project != p.PathWithNamespace {
		t.Fatalf("file error %+v", fe)
	}
	if a, b := get("catalog/a.yml"), get("catalog/b.yml"); a == nil || a.Properties["name"] != "a" || a.Properties["owner"] != "team-x\n" || b == nil || b.Properties["name"] != "b2" {
		t.Fatalf("a must be kept, b written: %+v %+v", a, b)
	}

	// In a mapped property: every entity that needs it is kept.
	e.sim.SetFile(p.ID, "docs/owner.txt", "team-y\n")
	e.sim.SetFile(p.ID, "docs/notes.txt", big)
	sum = e.run(t, m)
	k = kind(sum, "file")
	if k.Failed() || k.Deleted != 0 || k.FileErrorsTotal != 1 || k.FileErrors[0].Path != "docs/notes.txt" || k.FileErrors[0].Reason != crawl.ReasonTooLarge {
		t.Fatalf("file:// in a property: %s %+v %v", sum.Outcome(), k, k.FileErrors)
	}
	if a := get("catalog/a.yml"); a == nil || a.Properties["name"] != "a" || a.Properties["notes"] != "notes\n" {
		t.Fatalf("a must be kept as it was: %+v", a)
	}
}

// A SKILL.md or a plugin manifest over the size limit is a file error of
// its kind: the entity it produced is kept as it was, the other skills
// are written, and nothing is deleted.
func TestSkillAndPluginFilesOverTheLimit(t *testing.T) {
	e := newEnv(t, allOf)
	p := e.service(t)
	big := strings.Repeat("# padding\n", 120_000)
	skill := func(name, text string) string {
		return "---\nname: " + name + "\ndescription: " + text + "\n---\n" + text + "\n"
	}
	e.sim.SetFile(p.ID, "skills/review/SKILL.md", skill("review", "first"))
	e.sim.SetFile(p.ID, "skills/deploy/SKILL.md", skill("deploy", "first"))
	e.sim.SetFile(p.ID, ".claude-plugin/plugin.json", `{"name": "helper", "description": "first", "version": "1.0.0"}`)
	m, err := mapping.Parse([]byte(`
entityDeletionThreshold: 1
resources:
  - kind: skill
    selector: {query: 'true', paths: [{path: 'skills/**/SKILL.md', repos: [` + p.PathWithNamespace + `]}]}
    port: {entity: {mappings: {identifier: .skill.skillMdPath, blueprint: '"skill"', properties: {description: .skill.description}}}}
  - kind: plugin
    selector: {query: 'true', repos: [` + p.PathWithNamespace + `]}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace, blueprint: '"plugin"', properties: {description: .plugin.description}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	e.mustResync(t, m, e.store)
	before := catalogByKey(t, e.store)
	review, deploy, plugin := catalog.Key{Blueprint: "skill", Identifier: "skills/review/SKILL.md"},
		catalog.Key{Blueprint: "skill", Identifier: "skills/deploy/SKILL.md"}, catalog.Key{Blueprint: "plugin", Identifier: p.PathWithNamespace}
	for _, k := range []catalog.Key{review, deploy, plugin} {
		if before[k] == nil || before[k].Properties["description"] != "first" {
			t.Fatalf("%v before: %+v", k, before[k])
		}
	}
	e.sim.SetFile(p.ID, "skills/review/SKILL.md", skill("review", "second")+big)
	e.sim.SetFile(p.ID, "skills/deploy/SKILL.md", skill("deploy", "second"))
	e.sim.SetFile(p.ID, ".claude-plugin/plugin.json", `{"name": "helper", "description": "second", "version": "1.0.0", "padding": "`+strings.Repeat("x", 1<<20)+`"}`)
	sum := e.run(t, m)
	if sum.Failed() || sum.Outcome() != resync.OutcomeFileErrors {
		t.Fatalf("%s %v", sum.Outcome(), sum.Err())
	}
	for kindName, path := range map[string]string{"skill": "skills/review/SKILL.md", "plugin": ".claude-plugin/plugin.json"} {
		k := kind(sum, kindName)
		if k.Deleted != 0 || k.FileErrorsTotal != 1 || k.FileErrors[0].Path != path || k.FileErrors[0].Reason != crawl.ReasonTooLarge {
			t.Fatalf("%s: %+v %v", kindName, k, k.FileErrors)
		}
	}
	now := catalogByKey(t, e.store)
	if now[review] == nil || now[review].Properties["description"] != "first" || now[plugin] == nil || now[plugin].Properties["description"] != "first" {
		t.Fatalf("the entities of the files over the limit must be kept: %+v %+v", now[review], now[plugin])
	}
	if now[deploy] == nil || now[deploy].Properties["description"] != "second" {
		t.Fatalf("the other skill must be written: %+v", now[deploy])
	}
}

// With incremental resyncs, a project with a skipped file is not recorded
// as read: every pass reads it again and reports the file, until a commit
// fixes it, while unchanged projects are skipped.
func TestBrokenSpecFileWithIncrementalResyncs(t *testing.T) {
	e := newIncrementalEnv(t, 7, false)
	m, err := mapping.Parse([]byte("specPath: '**/port.yml'\nresources: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	e.resync(t, false)
	var broken gitlabtest.ProjectInfo
	for _, p := range e.sim.Projects() {
		if !p.EmptyRepo && p.ID%3 == 0 {
			broken = p
			break
		}
	}
	if broken.ID == 0 {
		t.Fatal("no project with a port.yml")
	}
	// GitLab's hour of grace would make every pass of this test read the
	// project again anyway; without it, only the missing mark does.
	incremental := func() *resync.Summary {
		sum, err := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: e.m, Store: e.store,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Incremental: true, ActivityGrace: time.Nanosecond})
		if err != nil || sum.Failed() {
			t.Fatalf("incremental resync: %v %v", err, sum.Err())
		}
		return sum
	}
	time.Sleep(10 * time.Millisecond)
	e.sim.PushFile(context.Background(), broken.ID, "port.yml", "- identifier: [unclosed\n")
	time.Sleep(10 * time.Millisecond)
	for pass := 1; pass <= 3; pass++ {
		sum := incremental()
		k := kindOf(sum, mapping.GitOpsKind)
		if k.FileErrorsTotal != 1 || k.FileErrors[0].ProjectID != broken.ID || k.Deleted != 0 {
			t.Fatalf("pass %d: want the broken file reported again and nothing deleted: %+v", pass, k)
		}
		if k.Full || k.SkippedProjects == 0 {
			t.Fatalf("pass %d: want an incremental pass: %+v", pass, k)
		}
	}
	slug := strings.ReplaceAll(broken.PathWithNamespace, "/", "-")
	if catalogByKey(t, e.store)[catalog.Key{Blueprint: "oncall", Identifier: slug + "-oncall"}] == nil {
		t.Fatal("the broken file's entity was deleted")
	}
	e.sim.PushFile(context.Background(), broken.ID, "port.yml", specEntity(slug+"-runbook", "fixed"))
	time.Sleep(10 * time.Millisecond)
	sum := incremental()
	if k := kindOf(sum, mapping.GitOpsKind); k.FileErrorsTotal != 0 || k.Deleted != 1 {
		t.Fatalf("after the fix: %+v", k)
	}
}

// An includedFiles file over the limit leaves the project's file and
// folder objects out: their entities keep the stored values.
func TestIncludedFileOverTheLimit(t *testing.T) {
	e := newEnv(t, allOf)
	p := e.service(t)
	e.sim.SetFile(p.ID, "apps/api/config.yml", "name: api\n")
	e.sim.SetFile(p.ID, "NOTES.md", "first\n")
	repo := "[" + p.PathWithNamespace + "]"
	for _, tc := range []struct{ kind, sel string }{
		{"file", "      files: {path: 'apps/*/config.yml', repos: " + repo + "}\n      includedFiles: [NOTES.md]\n"},
		{"folder", "      folders: [{path: apps, repos: [{name: " + p.PathWithNamespace + "}]}]\n      includedFiles: [NOTES.md]\n"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			e.sim.SetFile(p.ID, "NOTES.md", "first\n")
			m := oceanMapping(t, mapping.OceanV2, tc.kind, tc.sel,
				"          identifier: .repo.path_with_namespace + (.file.path // .folder.path)\n          blueprint: '\"x\"'\n          properties:\n            notes: .__includedFiles[\"NOTES.md\"]\n")
			st := freshStore(t)
			e.mustResync(t, m, st)
			e.sim.SetFile(p.ID, "NOTES.md", strings.Repeat("# padding\n", 120_000))
			sum, err := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: m, Store: st,
				Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Client: gitlab.Options{RetryBase: time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			k := kind(sum, tc.kind)
			if k.Failed() || k.Deleted != 0 || k.FileErrorsTotal != 1 || k.FileErrors[0].Path != "NOTES.md" || k.FileErrors[0].Reason != crawl.ReasonTooLarge {
				t.Fatalf("%+v %v", k, k.FileErrors)
			}
			if ents := entitiesOf(t, st, "x"); len(ents) != 1 || ents[0].Properties["notes"] != "first\n" {
				t.Fatalf("the entity must be kept as it was: %+v", ents)
			}
		})
	}
}

// A file:// value of the project kind over the limit: project entities
// carry no project to narrow to, so the project is reported and kept,
// and that kind deletes nothing this time (not even a project GitLab
// removed), rather than deleting the kept one.
func TestProjectKindFileReferenceOverTheLimit(t *testing.T) {
	e := newEnv(t, allOf)
	svc := e.service(t)
	m, err := mapping.Parse([]byte(`
entityDeletionThreshold: 1
resources:
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"service"', properties: {readme: '"file://README.md"'}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	e.mustResync(t, m, e.store)
	var gone gitlabtest.ProjectInfo
	for _, p := range e.sim.Projects() {
		if p.ID != svc.ID && len(p.SharedWith) == 0 {
			gone = p
			break
		}
	}
	e.sim.RemoveProject(gone.ID)
	e.sim.SetFile(svc.ID, "README.md", strings.Repeat("# padding\n", 120_000))
	sum := e.run(t, m)
	k := kind(sum, "project")
	if k.Failed() || k.Deleted != 0 || k.FileErrorsTotal != 1 || k.FileErrors[0].Project != svc.PathWithNamespace || k.FileErrors[0].Path != "README.md" {
		t.Fatalf("%+v %v", k, k.FileErrors)
	}
	if x := catalogByKey(t, e.store)[catalog.Key{Blueprint: "service", Identifier: svc.PathWithNamespace}]; x == nil || !strings.HasPrefix(fmt.Sprint(x.Properties["readme"]), "# ") || strings.Contains(fmt.Sprint(x.Properties["readme"]), "padding") {
		t.Fatalf("the project's entity must be kept as it was: %+v", x)
	}
	e.sim.SetFile(svc.ID, "README.md", "# fixed\n")
	if k := kind(e.run(t, m), "project"); k.Failed() || k.FileErrorsTotal != 0 || k.Deleted != 1 {
		t.Fatalf("after the fix the removed project goes: %+v", k)
	}
}
