package hooks

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/whsig"
)

// personal adds alice (no group membership) owning alice/notes, and
// returns the project and her token.
func (f *fixture) personal(t *testing.T, scopes ...string) (*gitlabtest.Project, string) {
	t.Helper()
	ns := f.sim.AddUser(0, "alice", "Alice Liddell")
	p := f.sim.AddProject(ns, "notes")
	tok := "glpat-alice"
	f.sim.AddToken(gitlabtest.Token{Value: tok, Kind: gitlabtest.PersonalToken, UserID: ns.OwnerID, Scopes: scopes})
	return p, tok
}

func (f *fixture) projectHooks(projectID int64) []gitlabtest.Hook {
	var out []gitlabtest.Hook
	for _, h := range f.sim.Hooks() {
		if h.ProjectID == projectID {
			out = append(out, h)
		}
	}
	return out
}

// TestPersonalProjectGetsAProjectHook: a personal project (no group hook
// covers it) gets a project hook at glsync's project route, with the
// project events glsync's group hooks have and a secret glsync holds; a
// second cycle keeps it; drifted events are repaired in place.
func TestPersonalProjectGetsAProjectHook(t *testing.T) {
	f := newFixture(t)
	p, tok := f.personal(t)
	srcs := f.sources(t, tok)
	plan, res := f.reconcile(t, Settings{AppHost: appHost}, srcs)
	if plan.Changes() != 1 || len(res.Done) != 1 || len(res.Failed)+len(res.Skipped) != 0 {
		t.Fatalf("plan %v, result %+v", plan.Actions, res)
	}
	if s := plan.Actions[0].String(); s != "create   project alice/notes "+appHost+ProjectHookPath+strconv.FormatInt(p.ID, 10)+": no hook" {
		t.Fatalf("plan line: %q", s)
	}
	hs := f.projectHooks(p.ID)
	if len(hs) != 1 || hs[0].URL != appHost+ProjectHookPath+strconv.FormatInt(p.ID, 10) || hs[0].Name != "glsync" {
		t.Fatalf("hooks: %+v", hs)
	}
	for _, fl := range projectFlags {
		if hs[0].Events[fl] != projectEventFlags()[fl] {
			t.Errorf("flag %s = %v", fl, hs[0].Events[fl])
		}
	}
	if !hs[0].Events["push_events"] || !hs[0].Events["merge_requests_events"] || !hs[0].Events["deployment_events"] {
		t.Fatalf("events: %v", hs[0].Events)
	}
	sec, ok, err := f.secrets.HookSecret(context.Background(), ProjectScope(p.ID))
	if err != nil || !ok || sec.Secret != hs[0].Token || sec.HookID != hs[0].ID {
		t.Fatalf("secret held: %v %v (hook id %d)", ok, err, hs[0].ID)
	}

	if plan, _ := f.reconcile(t, Settings{AppHost: appHost}, f.sources(t, tok)); plan.Changes() != 0 {
		t.Fatalf("second cycle: %v", plan.Actions)
	}
	f.sim.SetHookEvents(hs[0].ID, map[string]bool{"push_events": true})
	plan, res = f.reconcile(t, Settings{AppHost: appHost}, f.sources(t, tok))
	if plan.Changes() != 1 || plan.Actions[0].Op != OpUpdate || len(res.Done) != 1 {
		t.Fatalf("drift: %v %+v", plan.Actions, res)
	}
	if after := f.projectHooks(p.ID); len(after) != 1 || after[0].ID != hs[0].ID || !after[0].Events["merge_requests_events"] {
		t.Fatalf("after repair: %+v", after)
	}
}

// TestPersonalProjectHookAdoptsOceans: Ocean v2's project hook at its
// static route is taken over in place (URL, events, secret), never
// doubled, and a paused hook is resumed rather than replaced.
func TestPersonalProjectHookAdoptsOceans(t *testing.T) {
	f := newFixture(t)
	p, tok := f.personal(t)
	ocean := f.sim.AddHook(gitlabtest.Hook{ProjectID: p.ID, URL: appHost + "/integration/webhook", EnableSSLVerification: true,
		Events: map[string]bool{"push_events": true, "merge_requests_events": true}})
	plan, res := f.reconcile(t, Settings{AppHost: appHost}, f.sources(t, tok))
	if plan.Changes() != 1 || plan.Actions[0].Op != OpUpdate || len(res.Done) != 1 {
		t.Fatalf("plan %v, result %+v", plan.Actions, res)
	}
	hs := f.projectHooks(p.ID)
	if len(hs) != 1 || hs[0].ID != ocean.ID || hs[0].URL != appHost+ProjectHookPath+strconv.FormatInt(p.ID, 10) || hs[0].Token == "" {
		t.Fatalf("after adoption: %+v", hs)
	}

	f.sim.EditHook(hs[0].ID, func(h *gitlabtest.Hook) {
		h.AlertStatus, h.DisabledUntil = "temporarily_disabled", time.Now().Add(time.Hour)
	})
	ctx := context.Background()
	desired, problems, err := DesiredHooks(ctx, Settings{AppHost: appHost}, f.sources(t, tok))
	if err != nil {
		t.Fatal(err)
	}
	plan, err = MakePlan(ctx, appHost, desired, problems, f.secrets)
	if err != nil || plan.Changes() != 1 || plan.Actions[0].Op != OpResume {
		t.Fatalf("paused: %v %v", plan, err)
	}
}

// TestPersonalProjectHooksRefusedOrUnreadable: a token GitLab does not
// let create the hook (403, a read_api token) has it skipped with a
// warning, not failed; a failed listing of a project's hooks plans
// nothing, a refused one (403) is a problem for that project alone; with useSystemHook no project hook is wanted.
func TestPersonalProjectHooksRefusedOrUnreadable(t *testing.T) {
	f := newFixture(t)
	p, tok := f.personal(t, "read_api")
	plan, res := f.reconcile(t, Settings{AppHost: appHost}, f.sources(t, tok))
	if plan.Changes() != 1 || len(res.Skipped) != 1 || len(res.Failed) != 0 || len(res.Done) != 0 || len(f.projectHooks(p.ID)) != 0 {
		t.Fatalf("plan %v, result %+v", plan.Actions, res)
	}

	f.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects/:id/hooks": 500}})
	ctx := context.Background()
	desired, problems, err := DesiredHooks(ctx, Settings{AppHost: appHost}, f.sources(t, tok))
	if err != nil {
		t.Fatal(err)
	}
	var sk *Skipped
	if _, err := MakePlan(ctx, appHost, desired, problems, f.secrets); !errors.As(err, &sk) {
		t.Fatalf("failed listing: %v", err)
	}
	f.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects/:id/hooks": 403}})
	plan, err = MakePlan(ctx, appHost, desired, problems, f.secrets)
	if err != nil || plan.Changes() != 0 || len(plan.Problems) != 1 || plan.Problems[0].Scope != ProjectScope(p.ID) {
		t.Fatalf("listing refused: %v %v", plan, err)
	}
	f.sim.SetFaults(gitlabtest.Faults{})

	desired, _, err = DesiredHooks(ctx, Settings{AppHost: appHost, UseSystemHook: true}, f.sources(t, f.org.AdminToken, tok))
	if err != nil || len(desired) != 1 || desired[0].Scope != SystemScope {
		t.Fatalf("useSystemHook: %+v %v", desired, err)
	}
}

// TestPersonalProjectHookSigns: with webhookSigning on, a personal
// project's hook gets the signing token derived from its secret, as group
// hooks do, and the simulator's deliveries to it carry a signature that
// verifies with that token's key.
func TestPersonalProjectHookSigns(t *testing.T) {
	f := newFixture(t)
	p, tok := f.personal(t)
	_, res := f.reconcile(t, Settings{AppHost: appHost, Signing: true}, f.sources(t, tok))
	if len(res.Done) != 1 || len(res.Unsigned)+len(res.Failed) != 0 || !res.Signing[ProjectScope(p.ID)] {
		t.Fatalf("result %+v", res)
	}
	hs := f.projectHooks(p.ID)
	if len(hs) != 1 || hs[0].SigningToken == "" || hs[0].SigningToken != SigningToken(hs[0].Token, ProjectScope(p.ID)) {
		t.Fatalf("the project hook's signing token is not the one derived from its secret: %+v", hs)
	}
	ds := f.sim.Push(context.Background(), p.ID)
	var signed int
	for _, d := range ds {
		if d.HookID != hs[0].ID {
			continue
		}
		key, err := whsig.Key(hs[0].SigningToken)
		if err != nil {
			t.Fatal(err)
		}
		if err := whsig.Verify([][]byte{key}, d.Header.Get(whsig.HeaderID), d.Header.Get(whsig.HeaderTimestamp), d.Header.Get(whsig.HeaderSignature), d.Body, time.Now()); err != nil {
			t.Fatalf("the delivery's signature does not verify: %v", err)
		}
		signed++
	}
	if signed == 0 {
		t.Fatalf("no delivery reached the project hook: %v", ds)
	}
	if plan, _ := f.reconcile(t, Settings{AppHost: appHost, Signing: true}, f.sources(t, tok)); plan.Changes() != 0 {
		t.Fatalf("second cycle: %v", plan.Actions)
	}
}
