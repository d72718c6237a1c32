package hooks

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
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

// changes counts the requests that would change a hook in GitLab.
func changes(sim *gitlabtest.Server) int {
	byRoute, _ := sim.Requests()
	n := 0
	for route, c := range byRoute {
		if strings.Contains(route, "hooks") && !strings.HasPrefix(route, "GET ") {
			n += c
		}
	}
	return n
}

// cycle runs one reconciliation as the daemon does: desired set, plan,
// apply. It returns the plan's error (nil plan then, nothing applied).
func cycle(ctx context.Context, t *testing.T, srcs []*crawl.Source, secrets catalog.Secrets) (*Plan, Result, error) {
	t.Helper()
	desired, problems, err := DesiredHooks(ctx, Settings{AppHost: appHost}, srcs)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := MakePlanWith(ctx, PlanOptions{AppHost: appHost}, desired, problems, secrets)
	if err != nil {
		return nil, Result{}, err
	}
	return plan, Apply(ctx, plan, secrets, slog.New(slog.NewTextHandler(io.Discard, nil))), nil
}

// A cycle that cannot read glsync's own store, or GitLab's list of hooks
// (5xx, timeout), skips: it deletes, replaces and edits nothing, not even
// a hook GitLab paused or one whose events drifted, and says why. The
// next healthy cycle finds nothing to do but what was due anyway, and a
// hook GitLab paused after failed deliveries is never replaced: its
// failed deliveries stay resendable.
func TestReconcileSkipsOnReadFailures(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		name := "stored secrets"
		if keyed {
			name = "secrets derived from webhookSecret"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			var secrets catalog.Secrets = f.secrets
			if keyed {
				secrets = Keyed{Master: "replicas-share-this-master-secret", Store: f.secrets}
			}
			srcs := f.sources(t, f.org.RootTokens...)
			if plan, res, err := cycle(ctx, t, srcs, secrets); err != nil || plan.Changes() != 2 || len(res.Done) != 2 {
				t.Fatalf("first cycle: %v %+v %v", plan, res, err)
			}
			healthy := f.sim.Hooks()

			unchanged := func(t *testing.T, what string) {
				t.Helper()
				if n := changes(f.sim); n != 0 {
					t.Fatalf("%s: %d requests changed hooks in GitLab", what, n)
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

			// GitLab paused the first hook after failed deliveries (the
			// replicas answered 503 while their database restarted).
			paused := healthy[0].ID
			until := time.Now().Add(time.Minute).UTC()
			f.sim.EditHook(paused, func(h *gitlabtest.Hook) {
				h.AlertStatus, h.DisabledUntil, h.Failures = "temporarily_disabled", until, 4
			})
			healthy = f.sim.Hooks()

			// 1. The store cannot be read.
			f.sim.ResetRequests()
			_, _, err := cycle(ctx, t, srcs, downStore{})
			skipped(t, err, SkipStore)
			unchanged(t, "store down")

			// 2. The store reads but cannot be written, and a hook would be
			// re-created (disabled for good): the old one stays.
			f.sim.DisableHook(healthy[1].ID)
			healthy = f.sim.Hooks()
			f.sim.ResetRequests()
			var ws catalog.Secrets = writeDown{f.secrets}
			if keyed {
				ws = Keyed{Master: "replicas-share-this-master-secret", Store: writeDown{f.secrets}}
			}
			plan, res, err := cycle(ctx, t, srcs, ws)
			if err != nil || len(res.Failed) != 1 || len(res.Done) != 0 {
				t.Fatalf("store read-only: %v %+v %v", plan.Actions, res, err)
			}
			unchanged(t, "store read-only")

			// 3. GitLab answers 5xx to the hook listing.
			for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
				f.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /groups/:id/hooks": status}})
				f.sim.ResetRequests()
				_, _, err = cycle(ctx, t, srcs, secrets)
				skipped(t, err, SkipGitLab)
				unchanged(t, http.StatusText(status)+" on the listing")
			}

			// 4. The listing times out.
			f.sim.SetFaults(gitlabtest.Faults{RouteLatency: map[string]time.Duration{"GET /groups/:id/hooks": 2 * time.Second}})
			f.sim.ResetRequests()
			tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			desired, problems, derr := DesiredHooks(ctx, Settings{AppHost: appHost}, srcs)
			if derr != nil {
				t.Fatal(derr)
			}
			_, err = MakePlanWith(tctx, PlanOptions{AppHost: appHost}, desired, problems, secrets)
			cancel()
			skipped(t, err, SkipGitLab)
			unchanged(t, "listing timed out")
			f.sim.SetFaults(gitlabtest.Faults{})

			// 5. Healthy again: the paused hook is kept (reported, not
			// replaced); only the hook disabled for good is re-created.
			f.sim.ResetRequests()
			plan, res, err = cycle(ctx, t, srcs, secrets)
			if err != nil || len(res.Failed) != 0 {
				t.Fatalf("healthy cycle: %v %+v", err, res)
			}
			var ops []string
			for _, a := range plan.Actions {
				ops = append(ops, string(a.Op))
			}
			if !reflect.DeepEqual(ops, []string{"keep", "recreate"}) || plan.Actions[1].Existing.ID != healthy[1].ID {
				t.Fatalf("healthy cycle: %v", plan.Actions)
			}
			if len(plan.Problems) != 1 || !strings.Contains(plan.Problems[0].Error(), "GitLab paused deliveries to it until") {
				t.Fatalf("the paused hook is not reported: %v", plan.Problems)
			}
			after := f.sim.Hooks()
			if len(after) != 2 || !reflect.DeepEqual(after[0], healthy[0]) {
				t.Fatalf("the paused hook was touched: %+v", after)
			}
			// And the next cycle is a no-op.
			f.sim.ResetRequests()
			plan, _, err = cycle(ctx, t, srcs, secrets)
			if err != nil || plan.Changes() != 0 || changes(f.sim) != 0 || !reflect.DeepEqual(f.sim.Hooks(), after) {
				t.Fatalf("the cycle after a healthy one changed something: %v %v", plan.Actions, err)
			}
		})
	}
}

// A hook GitLab paused keeps its id whatever else is due: drifted events
// are set in place (PUT), and one with nothing to change is kept and
// reported.
func TestPausedHookIsNeverReplaced(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	srcs := f.sources(t, f.org.RootTokens...)
	if _, _, err := cycle(ctx, t, srcs, f.secrets); err != nil {
		t.Fatal(err)
	}
	before := f.sim.Hooks()
	for _, h := range before {
		f.sim.EditHook(h.ID, func(h *gitlabtest.Hook) {
			h.AlertStatus, h.DisabledUntil = "temporarily_disabled", time.Now().Add(time.Hour)
		})
	}
	drifted := map[string]bool{}
	for k, v := range before[1].Events {
		drifted[k] = v
	}
	drifted["issues_events"] = false
	f.sim.SetHookEvents(before[1].ID, drifted)
	f.sim.ResetRequests()
	plan, res, err := cycle(ctx, t, srcs, f.secrets)
	if err != nil || len(res.Failed) != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	if len(plan.Actions) != 2 || plan.Actions[0].Op != OpKeep || plan.Actions[1].Op != OpUpdate || len(plan.Problems) != 1 {
		t.Fatalf("plan %v, problems %v", plan.Actions, plan.Problems)
	}
	byRoute, _ := f.sim.Requests()
	for route, n := range byRoute {
		if strings.HasPrefix(route, "DELETE ") || strings.HasPrefix(route, "POST ") {
			t.Fatalf("%d× %s: a paused hook was replaced", n, route)
		}
	}
	after := f.sim.Hooks()
	if len(after) != 2 || after[0].ID != before[0].ID || after[1].ID != before[1].ID || !after[1].Events["issues_events"] {
		t.Fatalf("hooks after: %+v", after)
	}
}
