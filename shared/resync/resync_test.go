package resync_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
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
