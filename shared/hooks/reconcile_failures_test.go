package hooks

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// downStore is a secret store that cannot be reached (a database
// restarting): every call fails.
type downStore struct{ catalog.Secrets }

var errDown = errors.New("failed to connect: the database system is shutting down (SQLSTATE 57P03)")

func (downStore) HookSecret(context.Context, string) (catalog.HookSecret, bool, error) {
	return catalog.HookSecret{}, false, errDown
}
func (downStore) PutHookSecret(context.Context, catalog.HookSecret) error { return errDown }
func (downStore) DeleteHookSecret(context.Context, string) error          { return errDown }

// writeDown reads but cannot write (a database failing over mid-cycle).
type writeDown struct{ catalog.Secrets }

func (writeDown) PutHookSecret(context.Context, catalog.HookSecret) error { return errDown }

// changes counts the requests that would change a hook in GitLab (create,
// edit, delete, resume), by route.
func changes(sim *gitlabtest.Server) map[string]int {
	byRoute, _ := sim.Requests()
	out := map[string]int{}
	for route, c := range byRoute {
		if strings.Contains(route, "hooks") && !strings.HasPrefix(route, "GET ") {
			out[route] += c
		}
	}
	return out
}

const resumeRoute = "POST /groups/:id/hooks/:id/test/:id"

// receiver is glsyncd as GitLab reaches it: it accepts every delivery,
// so a test delivery (a resume) succeeds.
func receiver(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

// cycle runs one reconciliation as the daemon does: desired set, plan,
// apply. It returns the plan's error (nil plan then, nothing applied).
func cycle(ctx context.Context, t *testing.T, host string, srcs []*crawl.Source, secrets catalog.Secrets) (*Plan, Result, error) {
	t.Helper()
	desired, problems, err := DesiredHooks(ctx, Settings{AppHost: host}, srcs)
	if err != nil {
		return nil, Result{}, err
	}
	plan, err := MakePlanWith(ctx, PlanOptions{AppHost: host}, desired, problems, secrets)
	if err != nil {
		return nil, Result{}, err
	}
	return plan, Apply(ctx, plan, secrets, slog.New(slog.NewTextHandler(io.Discard, nil))), nil
}

func ops(plan *Plan) []string {
	var out []string
	for _, a := range plan.Actions {
		out = append(out, string(a.Op))
	}
	return out
}

func pause(sim *gitlabtest.Server, id int64) {
	sim.EditHook(id, func(h *gitlabtest.Hook) {
		h.AlertStatus, h.DisabledUntil, h.Failures = "temporarily_disabled", time.Now().Add(time.Minute).UTC(), 4
	})
}

// A cycle that cannot read glsync's own store, or GitLab's list of hooks
// (5xx, timeout), skips: it deletes, replaces, edits and resumes nothing,
// not even a hook GitLab paused or one disabled for good, and says why.
// With the store read-only, a re-create fails before the old hook is
// deleted. The next healthy cycle resumes the paused hook in place (same
// id: its failed deliveries stay resendable) and re-creates only the one
// disabled for good; the cycle after it changes nothing.
func TestReconcileSkipsOnReadFailures(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		name := "stored secrets"
		if keyed {
			name = "secrets derived from webhookSecret"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			host := receiver(t)
			const master = "replicas-share-this-master-secret"
			var secrets catalog.Secrets = f.secrets
			if keyed {
				secrets = Keyed{Master: master, Store: f.secrets}
			}
			srcs := f.sources(t, f.org.RootTokens...)
			if plan, res, err := cycle(ctx, t, host, srcs, secrets); err != nil || plan.Changes() != 2 || len(res.Done) != 2 {
				t.Fatalf("first cycle: %v %+v %v", plan, res, err)
			}
			// GitLab paused the first hook after failed deliveries (the
			// replicas answered 503 while their database restarted) and
			// disabled the second for good.
			first := f.sim.Hooks()
			pause(f.sim, first[0].ID)
			f.sim.DisableHook(first[1].ID)
			healthy := f.sim.Hooks()

			unchanged := func(t *testing.T, what string) {
				t.Helper()
				if n := changes(f.sim); len(n) != 0 {
					t.Fatalf("%s: requests changed hooks in GitLab: %v", what, n)
				}
				if got := f.sim.Hooks(); !reflect.DeepEqual(got, healthy) {
					t.Fatalf("%s: hooks changed:\n got %+v\nwant %+v", what, got, healthy)
				}
			}
			skipped := func(t *testing.T, err error, reason string) {
				t.Helper()
				var sk *Skipped
				if !errors.As(err, &sk) || sk.Reason != reason || !strings.Contains(err.Error(), "reconciliation skipped, nothing changed") {
					t.Fatalf("want a cycle skipped for %s, got %v", reason, err)
				}
			}

			// 1. The store cannot be read.
			f.sim.ResetRequests()
			_, _, err := cycle(ctx, t, host, srcs, downStore{})
			skipped(t, err, SkipStore)
			unchanged(t, "store down")

			// 2. GitLab answers 5xx to the hook listing.
			for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
				f.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /groups/:id/hooks": status}})
				f.sim.ResetRequests()
				_, _, err = cycle(ctx, t, host, srcs, secrets)
				skipped(t, err, SkipGitLab)
				unchanged(t, http.StatusText(status)+" on the listing")
			}

			// 3. The listing times out.
			f.sim.SetFaults(gitlabtest.Faults{RouteLatency: map[string]time.Duration{"GET /groups/:id/hooks": 2 * time.Second}})
			f.sim.ResetRequests()
			tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			desired, problems, derr := DesiredHooks(ctx, Settings{AppHost: host}, srcs)
			if derr != nil {
				t.Fatal(derr)
			}
			_, err = MakePlanWith(tctx, PlanOptions{AppHost: host}, desired, problems, secrets)
			cancel()
			skipped(t, err, SkipGitLab)
			unchanged(t, "listing timed out")

			// 4. GitLab answers 5xx to reading the root groups.
			f.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /groups": http.StatusBadGateway}})
			f.sim.ResetRequests()
			_, _, err = cycle(ctx, t, host, f.sources(t, f.org.RootTokens...), secrets)
			skipped(t, err, SkipGitLab)
			unchanged(t, "root groups unreadable")
			f.sim.SetFaults(gitlabtest.Faults{})

			// 5. The store reads but cannot be written: the re-create of
			// the hook disabled for good fails before GitLab is touched;
			// the resume, which writes nothing, goes on.
			var ws catalog.Secrets = writeDown{f.secrets}
			if keyed {
				ws = Keyed{Master: master, Store: writeDown{f.secrets}}
			}
			f.sim.ResetRequests()
			plan, res, err := cycle(ctx, t, host, srcs, ws)
			if err != nil || !reflect.DeepEqual(ops(plan), []string{"resume", "recreate"}) || len(res.Failed) != 1 || res.Failed[0].Scope != GroupScope(first[1].GroupID) {
				t.Fatalf("store read-only: %v %+v %v", plan, res, err)
			}
			if c := changes(f.sim); len(c) != 1 || c[resumeRoute] != 1 {
				t.Fatalf("store read-only: requests %v; want the resume only", c)
			}
			after := f.sim.Hooks()
			if len(after) != 2 || after[0].ID != first[0].ID || after[0].AlertStatus != "executable" || !reflect.DeepEqual(after[1], healthy[1]) {
				t.Fatalf("store read-only: hooks %+v", after)
			}

			// 6. Healthy again, the first hook paused again: resumed in
			// place; the second re-created.
			pause(f.sim, first[0].ID)
			f.sim.ResetRequests()
			plan, res, err = cycle(ctx, t, host, srcs, secrets)
			if err != nil || len(res.Failed) != 0 || !reflect.DeepEqual(ops(plan), []string{"resume", "recreate"}) || plan.Actions[1].Existing.ID != first[1].ID {
				t.Fatalf("healthy cycle: %v %+v %v", plan, res, err)
			}
			after = f.sim.Hooks()
			if len(after) != 2 || after[0].ID != first[0].ID || after[0].AlertStatus != "executable" || after[0].Token != first[0].Token || after[1].ID == first[1].ID {
				t.Fatalf("healthy cycle: hooks %+v", after)
			}
			// And the next cycle is a no-op.
			f.sim.ResetRequests()
			plan, _, err = cycle(ctx, t, host, srcs, secrets)
			if err != nil || plan.Changes() != 0 || len(changes(f.sim)) != 0 || !reflect.DeepEqual(f.sim.Hooks(), after) {
				t.Fatalf("the cycle after a healthy one changed something: %v %v", plan, err)
			}
		})
	}
}

// A hook GitLab paused keeps its id whatever else is due: drifted events
// are set in place (PUT), one with nothing else to change is resumed in
// place, and when the resume fails (glsync not answering yet, or a GitLab
// older than the test API) it is reported and left, never replaced.
func TestPausedHookIsNeverReplaced(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	srcs := f.sources(t, f.org.RootTokens...)
	if _, _, err := cycle(ctx, t, appHost, srcs, f.secrets); err != nil {
		t.Fatal(err)
	}
	before := f.sim.Hooks()
	for _, h := range before {
		pause(f.sim, h.ID)
	}
	drifted := map[string]bool{}
	for k, v := range before[1].Events {
		drifted[k] = v
	}
	drifted["issues_events"] = false
	f.sim.SetHookEvents(before[1].ID, drifted)
	f.sim.ResetRequests()
	// appHost does not answer: the resume's test delivery fails.
	plan, res, err := cycle(ctx, t, appHost, srcs, f.secrets)
	if err != nil || !reflect.DeepEqual(ops(plan), []string{"resume", "update"}) || len(res.Failed) != 1 || len(res.Done) != 1 {
		t.Fatalf("plan %v, result %+v, %v", plan, res, err)
	}
	for route, n := range changes(f.sim) {
		if strings.HasPrefix(route, "DELETE ") || route == "POST /groups/:id/hooks" {
			t.Fatalf("%d× %s: a paused hook was replaced", n, route)
		}
	}
	after := f.sim.Hooks()
	if len(after) != 2 || after[0].ID != before[0].ID || after[1].ID != before[1].ID || !after[1].Events["issues_events"] {
		t.Fatalf("hooks after: %+v", after)
	}
}
