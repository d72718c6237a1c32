package resync_test

import (
	"context"
	"fmt"
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
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

func TestFileAndSearchReferences(t *testing.T) {
	e := newEnv(t, allOf)
	svc := e.service(t)
	e.sim.SetFile(svc.ID, "OWNERS", "team-payments\n")
	m, err := mapping.Parse([]byte(`
resources:
  - kind: project
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          blueprint: '"service"'
          properties:
            owners: '"file://OWNERS"'
            readme: '"file://README.md"'
            hasK8s: '"search://scope=blobs&&query=kind: Deployment"'
`))
	if err != nil {
		t.Fatal(err)
	}
	e.mustResync(t, m, e.store)
	ents, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "service"})
	for _, x := range ents {
		switch x.Identifier {
		case svc.PathWithNamespace:
			if x.Properties["owners"] != "team-payments\n" || x.Properties["hasK8s"] != true || !strings.HasPrefix(x.Properties["readme"].(string), "# ") {
				t.Fatalf("service: %v", x.Properties)
			}
		default:
			if x.Properties["owners"] != nil {
				t.Fatalf("%s: a missing file must be null: %v", x.Identifier, x.Properties["owners"])
			}
		}
	}
}

func TestFileAndFolderKinds(t *testing.T) {
	e := newEnv(t, allOf)
	svc := e.service(t)
	m, err := mapping.Parse([]byte(`
entityDeletionThreshold: 1
resources:
  - kind: file
    selector:
      query: 'true'
      files: {path: '**/k8s.yaml', repos: [` + svc.PathWithNamespace + `]}
    port:
      itemsToParse: .file.content
      entity:
        mappings:
          identifier: .repo.path_with_namespace + ":" + .file.path + ":" + .item.kind
          blueprint: '"k8sObject"'
          properties:
            kind: .item.kind
            name: .item.metadata.name
            contentRemoved: .file.content == null
  - kind: folder
    selector:
      query: 'true'
      folders: [{path: 'internal/*', repos: [{name: ` + svc.PathWithNamespace + `, branch: main}]}]
    port:
      entity:
        mappings:
          identifier: .repo.path_with_namespace + "/" + .folder.path
          blueprint: '"folder"'
          properties:
            branch: .__branch
`))
	if err != nil {
		t.Fatal(err)
	}
	e.mustResync(t, m, e.store)
	objs, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "k8sObject"})
	// deploy/k8s.yaml holds two YAML documents: one file object whose
	// content is the list of both, two entities through itemsToParse,
	// whose items no longer carry the list (itemsToParseTopLevelTransform).
	if len(objs) != 2 || objs[0].Properties["kind"] != "Deployment" || objs[1].Properties["kind"] != "Service" || objs[0].Properties["contentRemoved"] != true {
		t.Fatalf("k8s objects %+v", objs)
	}
	folders, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "folder"})
	if len(folders) != 1 || folders[0].Identifier != svc.PathWithNamespace+"/internal/handler" || folders[0].Properties["branch"] != "main" {
		t.Fatalf("folders %+v", folders)
	}
	// Only a file confirmed gone is deleted: remove it, resync, it goes.
	e.sim.SetFile(svc.ID, "deploy/k8s.yaml", "")
	sum, _ := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: m, Store: e.store,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Client: gitlab.Options{RetryBase: time.Millisecond}})
	if k := kind(sum, "file"); k.Deleted != 2 || k.Failed() {
		t.Fatalf("after removal: %+v", k)
	}
}

func TestGitOpsSpecFiles(t *testing.T) {
	e := newEnv(t, allOf)
	m, err := mapping.Parse([]byte("specPath: '**/port.yml'\nresources: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.mustResync(t, m, e.store)
	runbooks, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "runbook"})
	oncalls, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "oncall"})
	want := 0
	for _, p := range e.sim.Projects() {
		if !p.EmptyRepo && p.ID%3 == 0 {
			want++
		}
	}
	if len(runbooks) != want || len(oncalls) != want || want == 0 {
		t.Fatalf("runbooks %d, oncalls %d, want %d each", len(runbooks), len(oncalls), want)
	}
	// The on-call entity relates to the runbook declared beside it.
	if oncalls[0].Relations["runbook"] != strings.TrimSuffix(oncalls[0].Identifier, "-oncall")+"-runbook" || runbooks[0].Relations["service"] == nil {
		t.Fatalf("relations %v %v", oncalls[0].Relations, runbooks[0].Relations)
	}
}

func TestFileSearchStrategies(t *testing.T) {
	e := newEnv(t, allOf)
	var want int
	for _, p := range e.sim.Projects() {
		if !p.EmptyRepo && strings.HasSuffix(p.Name, "Service") {
			want++
		}
	}
	for _, strategy := range []string{"repositoryTree", "projectSearch", "groupSearch", "groupSearch+advanced"} {
		t.Run(strategy, func(t *testing.T) {
			e.sim.SetAdvancedSearch(strategy == "groupSearch+advanced")
			strategy, _, _ := strings.Cut(strategy, "+")
			m, err := mapping.Parse([]byte(`
resources:
  - kind: file
    selector: {query: 'true', searchStrategy: ` + strategy + `, files: {path: '**/catalog-info.json'}}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace, blueprint: '"f"', properties: {tier: .file.content.tier}}}}
`))
			if err != nil {
				t.Fatal(err)
			}
			st, _ := sqlitestore.Open(t.TempDir())
			defer st.Close()
			e.sim.ResetRequests()
			e.mustResync(t, m, st)
			ents, _ := st.List(context.Background(), catalog.Filter{})
			if len(ents) != want {
				t.Fatalf("%d files, want %d", len(ents), want)
			}
			counts, _ := e.sim.Requests()
			switch strategy {
			case "projectSearch":
				if counts["GET /projects/:id/search"] == 0 || counts["GET /projects/:id/repository/:id"] != 0 {
					t.Fatalf("projectSearch must use the search API: %v", counts)
				}
			case "groupSearch":
				if t.Name() == "TestFileSearchStrategies/groupSearch+advanced" {
					// One search per root group, no tree listings.
					if counts["GET /groups/:id/search"] == 0 || counts["GET /projects/:id/repository/:id"] != 0 {
						t.Fatalf("groupSearch with advanced search must not list trees: %v", counts)
					}
					break
				}
				// No advanced search: a 400, then the tree.
				if counts["GET /groups/:id/search"] == 0 || counts["GET /projects/:id/repository/:id"] == 0 {
					t.Fatalf("groupSearch must fall back to the tree: %v", counts)
				}
			}
		})
	}
}

// TestUnreadableFileKeepsItsEntity checks that a file the tree lists but
// GitLab does not serve (403, 404, over the size limit) is reported and
// deletes nothing, while a file gone from the tree is deleted. 404 and
// over the limit are the file's own, permanent failures: the kind
// completes with a file error; a 403 (the token's rights) fails it.
func TestUnreadableFileKeepsItsEntity(t *testing.T) {
	e := newEnv(t, allOf)
	svc := e.service(t)
	m, err := mapping.Parse([]byte(`
entityDeletionThreshold: 1
resources:
  - kind: file
    selector: {query: 'true', files: {path: 'deploy/k8s.yaml', repos: [` + svc.PathWithNamespace + `]}}
    port: {itemsToParse: .file.content, entity: {mappings: {identifier: .repo.path_with_namespace + ":" + .item.kind, blueprint: '"k8sObject"'}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	e.mustResync(t, m, e.store)
	if objs, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "k8sObject"}); len(objs) != 2 {
		t.Fatalf("%d entities before, want 2", len(objs))
	}
	counts, _ := e.sim.Requests()
	var rawRoute string
	for k := range counts {
		if strings.Contains(k, "k8s.yaml") {
			rawRoute = k
		}
	}
	if rawRoute == "" {
		t.Fatalf("no raw read of the file in %v", counts)
	}
	for _, tc := range []struct {
		name    string
		setup   func()
		want    string
		fileErr string // the FileError's reason; "" for a failed kind
	}{
		{"403", func() { e.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{rawRoute: 403}}) }, "403", ""},
		{"404", func() { e.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{rawRoute: 404}}) }, "404", crawl.ReasonNotFound},
		{"too large", func() {
			e.sim.SetFaults(gitlabtest.Faults{})
			e.sim.SetFile(svc.ID, "deploy/k8s.yaml", strings.Repeat("# padding\n", 120_000))
		}, "larger than the limit", crawl.ReasonTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			sum, _ := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: m, Store: e.store,
				Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Client: gitlab.Options{RetryBase: time.Millisecond, MaxRetries: 1}})
			k := kind(sum, "file")
			if tc.fileErr != "" {
				if k.Failed() || k.Deleted != 0 || k.FileErrorsTotal != 1 || k.FileErrors[0].Reason != tc.fileErr ||
					k.FileErrors[0].Path != "deploy/k8s.yaml" || k.FileErrors[0].Project != svc.PathWithNamespace || !strings.Contains(k.FileErrors[0].Error(), tc.want) {
					t.Fatalf("want a completed kind reporting the file (%s) and no deletion: %+v %v", tc.fileErr, k, k.FileErrors)
				}
			} else if !k.Failed() || k.Deleted != 0 || !strings.Contains(fmt.Sprint(k.Errors), tc.want) || !strings.Contains(fmt.Sprint(k.Errors), "k8s.yaml") {
				t.Fatalf("want a failed kind naming the file (%s) and no deletion: %+v", tc.want, k)
			}
			if objs, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "k8sObject"}); len(objs) != 2 {
				t.Fatalf("%d entities kept, want 2", len(objs))
			}
		})
	}
	// Gone from the tree: deleted.
	e.sim.SetFile(svc.ID, "deploy/k8s.yaml", "")
	sum, _ := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: m, Store: e.store,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Client: gitlab.Options{RetryBase: time.Millisecond}})
	if k := kind(sum, "file"); k.Failed() || k.Deleted != 2 {
		t.Fatalf("after removal: %+v", k)
	}
}

// A committer of one project declares, in its port.yml, the service
// entity the project kind made for another project: the resync does not
// write it (the other project's entity keeps its title), reports the
// refusal in the summary, and the rest of the spec files are written.
func TestSpecFileClaimOnAnotherProjectIsRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, allOf)
	var a, b gitlabtest.ProjectInfo
	for _, p := range e.sim.Projects() {
		switch {
		case p.EmptyRepo:
		case a.ID == 0:
			a = p
		case b.ID == 0:
			b = p
		}
	}
	projects, err := mapping.Parse([]byte(`
resources:
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, title: .name, blueprint: '"service"'}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	e.mustResync(t, projects, e.store)
	e.sim.SetFile(a.ID, "port.yml", "identifier: "+b.PathWithNamespace+"\nblueprint: service\ntitle: Taken by A's committer\n")
	m, err := mapping.Parse([]byte("specPath: '**/port.yml'\nresources: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	sum := e.mustResync(t, m, e.store)
	k := kind(sum, mapping.GitOpsKind)
	if k.Failed() || k.RefusedClaimsTotal != 1 || k.RefusedClaims[0].Identifier != b.PathWithNamespace || k.RefusedClaims[0].Project != a.ID || k.RefusedClaims[0].Owner.Kind != "project" {
		t.Fatalf("gitops kind: %+v", k)
	}
	ents, _ := e.store.List(ctx, catalog.Filter{Blueprint: "service"})
	for _, x := range ents {
		if x.Identifier == b.PathWithNamespace && x.Title != b.Name {
			t.Fatalf("B's entity was taken: %+v", x)
		}
	}
	if rec := resync.NewRecord(sum, "test", ""); len(rec.RefusedClaims) != 1 {
		t.Fatalf("record's refused claims: %v", rec.RefusedClaims)
	}
}

// The attack of issue 22 part 2 through a resync: two committed files,
// each holding 300 "file://big.txt" values naming a 1 MiB file. big.txt is
// read once in the resync (the kind's objects share the cache), each
// entity gets at most the budget resolved and the rest as strings, one
// warning per file names it, and the kind completes.
func TestFileReferencesBoundedInAResync(t *testing.T) {
	e := newEnv(t, allOf)
	p := e.service(t)
	e.sim.SetFile(p.ID, "big.txt", strings.Repeat("x", crawl.MaxFileSize))
	var doc strings.Builder
	for i := range 300 {
		fmt.Fprintf(&doc, "k%03d: file://big.txt\n", i)
	}
	e.sim.SetFile(p.ID, "catalog/a.yml", doc.String())
	e.sim.SetFile(p.ID, "catalog/b.yml", doc.String())
	sel := "      files: {path: 'catalog/*.yml', repos: [" + p.PathWithNamespace + "]}\n"
	maps := "          identifier: .file.path\n          blueprint: '\"f\"'\n          properties:\n" +
		"            resolved: '[.file.content[0][] | select(. != \"file://big.txt\")] | length'\n" +
		"            left: '[.file.content[0][] | select(. == \"file://big.txt\")] | length'\n"
	m := oceanMapping(t, mapping.OceanV2, "file", sel, maps)
	e.sim.ResetRequests()
	e.mustResync(t, m, e.store)
	counts, _ := e.sim.Requests()
	if n := counts["GET /projects/:id/repository/:id/big.txt/:id"]; n != 1 {
		t.Errorf("big.txt read %d times in the resync, want once", n)
	}
	want := crawl.MaxFileRefBytes / crawl.MaxFileSize
	for _, id := range []string{"catalog/a.yml", "catalog/b.yml"} {
		x := catalogByKey(t, e.store)[catalog.Key{Blueprint: "f", Identifier: id}]
		if x == nil || x.Properties["resolved"] != float64(want) || x.Properties["left"] != float64(300-want) {
			t.Fatalf("%s: %+v", id, x)
		}
	}
	logs := e.logs.String()
	for _, f := range []string{"catalog/a.yml", "catalog/b.yml"} {
		if n := strings.Count(logs, "project="+p.PathWithNamespace+" file="+f+" ref="+p.DefaultBranch+" resolved="); n != 1 {
			t.Errorf("%d warnings for %s, want 1:\n%s", n, f, logs)
		}
	}
}
