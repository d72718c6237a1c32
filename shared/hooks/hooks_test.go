package hooks

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

const appHost = "https://glsync.example.com"

type fixture struct {
	sim     *gitlabtest.Server
	org     gitlabtest.Org
	host    string
	secrets *sqlitestore.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 20, Seed: 4})
	ts := sim.Start(t)
	st, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &fixture{sim: sim, org: org, host: ts.URL, secrets: st}
}

func (f *fixture) sources(t *testing.T, tokens ...string) []*crawl.Source {
	t.Helper()
	var out []*crawl.Source
	for _, tok := range tokens {
		c, err := gitlab.New(f.host, tok, gitlab.Options{RetryBase: time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &crawl.Source{Entry: tokenmap.Entry{Token: tok, Patterns: []string{"**"}}, Client: c})
	}
	return out
}

func (f *fixture) reconcile(t *testing.T, st Settings, srcs []*crawl.Source) (*Plan, Result) {
	t.Helper()
	ctx := context.Background()
	desired, problems, err := DesiredHooks(ctx, st, srcs)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := MakePlan(ctx, st.AppHost, desired, problems, f.secrets)
	if err != nil {
		t.Fatal(err)
	}
	return plan, Apply(ctx, plan, f.secrets, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestFreshInstanceThenIdempotent(t *testing.T) {
	f := newFixture(t)
	srcs := f.sources(t, f.org.RootTokens...)
	plan, res := f.reconcile(t, Settings{AppHost: appHost}, srcs)
	if plan.Changes() != 2 || len(res.Done) != 2 || len(res.Failed) != 0 {
		t.Fatalf("plan %v, result %+v", plan.Actions, res)
	}
	hooks := f.sim.Hooks()
	for i, root := range f.org.Roots {
		h := hooks[i]
		if h.GroupID != root.ID || h.URL != appHost+"/integration/hook/"+strconv.FormatInt(root.ID, 10) {
			t.Fatalf("hook %d: %+v", i, h)
		}
		for _, flag := range []string{"push_events", "issues_events", "job_events", "merge_requests_events", "pipeline_events", "releases_events", "tag_push_events", "subgroup_events", "confidential_issues_events", "member_events"} {
			if !h.Events[flag] {
				t.Fatalf("hook on %s lacks %s", root.FullPath, flag)
			}
		}
		if h.Events["note_events"] || h.Events["wiki_page_events"] {
			t.Fatalf("hook enables events glsync does not handle: %v", h.Events)
		}
		sec, ok, _ := f.secrets.HookSecret(context.Background(), GroupScope(root.ID))
		if !ok || sec.Secret != h.Token || len(sec.Secret) != 64 || sec.HookID != h.ID {
			t.Fatalf("secret not stored for %s: %+v", root.FullPath, sec)
		}
	}
	plan, res = f.reconcile(t, Settings{AppHost: appHost}, f.sources(t, f.org.RootTokens...))
	if plan.Changes() != 0 || len(f.sim.Hooks()) != 2 {
		t.Fatalf("second run not idempotent: %v", plan.Actions)
	}
}

func TestStaleDuplicateDisabledAndForeign(t *testing.T) {
	f := newFixture(t)
	r0, r1 := f.org.Roots[0], f.org.Roots[1]
	url0 := appHost + "/integration/hook/" + strconv.FormatInt(r0.ID, 10)
	url1 := appHost + "/integration/hook/" + strconv.FormatInt(r1.ID, 10)
	stale := f.sim.AddHook(gitlabtest.Hook{GroupID: r0.ID, URL: url0, Events: map[string]bool{"push_events": true}})
	dup := f.sim.AddHook(gitlabtest.Hook{GroupID: r0.ID, URL: url0, Events: map[string]bool{"push_events": true}})
	foreign := f.sim.AddHook(gitlabtest.Hook{GroupID: r0.ID, URL: "https://ci.example.com/hook", Events: map[string]bool{"push_events": true}})
	disabled := f.sim.AddHook(gitlabtest.Hook{GroupID: r1.ID, URL: url1, Events: Flags(hookspec.GroupEvents)})
	f.sim.DisableHook(disabled.ID)

	plan, res := f.reconcile(t, Settings{AppHost: appHost}, f.sources(t, f.org.RootTokens...))
	ops := map[string]string{}
	for _, a := range plan.Actions {
		if a.Existing != nil {
			ops[strconv.FormatInt(a.Existing.ID, 10)] = string(a.Op)
		}
	}
	want := map[int64]string{stale.ID: "update", dup.ID: "delete", disabled.ID: "recreate"}
	for id, op := range want {
		if ops[strconv.FormatInt(id, 10)] != op {
			t.Fatalf("hook %d: %q, want %q (plan %v)", id, ops[strconv.FormatInt(id, 10)], op, plan.Actions)
		}
	}
	if _, touched := ops[strconv.FormatInt(foreign.ID, 10)]; touched || len(res.Failed) != 0 {
		t.Fatalf("a hook glsync does not own was touched, or failures: %v %v", plan.Actions, res.Failed)
	}
	var ours int
	for _, h := range f.sim.Hooks() {
		if strings.HasPrefix(h.URL, appHost) {
			ours++
			if h.AlertStatus == "disabled" || !h.Events["issues_events"] {
				t.Fatalf("hook left disabled or stale: %+v", h)
			}
		}
	}
	if ours != 2 {
		t.Fatalf("%d glsync hooks, want 2", ours)
	}
}

func TestSystemHook(t *testing.T) {
	f := newFixture(t)
	// Without an admin token: a problem telling what to create by hand.
	desired, problems, err := DesiredHooks(context.Background(), Settings{AppHost: appHost, UseSystemHook: true}, f.sources(t, f.org.RootTokens[0]))
	if err != nil || len(desired) != 0 || len(problems) != 1 {
		t.Fatalf("%v %v %v", desired, problems, err)
	}
	msg := problems[0].Error()
	for _, want := range []string{appHost + "/integration/system/hook", "push, merge request and repository update", "systemHookSecret"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("instructions %q lack %q", msg, want)
		}
	}
	// With an admin token (listed second): one system hook.
	plan, res := f.reconcile(t, Settings{AppHost: appHost, UseSystemHook: true}, f.sources(t, f.org.RootTokens[0], f.org.AdminToken))
	if plan.Changes() != 1 || len(res.Failed) != 0 {
		t.Fatalf("%v %v", plan.Actions, res.Failed)
	}
	h := f.sim.Hooks()[0]
	if h.GroupID != 0 || h.URL != appHost+"/integration/system/hook" || !h.Events["push_events"] || !h.Events["merge_requests_events"] || !h.Events["repository_update_events"] {
		t.Fatalf("system hook %+v", h)
	}
	plan, _ = f.reconcile(t, Settings{AppHost: appHost, UseSystemHook: true}, f.sources(t, f.org.AdminToken))
	if plan.Changes() != 0 {
		t.Fatalf("not idempotent: %v", plan.Actions)
	}
}

func TestOverrideMapping(t *testing.T) {
	f := newFixture(t)
	tok := f.org.RootTokens[0]
	team := f.org.Roots[0].FullPath + "/DevopsTeam"
	ov, err := hookspec.ParseOverrideJSON("o", []byte(`{"`+tok+`": {"groups": {"`+team+`": {"events": ["push_events", "merge_requests_events"]}, "no/such/group": {"events": []}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	plan, res := f.reconcile(t, Settings{AppHost: appHost, Override: ov}, f.sources(t, f.org.RootTokens...))
	if len(plan.Problems) != 1 || !strings.Contains(plan.Problems[0].Error(), `group "no/such/group": GitLab does not know this group`) {
		t.Fatalf("problems %v", plan.Problems)
	}
	if strings.Contains(plan.Problems[0].Error(), tok) {
		t.Fatal("problem leaks the token")
	}
	if len(res.Done) != 1 {
		t.Fatalf("done %v", res.Done)
	}
	h := f.sim.Hooks()[0]
	g := f.sim.Group(team)
	if h.GroupID != g.ID || !h.Events["push_events"] || !h.Events["merge_requests_events"] || h.Events["issues_events"] {
		t.Fatalf("override hook %+v", h)
	}
}
