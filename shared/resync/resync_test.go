package resync_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/catalog/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	sim   *gitlabtest.Server
	org   gitlabtest.Org
	cfg   *config.Config
	store *sqlitestore.Store
	logs  *syncBuffer
}

// newEnv builds a two-root organisation with more than 250 projects and
// more than 100 groups, so both keyset (projects) and offset (groups)
// pagination run over several pages.
func newEnv(t *testing.T, mapping func(org gitlabtest.Org) tokenmap.Mapping) *env {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{Seed: 3})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 320, Depth: 4, Seed: 3})
	// A platform team with many squads pushes the group count past a page.
	platform := sim.AddGroup(org.Roots[0], "PlatformSquads")
	for i := 0; i < 110; i++ {
		sq := sim.AddGroup(platform, fmt.Sprintf("squad-%03d", i))
		if i%10 == 0 {
			sim.AddProject(sq, "BillingService")
		}
	}
	ts := sim.Start(t)
	store, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := &config.Config{
		TokenMapping:          mapping(org),
		GitLabHost:            ts.URL,
		MaxConcurrentRequests: 8,
		MaxRetries:            8,
	}
	return &env{sim: sim, org: org, cfg: cfg, store: store, logs: &syncBuffer{}}
}

// service is a project with a repository named like a service (it has
// catalog-info.json, deploy/k8s.yaml, ...) that no other root shares.
func (e *env) service(t *testing.T) gitlabtest.ProjectInfo {
	t.Helper()
	for _, p := range e.sim.Projects() {
		if !p.EmptyRepo && strings.HasSuffix(p.Name, "Service") && len(p.SharedWith) == 0 {
			return p
		}
	}
	t.Fatal("the organisation has no service project")
	return gitlabtest.ProjectInfo{}
}

// freshStore opens an empty embedded catalog closed with the test.
func freshStore(t *testing.T) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// mustResync runs one resync of m into store and fails the test unless
// every kind completed.
func (e *env) mustResync(t *testing.T, m *mapping.Config, store catalog.Store) *resync.Summary {
	t.Helper()
	sum, err := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: m, Store: store,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Client: gitlab.Options{RetryBase: time.Millisecond}})
	if err != nil || sum.Failed() {
		t.Fatalf("%v %v", err, sum.Err())
	}
	return sum
}

func allOf(org gitlabtest.Org) tokenmap.Mapping {
	return tokenmap.Mapping{
		{Token: org.RootTokens[0], Patterns: []string{"**"}},
		{Token: org.RootTokens[1], Patterns: []string{"**"}},
	}
}

func (e *env) resync(t *testing.T) *resync.Summary {
	t.Helper()
	m, err := mapping.Load("")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := resync.Run(context.Background(), resync.Options{
		Config:  e.cfg,
		Mapping: m,
		Store:   e.store,
		Logger:  slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Client:  gitlab.Options{RetryBase: time.Millisecond, RetryMax: 20 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range append(append([]string{}, e.org.RootTokens...), e.org.AdminToken) {
		if strings.Contains(e.logs.String(), tok) {
			t.Fatal("a token appears in the logs")
		}
	}
	return sum
}

// expected computes, from the simulator's own data, the identifiers the
// catalog must hold: projects a token can see (its root's subtree or
// shared with its root) that its globs select, and groups in its subtree
// that its globs put in scope.
func (e *env) expected() (projects, groups []string) {
	roots := map[string]int64{}
	for i, r := range e.org.Roots {
		roots[e.org.RootTokens[i]] = r.ID
	}
	gs := e.sim.Groups()
	sc := newRootScope(e.sim)
	pset, gset := map[string]bool{}, map[string]bool{}
	for _, entry := range e.cfg.TokenMapping {
		root := roots[entry.Token]
		for _, p := range e.sim.Projects() {
			if sc.sees(p, root) && entry.MatchProject(p.PathWithNamespace) {
				pset[p.PathWithNamespace] = true
			}
		}
		for _, g := range gs {
			if sc.under(g.ID, root) && entry.MatchGroup(g.FullPath) {
				gset[strconv.FormatInt(g.ID, 10)] = true
			}
		}
	}
	for k := range pset {
		projects = append(projects, k)
	}
	for k := range gset {
		groups = append(groups, k)
	}
	sort.Strings(projects)
	sort.Strings(groups)
	return projects, groups
}

func (e *env) catalogIDs(t *testing.T, blueprint string) []string {
	t.Helper()
	ents, err := e.store.List(context.Background(), catalog.Filter{Blueprint: blueprint})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range ents {
		out = append(out, x.Identifier)
	}
	return out
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: first difference at %d: got %q, want %q", what, i, got[i], want[i])
		}
	}
}

func kind(s *resync.Summary, k string) *resync.KindSummary {
	for _, ks := range s.Kinds {
		if ks.Kind == k {
			return ks
		}
	}
	return nil
}

func TestTwoTokensTwoRoots(t *testing.T) {
	e := newEnv(t, allOf)
	sum := e.resync(t)
	if err := sum.Err(); err != nil {
		t.Fatal(err)
	}
	wantP, wantG := e.expected()
	if len(wantP) < 250 || len(wantG) < 100 {
		t.Fatalf("test org too small: %d projects, %d groups", len(wantP), len(wantG))
	}
	sameList(t, "projects", e.catalogIDs(t, "service"), wantP)
	sameList(t, "groups", e.catalogIDs(t, "gitlabGroup"), wantG)

	// Shared projects are visible to both tokens but synced once: the
	// selected count equals the distinct count.
	if p := kind(sum, "project"); p.Selected != len(wantP) || p.Created != len(wantP) || p.Fetched <= len(wantP) {
		t.Fatalf("project summary %+v; want %d selected once, more fetched (shared projects)", p, len(wantP))
	}
	// Keyset for projects, offset for groups, and nothing per project.
	counts, _ := e.sim.Requests()
	for route := range counts {
		if route == "GET /projects/:id" || route == "GET /groups/:id" || route == "GET /projects/:id/merge_requests/:id" {
			t.Fatalf("per-object request %q: the crawler must list collections", route)
		}
	}
	if counts["GET /groups"] < 3 || counts["GET /projects"] < 4 {
		t.Fatalf("expected several pages of both listings: %v", counts)
	}

	// Relations point at the group that holds the project.
	ents, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "service"})
	g := e.sim.Group(e.org.Roots[0].FullPath + "/PlatformSquads/squad-000")
	found := false
	for _, x := range ents {
		if x.Identifier == g.FullPath+"/BillingService" {
			found = x.Relations["group"] == strconv.FormatInt(g.ID, 10)
		}
	}
	if !found {
		t.Fatal("project relation to its group missing")
	}
}

func TestNestedGlobs(t *testing.T) {
	e := newEnv(t, func(org gitlabtest.Org) tokenmap.Mapping {
		return tokenmap.Mapping{
			{Token: org.RootTokens[0], Patterns: []string{"**/DevopsTeam/**/*Service", org.Roots[0].Path + "/PlatformSquads/squad-0[0-4]?/*"}},
			{Token: org.RootTokens[1], Patterns: []string{"**/RnDTeam/*/*"}},
		}
	})
	if err := e.resync(t).Err(); err != nil {
		t.Fatal(err)
	}
	wantP, wantG := e.expected()
	if len(wantP) == 0 {
		t.Fatal("globs selected nothing; the test org changed")
	}
	got := e.catalogIDs(t, "service")
	sameList(t, "projects", got, wantP)
	sameList(t, "groups", e.catalogIDs(t, "gitlabGroup"), wantG)
	for _, id := range got {
		if !strings.Contains(id, "/DevopsTeam/") && !strings.Contains(id, "/RnDTeam/") && !strings.Contains(id, "/PlatformSquads/") {
			t.Fatalf("%s is outside every glob", id)
		}
	}
}

func TestSurvives429Storm(t *testing.T) {
	e := newEnv(t, allOf)
	e.sim.SetFaults(gitlabtest.Faults{TooManyRate: 0.35, ErrorRate: 0.05, ResetRate: 0.03})
	sum := e.resync(t)
	if err := sum.Err(); err != nil {
		t.Fatalf("resync failed under a 429 storm: %v", err)
	}
	if sum.RateLimited == 0 || sum.Retries == 0 {
		t.Fatalf("the storm did not happen: %+v", sum)
	}
	wantP, wantG := e.expected()
	sameList(t, "projects", e.catalogIDs(t, "service"), wantP)
	sameList(t, "groups", e.catalogIDs(t, "gitlabGroup"), wantG)
}

func TestSecondResyncDeletesExactlyRemoved(t *testing.T) {
	e := newEnv(t, allOf)
	if err := e.resync(t).Err(); err != nil {
		t.Fatal(err)
	}
	before := e.catalogIDs(t, "service")
	var removed []string
	for i, p := range e.sim.Projects() {
		if i%37 == 0 {
			e.sim.RemoveProject(p.ID)
			removed = append(removed, p.PathWithNamespace)
		}
	}
	sum := e.resync(t)
	if err := sum.Err(); err != nil {
		t.Fatal(err)
	}
	p := kind(sum, "project")
	if p.Deleted != len(removed) || p.Created != 0 || p.Updated != 0 || p.Unchanged != len(before)-len(removed) {
		t.Fatalf("second resync %+v; want %d deleted and the rest unchanged", p, len(removed))
	}
	if g := kind(sum, "group"); g.Deleted != 0 {
		t.Fatalf("groups deleted: %d", g.Deleted)
	}
	after := map[string]bool{}
	for _, id := range e.catalogIDs(t, "service") {
		after[id] = true
	}
	for _, r := range removed {
		if after[r] {
			t.Fatalf("%s still in the catalog", r)
		}
	}
	if len(after) != len(before)-len(removed) {
		t.Fatalf("catalog has %d, want %d", len(after), len(before)-len(removed))
	}
}

func TestPersistentErrorDeletesNothing(t *testing.T) {
	e := newEnv(t, allOf)
	if err := e.resync(t).Err(); err != nil {
		t.Fatal(err)
	}
	before := e.catalogIDs(t, "service")
	for i, p := range e.sim.Projects() {
		if i%5 == 0 {
			e.sim.RemoveProject(p.ID)
		}
	}
	e.cfg.MaxRetries = 2
	e.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects": 500}})
	sum := e.resync(t)
	if !sum.Failed() {
		t.Fatal("resync should fail when GitLab keeps answering 500")
	}
	p := kind(sum, "project")
	if !p.Failed() || p.Deleted != 0 || !strings.Contains(sum.Err().Error(), "500") {
		t.Fatalf("project kind %+v err %v", p, sum.Err())
	}
	sameList(t, "projects after failed resync", e.catalogIDs(t, "service"), before)
	// Groups were listed fine and are still synced.
	if g := kind(sum, "group"); g.Failed() {
		t.Fatalf("group kind failed: %v", g.Errors)
	}
}

func TestBadTokenFailsClearly(t *testing.T) {
	e := newEnv(t, func(org gitlabtest.Org) tokenmap.Mapping {
		return tokenmap.Mapping{{Token: "glpat-revokedrevokedrevoked", Patterns: []string{"**"}}}
	})
	sum := e.resync(t)
	err := sum.Err()
	if err == nil || !strings.Contains(err.Error(), "token glpat-re…") || !strings.Contains(err.Error(), "401") {
		t.Fatalf("want a 401 naming the masked token, got %v", err)
	}
	if strings.Contains(err.Error(), "glpat-revokedrevokedrevoked") {
		t.Fatal("error leaks the token")
	}
}

func TestCancelledResyncDeletesNothing(t *testing.T) {
	e := newEnv(t, allOf)
	if err := e.resync(t).Err(); err != nil {
		t.Fatal(err)
	}
	before := e.catalogIDs(t, "service")
	for i, p := range e.sim.Projects() {
		if i%4 == 0 {
			e.sim.RemoveProject(p.ID)
		}
	}
	e.sim.SetFaults(gitlabtest.Faults{Latency: 30 * time.Millisecond})
	m, _ := mapping.Load("")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	sum, err := resync.Run(ctx, resync.Options{Config: e.cfg, Mapping: m, Store: e.store, Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Failed() {
		t.Fatal("a cancelled resync must report failure")
	}
	sameList(t, "projects after cancelled resync", e.catalogIDs(t, "service"), before)
}

func TestEveryKind(t *testing.T) {
	e := newEnv(t, allOf)
	ps := e.sim.Projects()
	var p gitlabtest.ProjectInfo
	for _, x := range ps {
		if !x.EmptyRepo && !x.Archived {
			p = x
			break
		}
	}
	issue := e.sim.AddIssue(p.ID, "Login fails", false)
	pl, jobs := e.sim.AddPipeline(p.ID, "success", "build", "test")
	e.sim.AddRelease(p.ID, "v1.2.0")
	m, err := mapping.Load("../../shared/mapping/all-kinds.yml")
	if err != nil {
		t.Fatal(err)
	}
	sum := e.mustResync(t, m, e.store)
	has := func(bp, id string) *catalog.Entity {
		ents, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: bp})
		for _, x := range ents {
			if x.Identifier == id {
				return x
			}
		}
		return nil
	}
	if has("gitlabIssue", strconv.FormatInt(issue.ID, 10)) == nil {
		t.Error("issue missing")
	}
	if x := has("gitlabPipeline", strconv.FormatInt(pl.ID, 10)); x == nil || x.Relations["service"] != p.PathWithNamespace {
		t.Errorf("pipeline missing or unrelated: %+v", x)
	}
	for _, j := range jobs {
		if x := has("gitlabJob", strconv.FormatInt(j.ID, 10)); x == nil || x.Relations["pipeline"] != strconv.FormatInt(pl.ID, 10) {
			t.Errorf("job %d missing or unrelated: %+v", j.ID, x)
		}
	}
	if has("gitlabRelease", p.PathWithNamespace+"@v1.2.0") == nil {
		t.Error("release missing")
	}
	root := e.org.Roots[0]
	x := has("gitlabGroupMembers", strconv.FormatInt(root.ID, 10))
	if x == nil {
		t.Fatal("group-with-members entity missing")
	}
	members, _ := x.Properties["members"].([]any)
	if len(members) == 0 {
		t.Fatalf("no members: %+v", x.Properties)
	}
	for _, mb := range members {
		if strings.Contains(mb.(string), "_bot") {
			t.Fatalf("bot member kept without includeBotMembers: %v", members)
		}
	}
	if k := kind(sum, "pipeline"); k.Selected != 1 {
		t.Fatalf("pipelines selected %d, want 1 (a shared project's pipeline is synced once)", k.Selected)
	}
}

func TestEveryKindNewKinds(t *testing.T) {
	e := newEnv(t, allOf)
	m, err := mapping.Load("../../shared/mapping/all-kinds.yml")
	if err != nil {
		t.Fatal(err)
	}
	e.mustResync(t, m, e.store)
	count := func(bp string) int {
		ents, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: bp})
		return len(ents)
	}
	var nonEmpty, tagged, services int
	for _, p := range e.sim.Projects() {
		if !p.EmptyRepo {
			nonEmpty++
			if p.ID%2 == 0 {
				tagged++
			}
			if strings.HasSuffix(p.Name, "Service") {
				services++
			}
		}
	}
	// One default branch per non-empty project; three tags per even
	// project; the staging and production deployments of each service.
	if got := count("gitlabBranch"); got != nonEmpty {
		t.Errorf("branches %d, want %d", got, nonEmpty)
	}
	if got := count("gitlabTag"); got != 3*tagged {
		t.Errorf("tags %d, want %d", got, 3*tagged)
	}
	if got := count("gitlabDeployment"); got != 2*services {
		t.Errorf("deployments %d, want %d", got, 2*services)
	}
	if got := count("gitlabProjectMembers"); got != len(e.sim.Projects()) {
		t.Errorf("project-with-members %d, want %d", got, len(e.sim.Projects()))
	}
	members, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "gitlabMember"})
	for _, mb := range members {
		if strings.Contains(mb.Identifier, "_bot") {
			t.Errorf("bot member synced: %s", mb.Identifier)
		}
	}
	if len(members) == 0 {
		t.Error("no members")
	}
}

func TestProjectSelectorOptions(t *testing.T) {
	e := newEnv(t, allOf)
	m, err := mapping.Parse([]byte(`
resources:
  - kind: project
    selector:
      query: 'true'
      includeOnlyActiveProjects: true
      includeLanguages: true
      includedFiles: [README.md, catalog-info.json]
      searchQueries:
        - {name: hasTodo, scope: blobs, query: TODO}
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          blueprint: '"service"'
          properties:
            language: .__languages | to_entries | max_by(.value) | .key
            readme: .__includedFiles["README.md"]
            tier: .__includedFiles["catalog-info.json"] | if . then (fromjson | .tier) else null end
            hasTodo: .__searchQueries.hasTodo
`))
	if err != nil {
		t.Fatal(err)
	}
	e.mustResync(t, m, e.store)
	ents, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "service"})
	byID := map[string]*catalog.Entity{}
	for _, x := range ents {
		byID[x.Identifier] = x
	}
	checked := 0
	for _, p := range e.sim.Projects() {
		x := byID[p.PathWithNamespace]
		if p.Archived {
			if x != nil {
				t.Fatalf("archived %s synced with includeOnlyActiveProjects", p.PathWithNamespace)
			}
			continue
		}
		if x == nil {
			t.Fatalf("%s missing", p.PathWithNamespace)
		}
		if p.EmptyRepo || !strings.HasSuffix(p.Name, "Service") {
			continue
		}
		checked++
		if x.Properties["language"] != "Go" || x.Properties["hasTodo"] != true || x.Properties["tier"] == nil ||
			!strings.HasPrefix(x.Properties["readme"].(string), "# "+p.Name) {
			t.Fatalf("%s: %v", p.PathWithNamespace, x.Properties)
		}
	}
	if checked == 0 {
		t.Fatal("no service checked")
	}
}

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

func TestEntityDeletionThreshold(t *testing.T) {
	e := newEnv(t, allOf)
	if err := e.resync(t).Err(); err != nil {
		t.Fatal(err)
	}
	before := len(e.catalogIDs(t, "service"))
	for i, p := range e.sim.Projects() {
		if i%20 != 0 {
			e.sim.RemoveProject(p.ID)
		}
	}
	sum := e.resync(t)
	if !sum.Failed() || !strings.Contains(sum.Err().Error(), "entityDeletionThreshold 90%") || len(e.catalogIDs(t, "service")) != before {
		t.Fatalf("the guard must refuse and keep everything: %v", sum.Err())
	}
	e.cfg.ForceDeletion = true
	if err := e.resync(t).Err(); err != nil || len(e.catalogIDs(t, "service")) >= before/10 {
		t.Fatalf("forced: %v, %d left", err, len(e.catalogIDs(t, "service")))
	}
}

func TestIssueOptionsAndVisibility(t *testing.T) {
	e := newEnv(t, allOf)
	ps := e.sim.Projects()
	var live, archived gitlabtest.ProjectInfo
	for _, p := range ps {
		if p.Archived && archived.ID == 0 {
			archived = p
		}
		if !p.Archived && !p.EmptyRepo && live.ID == 0 {
			live = p
		}
	}
	bug := e.sim.AddIssue(live.ID, "Crash", false)
	e.sim.UpdateIssue(bug.ID, func(i *gitlabtest.Issue) { i.Labels = []string{"bug", "p1"} })
	e.sim.AddIssue(live.ID, "Idea", false)
	inc := e.sim.AddIssue(live.ID, "Outage", false)
	e.sim.UpdateIssue(inc.ID, func(i *gitlabtest.Issue) { i.Labels = []string{"bug", "p1"}; i.Type = "incident" })
	old := e.sim.AddIssue(archived.ID, "Legacy", false)
	e.sim.UpdateIssue(old.ID, func(i *gitlabtest.Issue) { i.Labels = []string{"bug", "p1"} })
	run := func(doc string) []string {
		t.Helper()
		m, err := mapping.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := sqlitestore.Open(t.TempDir())
		defer st.Close()
		e.mustResync(t, m, st)
		ents, _ := st.List(context.Background(), catalog.Filter{})
		var ids []string
		for _, x := range ents {
			ids = append(ids, x.Blueprint+":"+x.Identifier)
		}
		return ids
	}
	got := run(`
resources:
  - kind: issue
    selector: {query: 'true', labels: [bug, p1], issueType: issue}
    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '"issue"'}}}
`)
	if len(got) != 1 || got[0] != "issue:"+strconv.FormatInt(bug.ID, 10) {
		t.Fatalf("labels + issueType + nonArchived (default): %v", got)
	}
	got = run(`
resources:
  - kind: issue
    selector: {query: 'true', labels: [bug], nonArchived: false}
    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '"issue"'}}}
`)
	if len(got) != 3 {
		t.Fatalf("nonArchived false keeps archived projects' issues: %v", got)
	}
	// visibility: the group tokens are owners (50); requiring 50 keeps
	// everything, and a reporter token with 30 required sees nothing.
	e.sim.AddToken(gitlabtest.Token{Value: "glpat-reporter-token-xyz", Kind: gitlabtest.GroupAccessToken, GroupID: e.org.Roots[0].ID, AccessLevel: 20})
	e.cfg.TokenMapping = tokenmap.Mapping{{Token: "glpat-reporter-token-xyz", Patterns: []string{"**"}}}
	got = run(`
visibility: {useMinAccessLevel: true, minAccessLevel: 30}
resources:
  - kind: project
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"service"'}}}
`)
	if len(got) != 0 {
		t.Fatalf("a reporter token with minAccessLevel 30: %d entities", len(got))
	}
	got = run(`
visibility: {useMinAccessLevel: true, minAccessLevel: 20}
resources:
  - kind: project
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"service"'}}}
`)
	if len(got) == 0 {
		t.Fatal("minAccessLevel 20 should keep the reporter's projects")
	}
	if _, err := mapping.Parse([]byte("visibility: {useMinAccessLevel: true, minAccessLevel: 35}\nresources: [{kind: project, port: {entity: {mappings: {identifier: .id, blueprint: '\"s\"'}}}}]\n")); err == nil ||
		!strings.Contains(err.Error(), "visibility.minAccessLevel: must be 10 (guest)") {
		t.Fatalf("bad level: %v", err)
	}
}

func TestSelectorOptionsTable(t *testing.T) {
	e := newEnv(t, allOf)
	var svc gitlabtest.ProjectInfo
	for _, p := range e.sim.Projects() {
		if !p.EmptyRepo && strings.HasSuffix(p.Name, "Service") && p.ID%2 == 0 {
			svc = p
			break
		}
	}
	e.sim.AddMergeRequest(svc.ID, "feature work") // an extra open branch
	run := func(t *testing.T, doc string) []*catalog.Entity {
		t.Helper()
		m, err := mapping.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := sqlitestore.Open(t.TempDir())
		defer st.Close()
		e.mustResync(t, m, st)
		ents, _ := st.List(context.Background(), catalog.Filter{})
		return ents
	}
	count := func(ents []*catalog.Entity, prefix string) int {
		n := 0
		for _, x := range ents {
			if strings.HasPrefix(x.Identifier, prefix) {
				n++
			}
		}
		return n
	}
	ident := `identifier: .__project.path_with_namespace + ":" + .name`
	// members checks the member count n of every entity: some (inherited
	// members) or none (direct members only: the generator puts members on
	// root groups only); subgroupsOnly skips identifiers without "/".
	members := func(some, subgroupsOnly bool) func([]*catalog.Entity) string {
		return func(ents []*catalog.Entity) string {
			for _, x := range ents {
				if subgroupsOnly && !strings.Contains(x.Identifier, "/") {
					continue
				}
				if n := x.Properties["n"].(float64); some && n == 0 || !some && n != 0 {
					return fmt.Sprintf("%s has %v members (want some: %v)", x.Identifier, n, some)
				}
			}
			return ""
		}
	}
	cases := []struct {
		name, doc string
		check     func([]*catalog.Entity) string
	}{
		{"branch: all branches", `
resources:
  - kind: branch
    selector: {query: 'true', defaultBranchOnly: false}
    port: {entity: {mappings: {` + ident + `, blueprint: '"b"'}}}
`, func(ents []*catalog.Entity) string {
			if count(ents, svc.PathWithNamespace+":") != 2 {
				return "want the default branch and the merge request's branch"
			}
			return ""
		}},
		{"branch: regex", `
resources:
  - kind: branch
    selector: {query: 'true', defaultBranchOnly: false, regex: '^feature-'}
    port: {entity: {mappings: {` + ident + `, blueprint: '"b"'}}}
`, func(ents []*catalog.Entity) string {
			for _, x := range ents {
				if !strings.Contains(x.Identifier, ":feature-") {
					return "a branch outside the regex: " + x.Identifier
				}
			}
			if len(ents) == 0 {
				return "no feature branch"
			}
			return ""
		}},
		{"tag: limitPerProject", `
resources:
  - kind: tag
    selector: {query: 'true', limitPerProject: 1}
    port: {entity: {mappings: {` + ident + `, blueprint: '"t"'}}}
`, func(ents []*catalog.Entity) string {
			if count(ents, svc.PathWithNamespace+":") != 1 || count(ents, svc.PathWithNamespace+":v1.3.0") != 1 {
				return "want only the newest tag"
			}
			return ""
		}},
		{"member: includeBotMembers", `
resources:
  - kind: member
    selector: {query: 'true', includeBotMembers: true}
    port: {entity: {mappings: {identifier: .username, blueprint: '"m"'}}}
`, func(ents []*catalog.Entity) string {
			if count(ents, "group_") == 0 {
				return "bots must be kept with includeBotMembers"
			}
			return ""
		}},
		{"project-with-members: direct only", `
resources:
  - kind: project-with-members
    selector: {query: 'true', includeInheritedMembers: false}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"direct"', properties: {n: .__members | length}}}}
`, members(false, false)},
		{"project-with-members: inherited", `
resources:
  - kind: project-with-members
    selector: {query: 'true', includeInheritedMembers: true}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"all"', properties: {n: .__members | length}}}}
`, members(true, false)},
		{"group-with-members: inherited", `
resources:
  - kind: group-with-members
    selector: {query: 'true', includeInheritedMembers: true}
    port: {entity: {mappings: {identifier: .full_path, blueprint: '"g"', properties: {n: .__members | length}}}}
`, members(true, false)}, // root members are inherited by every subgroup
		{"group-with-members: direct only", `
resources:
  - kind: group-with-members
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .full_path, blueprint: '"g"', properties: {n: .__members | length}}}}
`, members(false, true)},
		{"file: repos and skipParsing", `
resources:
  - kind: file
    selector: {query: 'true', files: {path: 'catalog-info.json', repos: [` + svc.PathWithNamespace + `], skipParsing: true}}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace, blueprint: '"f"', properties: {raw: .file.content}}}}
`, func(ents []*catalog.Entity) string {
			if len(ents) != 1 || ents[0].Identifier != svc.PathWithNamespace {
				return fmt.Sprintf("want only the listed repo, got %d", len(ents))
			}
			if _, isText := ents[0].Properties["raw"].(string); !isText {
				return "skipParsing must keep the text"
			}
			return ""
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if msg := c.check(run(t, c.doc)); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

func TestJobsOfWholePipelines(t *testing.T) {
	e := newEnv(t, allOf)
	var p gitlabtest.ProjectInfo
	for _, x := range e.sim.Projects() {
		if !x.EmptyRepo {
			p = x
			break
		}
	}
	names := make([]string, 130) // more than a page of jobs
	for i := range names {
		names[i] = fmt.Sprintf("job-%03d", i)
	}
	_, jobs := e.sim.AddPipeline(p.ID, "success", names...)
	for _, j := range jobs[:10] {
		e.sim.SetJobStatus(j.ID, "skipped")
	}
	e.sim.AddPipeline(p.ID, "failed", "newer-but-failed")
	m, err := mapping.Parse([]byte(`
resources:
  - kind: job
    selector: {query: 'true', limitPerProject: 100, pipelineQueryParams: {status: success}, apiQueryParams: {scope: [success, failed]}}
    port: {entity: {mappings: {identifier: .id | tostring, title: .name, blueprint: '"job"', relations: {pipeline: .pipeline.id | tostring}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	e.mustResync(t, m, e.store)
	got, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "job"})
	// The successful pipeline's jobs over two pages, less the 10 skipped
	// ones (scope[]), none of the failed pipeline (pipelineQueryParams).
	if len(got) != 120 {
		t.Fatalf("%d jobs, want 120", len(got))
	}
	for _, en := range got {
		if en.Title == "newer-but-failed" {
			t.Fatalf("job of a filtered-out pipeline: %+v", en)
		}
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

// TestResourcesWithOwnListingOptions checks that resources of one kind
// with different selector options each get the objects their options ask
// for: a combined mapping writes what each resource writes alone.
func TestResourcesWithOwnListingOptions(t *testing.T) {
	e := newEnv(t, allOf)
	ps := e.sim.Projects()
	e.sim.AddMergeRequest(ps[3].ID, "Add metrics")
	merged := e.sim.AddMergeRequest(ps[5].ID, "Bump deps")
	e.sim.UpdateMergeRequest(merged.ID, func(m *gitlabtest.MergeRequest) { m.State = "merged" })
	resources := []string{`
  - kind: file
    selector: {query: 'true', files: {path: '**/catalog-info.json'}}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace, blueprint: '"info"', properties: {tier: .file.content.tier}}}}`, `
  - kind: file
    selector: {query: 'true', files: {path: 'README.md', skipParsing: true}}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace, blueprint: '"readme"', properties: {size: .file.size}}}}`, `
  - kind: merge-request
    selector: {query: 'true', states: [opened]}
    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '"openMR"'}}}`, `
  - kind: merge-request
    selector: {query: 'true', states: [merged]}
    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '"mergedMR"'}}}`}
	run := func(res ...string) map[string]int {
		m, err := mapping.Parse([]byte("resources:" + strings.Join(res, "")))
		if err != nil {
			t.Fatal(err)
		}
		st := freshStore(t)
		e.mustResync(t, m, st)
		ents, _ := st.List(context.Background(), catalog.Filter{})
		out := map[string]int{}
		for _, en := range ents {
			out[en.Blueprint]++
		}
		return out
	}
	want := map[string]int{}
	for _, r := range resources {
		for bp, n := range run(r) {
			want[bp] += n
		}
	}
	for _, bp := range []string{"info", "readme", "openMR", "mergedMR"} {
		if want[bp] == 0 {
			t.Fatalf("no %s entities alone: %v (the organisation must have some)", bp, want)
		}
	}
	if got := run(resources...); !maps.Equal(got, want) {
		t.Fatalf("together: %v, alone: %v", got, want)
	}
}

// TestNewestJobsOfProject checks the job kind without pipeline filters:
// one project job listing per project, newest first, up to
// limitPerProject, and never half a pipeline.
func TestNewestJobsOfProject(t *testing.T) {
	e := newEnv(t, allOf)
	var p gitlabtest.ProjectInfo
	for _, x := range e.sim.Projects() {
		if !x.EmptyRepo && len(x.SharedWith) == 0 {
			p = x
			break
		}
	}
	names := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%03d", prefix, i)
		}
		return out
	}
	e.sim.AddPipeline(p.ID, "success", names("old", 130)...) // more than a page
	_, mid := e.sim.AddPipeline(p.ID, "failed", names("mid", 5)...)
	for _, j := range mid[:4] {
		e.sim.SetJobStatus(j.ID, "success") // the last stage failed
	}
	e.sim.AddPipeline(p.ID, "running", names("new", 3)...)
	for _, tc := range []struct {
		name     string
		selector string
		jobs     int
		extra    int // GET /projects/:id/jobs beyond one per project
	}{
		// 3 newest, then all 5 of the pipeline begun: the old one is not begun.
		{"limit inside the second pipeline", "limitPerProject: 5", 8, 0},
		// Below the limit when the old pipeline begins: all 130 of it,
		// over two pages.
		{"limit reaches the old pipeline", "limitPerProject: 10", 138, 1},
		// scope[] goes to GitLab.
		{"scope", "limitPerProject: 100, apiQueryParams: {scope: [failed]}", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := mapping.Parse([]byte(`
resources:
  - kind: job
    selector: {query: 'true', ` + tc.selector + `}
    port: {entity: {mappings: {identifier: .id | tostring, title: .name, blueprint: '"job"', properties: {status: .status}}}}
`))
			if err != nil {
				t.Fatal(err)
			}
			st := freshStore(t)
			e.sim.ResetRequests()
			e.mustResync(t, m, st)
			jobs, _ := st.List(context.Background(), catalog.Filter{Blueprint: "job"})
			counts, _ := e.sim.Requests()
			// One listing per project each token sees (a shared project
			// is listed by both tokens).
			perProject := nonEmptyPerToken(e)
			if len(jobs) != tc.jobs || counts["GET /projects/:id/jobs"] != perProject+tc.extra || counts["GET /projects/:id/pipelines"] != 0 {
				t.Fatalf("%d jobs (want %d), requests %v (want %d job listings)", len(jobs), tc.jobs, counts, perProject+tc.extra)
			}
		})
	}
}

// nonEmptyPerToken counts, over the root tokens, the projects with a
// repository each sees: what a per-project kind lists once each.
func nonEmptyPerToken(e *env) int {
	sc := newRootScope(e.sim)
	n := 0
	for _, root := range e.org.Roots {
		for _, p := range e.sim.Projects() {
			if sc.sees(p, root.ID) && !p.EmptyRepo {
				n++
			}
		}
	}
	return n
}

// TestUnreadableFileKeepsItsEntity checks that a file the tree lists but
// GitLab does not serve (403, 404, over the size limit) is reported and
// deletes nothing, while a file gone from the tree is deleted.
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
		name  string
		setup func()
		want  string
	}{
		{"403", func() { e.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{rawRoute: 403}}) }, "403"},
		{"404", func() { e.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{rawRoute: 404}}) }, "404"},
		{"too large", func() {
			e.sim.SetFaults(gitlabtest.Faults{})
			e.sim.SetFile(svc.ID, "deploy/k8s.yaml", strings.Repeat("# padding\n", 120_000))
		}, "larger than the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			sum, _ := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: m, Store: e.store,
				Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Client: gitlab.Options{RetryBase: time.Millisecond, MaxRetries: 1}})
			k := kind(sum, "file")
			if !k.Failed() || k.Deleted != 0 || !strings.Contains(fmt.Sprint(k.Errors), tc.want) || !strings.Contains(fmt.Sprint(k.Errors), "k8s.yaml") {
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
