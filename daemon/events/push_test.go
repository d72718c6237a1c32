package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// pushSetup is a simulated GitLab with a group hook for pushes, a
// processor with the mapping (generation gen, so v1 gets Ocean v1's
// default specPath **/port.yml, as a tokenMapping config does) and a
// project with a repository.
type pushSetup struct {
	sim  *gitlabtest.Server
	p    *Processor
	proj gitlabtest.ProjectInfo
}

func newPushSetup(t *testing.T, gen mapping.Generation, yml string) *pushSetup {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 5, Seed: 2})
	ts := sim.Start(t)
	c, err := gitlab.New(ts.URL, org.AdminToken, gitlab.Options{RetryBase: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &pushSetup{sim: sim}
	for _, x := range sim.Projects() {
		if !x.EmptyRepo {
			s.proj = x
			break
		}
	}
	m, err := mapping.ParseWith([]byte(strings.ReplaceAll(yml, "$PROJECT", s.proj.PathWithNamespace)), mapping.ParseOptions{Generation: gen})
	if err != nil {
		t.Fatal(err)
	}
	s.p = &Processor{Sources: []*crawl.Source{{Entry: tokenmap.Entry{Token: org.AdminToken, Patterns: []string{"**"}}, Client: c}}, Mapping: m}
	sim.AddHook(gitlabtest.Hook{GroupID: org.Roots[0].ID, URL: "http://127.0.0.1:1/hook", Events: map[string]bool{"push_events": true, "tag_push_events": true}})
	return s
}

// event is the Push Hook or Tag Push Hook GitLab delivered, with edit
// applied to its body.
func (s *pushSetup) event(t *testing.T, ds []gitlabtest.Delivery, edit func(map[string]any)) *catalog.Event {
	t.Helper()
	for _, d := range ds {
		if d.Event != "Push Hook" && d.Event != "Tag Push Hook" {
			continue
		}
		var body map[string]any
		if err := json.Unmarshal(d.Body, &body); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(body)
		}
		b, _ := json.Marshal(body)
		return &catalog.Event{Type: d.Event, Body: b, ReceivedAt: time.Now(), Object: ObjectKey(d.Event, b)}
	}
	t.Fatal("GitLab delivered no push")
	return nil
}

// handle handles ev after a warm-up (the token's group listing, which
// routing caches) and returns the result and the GitLab requests it made.
func (s *pushSetup) handle(t *testing.T, ev *catalog.Event) (Result, map[string]int, int) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.p.sources()[0].Covers(ctx, s.proj.PathWithNamespace); err != nil {
		t.Fatal(err)
	}
	s.sim.ResetRequests()
	res, err := s.p.Handle(ctx, ev)
	if err != nil {
		t.Fatalf("handle: %v", err)
	}
	byRoute, total := s.sim.Requests()
	return res, byRoute, total
}

const (
	projectKind = `
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"service"', title: .name}}}`
	fileKind = `
  - kind: file
    selector: {query: 'true', files: {path: 'config/*.json'}}
    port: {entity: {mappings: {identifier: .file.path, blueprint: '"configFile"', properties: {owner: .file.content.owner}}}}`
	branchKind = `
  - kind: branch
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: '.__project.path_with_namespace + ":" + .name', blueprint: '"branch"'}}}`
	tagKind = `
  - kind: tag
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: '.__project.path_with_namespace + ":" + .name', blueprint: '"tag"'}}}`
	folderKind = `
  - kind: folder
    selector: {query: 'true', folders: [{path: '*'}]}
    port: {entity: {mappings: {identifier: .folder.path, blueprint: '"folder"'}}}`
)

// An event asks GitLab only for what the mapping needs: a push costs the
// project read, plus the reads of the repository kinds the mapping has
// and the push touched.
func TestPushRequestsFollowTheMapping(t *testing.T) {
	ctx := context.Background()
	readme := func(s *pushSetup) []gitlabtest.Delivery {
		return s.sim.PushFile(ctx, s.proj.ID, "README.md", fmt.Sprint("readme ", time.Now().UnixNano()))
	}
	cases := []struct {
		name     string
		gen      mapping.Generation
		yml      string
		push     func(*pushSetup) []gitlabtest.Delivery
		requests int
	}{
		// Ocean v1's defaults (a tokenMapping config) include GitOps: a
		// push that touches no spec file reads none.
		{"project only, v1 defaults", mapping.OceanV1, projectKind, readme, 1},
		{"project only, v2", mapping.OceanV2, projectKind, readme, 1},
		// The spec file now and before the push.
		{"project + GitOps, spec touched", mapping.OceanV1, projectKind, func(s *pushSetup) []gitlabtest.Delivery {
			return s.sim.PushFile(ctx, s.proj.ID, "port.yml", "identifier: svc\nblueprint: service\n")
		}, 3},
		{"project + file, no file touched", mapping.OceanV2, projectKind + fileKind, readme, 1},
		{"project + file, file touched", mapping.OceanV2, projectKind + fileKind, func(s *pushSetup) []gitlabtest.Delivery {
			return s.sim.PushFile(ctx, s.proj.ID, "config/a.json", `{"owner": "x"}`)
		}, 3},
		{"project + branch", mapping.OceanV2, projectKind + branchKind, readme, 2},
		// Without the project kind the repository kinds still need the
		// project (its default branch): read once.
		{"branch only", mapping.OceanV2, branchKind, readme, 2},
		// A modified file changes no folder: no tree read.
		{"project + folder, file modified", mapping.OceanV2, projectKind + folderKind, readme, 1},
		// An added file may add a folder: the tree now and before.
		{"project + folder, file added", mapping.OceanV2, projectKind + folderKind, func(s *pushSetup) []gitlabtest.Delivery {
			return s.sim.PushFile(ctx, s.proj.ID, fmt.Sprintf("new-%d/x.txt", time.Now().UnixNano()), "x")
		}, 3},
		{"tag push, project only", mapping.OceanV2, projectKind + branchKind, func(s *pushSetup) []gitlabtest.Delivery {
			return s.sim.PushRef(ctx, s.proj.ID, "refs/tags/v1.0.0", false)
		}, 1},
		{"tag push, tag kind", mapping.OceanV2, projectKind + tagKind, func(s *pushSetup) []gitlabtest.Delivery {
			return s.sim.PushRef(ctx, s.proj.ID, "refs/tags/v1.0.0", false)
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newPushSetup(t, tc.gen, "resources:"+tc.yml)
			res, byRoute, total := s.handle(t, s.event(t, tc.push(s), nil))
			if res.Outcome != Applied || len(res.Failed) != 0 {
				t.Fatalf("outcome %s, failed %v", res.Outcome, res.Failed)
			}
			if total != tc.requests {
				t.Fatalf("%d requests, want %d: %v", total, tc.requests, byRoute)
			}
		})
	}
}

// The case: a push to refs/heads/master (GitLab's documented
// payload) for a project that no longer has that branch, with a
// project-only mapping in the documented form. The project is written, no
// branch is asked for, nothing is retried.
func TestPushToABranchGoneSinceWritesTheProject(t *testing.T) {
	s := newPushSetup(t, mapping.OceanV1, "resources:"+projectKind)
	ev := s.event(t, s.sim.Push(context.Background(), s.proj.ID), func(b map[string]any) { b["ref"] = "refs/heads/master" })
	res, byRoute, total := s.handle(t, ev)
	if res.Outcome != Applied || len(res.Failed) != 0 || len(res.Changes.Upserts[selector.KindProject]) != 1 {
		t.Fatalf("outcome %s, failed %v, upserts %v", res.Outcome, res.Failed, res.Changes.Upserts)
	}
	if total != 1 {
		t.Fatalf("%d requests, want the project read alone: %v", total, byRoute)
	}
}

// A branch deleted right after a push: its entity is deleted when the
// push's event reads GitLab's 404, the folders of the gone branch are
// left to the push that deleted it, and nothing fails.
func TestPushOfABranchDeletedSince(t *testing.T) {
	ctx := context.Background()
	s := newPushSetup(t, mapping.OceanV2, "resources:"+projectKind+`
  - kind: branch
    selector: {query: 'true', defaultBranchOnly: false}
    port: {entity: {mappings: {identifier: '.__project.path_with_namespace + ":" + .name', blueprint: '"branch"'}}}
  - kind: folder
    selector: {query: 'true', folders: [{path: '*', repos: [{name: $PROJECT, branch: feature}]}]}
    port: {entity: {mappings: {identifier: .folder.path, blueprint: '"folder"'}}}`)
	created := s.event(t, s.sim.PushRef(ctx, s.proj.ID, "refs/heads/feature", false), nil)
	s.sim.PushRef(ctx, s.proj.ID, "refs/heads/feature", true)
	res, byRoute, _ := s.handle(t, created)
	if len(res.Failed) != 0 || res.Outcome != Applied {
		t.Fatalf("outcome %s, failed %v", res.Outcome, res.Failed)
	}
	want := s.proj.PathWithNamespace + ":feature"
	if len(res.Changes.Deletes) != 1 || res.Changes.Deletes[0].Identifier != want || len(res.Changes.Upserts[selector.KindBranch]) != 0 {
		t.Fatalf("deletes %v, branch upserts %v; want %s deleted", res.Changes.Deletes, res.Changes.Upserts[selector.KindBranch], want)
	}
	if len(res.Changes.Upserts[selector.KindProject]) != 1 || len(res.Changes.Upserts[selector.KindFolder]) != 0 {
		t.Fatalf("upserts %v", res.Changes.Upserts)
	}
	t.Logf("requests %v", byRoute)
}

// The parts of a push are independent: a committer's broken port.yml
// (permanent) or a GitLab error on its read (transient) fails the GitOps
// part alone; the project is written.
func TestPushPartsAreIndependent(t *testing.T) {
	ctx := context.Background()
	s := newPushSetup(t, mapping.OceanV1, "resources:"+projectKind)
	res, _, _ := s.handle(t, s.event(t, s.sim.PushFile(ctx, s.proj.ID, "port.yml", "- just a string\n"), nil))
	if len(res.Changes.Upserts[selector.KindProject]) != 1 || len(res.Failed) != 1 || res.Failed[0].Part != partGitOps || res.Failed[0].Transient() {
		t.Fatalf("upserts %v, failed %+v", res.Changes.Upserts, res.Failed)
	}

	ev := s.event(t, s.sim.PushFile(ctx, s.proj.ID, "port.yml", "identifier: svc\nblueprint: service\n"), nil)
	s.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects/:id/repository/:id/port.yml/:id": http.StatusServiceUnavailable}})
	res, byRoute, _ := s.handle(t, ev)
	if len(res.Changes.Upserts[selector.KindProject]) != 1 || len(res.Failed) != 1 || res.Failed[0].Part != partGitOps || !res.Failed[0].Transient() {
		t.Fatalf("upserts %v, failed %+v (requests %v)", res.Changes.Upserts, res.Failed, byRoute)
	}
	// The rest is the failed part alone: the project is not mapped again.
	rest, reason, retry, err := Rest(ev.Body, res.Failed)
	if err != nil || !retry || reason == "" {
		t.Fatalf("rest: retry %v reason %q %v", retry, reason, err)
	}
	s.sim.SetFaults(gitlabtest.Faults{})
	// A delivery from the network naming parts is applied whole: only an
	// event glsync rescheduled (attempted before) is partial.
	res, _, _ = s.handle(t, &catalog.Event{Type: ev.Type, Body: rest, ReceivedAt: time.Now()})
	if len(res.Changes.Upserts[selector.KindProject]) != 1 {
		t.Fatalf("a first delivery naming parts skipped the project: %v", res.Changes.Upserts)
	}
	res, _, _ = s.handle(t, &catalog.Event{Type: ev.Type, Body: rest, ReceivedAt: time.Now(), Attempts: 1})
	if len(res.Failed) != 0 || len(res.Changes.Upserts[selector.KindProject]) != 0 || len(res.Changes.Upserts[mapping.GitOpsKind]) != 1 {
		t.Fatalf("retry of the rest: upserts %v, failed %+v", res.Changes.Upserts, res.Failed)
	}
}

// Which failures are retried.
func TestClassify(t *testing.T) {
	api := func(status int) error {
		return fmt.Errorf("token glpat-…: %w", &gitlab.APIError{Op: "GET /projects/1", Status: status, Err: errors.New("x")})
	}
	for _, tc := range []struct {
		err       error
		transient bool
	}{
		{api(0), true}, {api(200), true}, {api(408), true}, {api(429), true}, {api(500), true}, {api(503), true},
		{api(400), false}, {api(401), false}, {api(403), false}, {api(404), false}, {api(422), false},
		{&gitlab.RateLimitError{Wait: time.Hour}, true},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("crawl: file x: %w", gitlab.ErrTooLarge), false},
		{errors.New("crawl: spec file port.yml in g/p: want an entity or a list of entities"), false},
	} {
		var te *TransientError
		if got := errors.As(classify(tc.err), &te); got != tc.transient {
			t.Errorf("%v: transient %v, want %v", tc.err, got, tc.transient)
		}
	}
	if !slices.Equal((payload{}).RetryParts, nil) {
		t.Fatal("a GitLab delivery retries every part")
	}
}

// runWorker runs a worker on queue until every event left the queue
// (applied or dead), then stops it.
func runWorker(t *testing.T, q catalog.Queue, p *Processor) {
	t.Helper()
	ctx := context.Background()
	w := NewWorker(q, p, WorkerOptions{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Workers: 2})
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(run, time.Second) }()
	defer func() { stop(); <-done }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n, err := q.Depth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still queued", n)
		}
	}
}

// Through the durable queue: a push whose port.yml is broken writes its
// project at once, its GitOps part goes to the dead letters at once with
// the reason (no ten minutes of retries), and the project's later event
// proceeds. A part that fails on a GitLab 503 is retried alone and
// applied once GitLab answers.
func TestWorkerAppliesWhatSucceededAndKeepsTheFailedPart(t *testing.T) {
	ctx := context.Background()
	s := newPushSetup(t, mapping.OceanV1, "resources:"+projectKind)
	store, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	enqueue := func(ev *catalog.Event, delivery string) {
		t.Helper()
		ev.Delivery = delivery
		if _, err := store.Enqueue(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	enqueue(s.event(t, s.sim.PushFile(ctx, s.proj.ID, "port.yml", "{not: [yaml\n"), nil), "broken")
	enqueue(s.event(t, s.sim.PushFile(ctx, s.proj.ID, "README.md", "later"), nil), "later")
	runWorker(t, store, s.p)
	dead, err := store.ListDeadLetters(ctx, 0)
	if err != nil || len(dead) != 1 || dead[0].Delivery != "broken" || dead[0].Attempts != 1 || !strings.HasPrefix(dead[0].LastError, "gitops: ") {
		t.Fatalf("dead letters %+v %v", dead, err)
	}
	if n, _ := store.Applied(ctx, "later"); n != 1 {
		t.Fatalf("the project's later event applied %d times", n)
	}
	ents, err := store.List(ctx, catalog.Filter{Blueprint: "service"})
	if err != nil || len(ents) != 1 || ents[0].Identifier != s.proj.PathWithNamespace {
		t.Fatalf("project entities %v %v", ents, err)
	}

	// A 503 on every read of the spec file: the project is written while
	// the GitOps part stays queued; once GitLab answers, the part alone is
	// applied.
	store2, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	store = store2
	s.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects/:id/repository/:id/port.yml/:id": http.StatusServiceUnavailable}})
	enqueue(s.event(t, s.sim.PushFile(ctx, s.proj.ID, "port.yml", "identifier: from-spec\nblueprint: service\ntitle: Declared\n"), nil), "flaky")
	w := NewWorker(store, s.p, WorkerOptions{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Workers: 2})
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(run, time.Second) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got, err := store.List(ctx, catalog.Filter{Blueprint: "service"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 0 {
			if len(got) != 1 || got[0].Identifier != s.proj.PathWithNamespace {
				t.Fatalf("while the spec file fails: %v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the project was not written while its push's GitOps part failed")
		}
	}
	if n, _ := store.Depth(ctx); n != 1 {
		t.Fatalf("the failed part is not queued: depth %d", n)
	}
	stop()
	<-done
	s.sim.SetFaults(gitlabtest.Faults{})
	s.sim.ResetRequests()
	runWorker(t, store, s.p)
	if n, _ := store.Applied(ctx, "flaky"); n != 1 {
		t.Fatalf("the retried part: applied %d times", n)
	}
	if dead, _ := store.DeadLetters(ctx); dead != 0 {
		t.Fatalf("%d dead letters", dead)
	}
	// The retry read the project once (for its default branch) and the
	// spec file now and before the push; the project kind was not mapped
	// again.
	if byRoute, total := s.sim.Requests(); total != 3 {
		t.Fatalf("the retried part made %d requests, want 3: %v", total, byRoute)
	}
	got, err := store.List(ctx, catalog.Filter{Blueprint: "service"})
	if err != nil || len(got) != 2 {
		t.Fatalf("service entities %v %v, want the project's and the spec's", got, err)
	}
	// The console tells what wrote each, and the delivery's course: the
	// part that failed, then the rest applied.
	_, p, ok, err := store.Entity(ctx, catalog.Key{Blueprint: "service", Identifier: "from-spec"})
	if err != nil || !ok || p.Source != s.proj.PathWithNamespace+":port.yml" || p.ChangedBy != "event Push Hook flaky" {
		t.Fatalf("provenance of the spec's entity: %+v %v %v", p, ok, err)
	}
	_, p, ok, err = store.Entity(ctx, catalog.Key{Blueprint: "service", Identifier: s.proj.PathWithNamespace})
	if err != nil || !ok || p.Source != "" || p.Kind != "project" || p.ChangedBy != "event Push Hook flaky" {
		t.Fatalf("provenance of the project's entity: %+v %v %v", p, ok, err)
	}
	rs, err := store.RecentDeliveries(ctx, 10)
	if err != nil || len(rs) < 2 || rs[0].Delivery != "flaky" || rs[0].Outcome != catalog.OutcomeApplied ||
		rs[len(rs)-1].Outcome != catalog.OutcomeRetrying || !strings.Contains(rs[len(rs)-1].Error, "503") {
		t.Fatalf("recent deliveries: %+v %v", rs, err)
	}
}

// A merge request's event writes its project too, from the project the
// event read anyway (no further request): opening the merge request moved
// the project's last_activity_at, and GitLab sends no project event for
// that.
func TestChildEventRefreshesItsProject(t *testing.T) {
	ctx := context.Background()
	s := newPushSetup(t, mapping.OceanV2, `resources:
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"service"', properties: {lastActivityAt: .last_activity_at}}}}
  - kind: merge-request
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '"gitlabMergeRequest"'}}}`)
	s.sim.AddHook(gitlabtest.Hook{GroupID: s.proj.NamespaceID, URL: "http://127.0.0.1:1/hook", Events: map[string]bool{"merge_requests_events": true}})
	mr := s.sim.AddMergeRequest(s.proj.ID, "Add metrics")
	var ev *catalog.Event
	for _, d := range s.sim.MergeRequestEvent(ctx, mr.ID, "open") {
		ev = &catalog.Event{Type: d.Event, Body: d.Body, ReceivedAt: time.Now()}
	}
	if ev == nil {
		t.Fatal("no merge request delivery")
	}
	res, byRoute, total := s.handle(t, ev)
	if len(res.Changes.Upserts[selector.KindMergeRequest]) != 1 || len(res.Changes.Upserts[selector.KindProject]) != 1 {
		t.Fatalf("upserts %v", res.Changes.Upserts)
	}
	var project map[string]any
	if _, err := s.p.sources()[0].Client.Do(ctx, http.MethodGet, fmt.Sprintf("projects/%d", s.proj.ID), nil, &project); err != nil {
		t.Fatal(err)
	}
	if got := res.Changes.Upserts[selector.KindProject][0].Properties["lastActivityAt"]; got != project["last_activity_at"] {
		t.Fatalf("the project's lastActivityAt %v, GitLab says %v", got, project["last_activity_at"])
	}
	if total != 2 {
		t.Fatalf("%d requests, want the project and the merge request: %v", total, byRoute)
	}
}
