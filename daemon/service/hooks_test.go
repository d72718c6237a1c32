package service

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// TestSharedWebhookSecret: instances that share webhookSecret agree on
// every hook's secret: a second daemon with its own data directory accepts
// the deliveries of the first one's hooks, and `hooks apply` from a third
// directory leaves them working. Without webhookSecret, a directory that
// does not hold a hook's secret does not replace it unless asked.
func TestSharedWebhookSecret(t *testing.T) {
	h := newHarness(t)
	h.cfg.WebhookSecret = "a-shared-master-secret-for-tests"
	h.start()
	h.ready()
	hook := h.sim.Hooks()[0]
	if hook.Token == "" || hook.Token != hooks.DeriveSecret(h.cfg.WebhookSecret, hooks.GroupScope(hook.GroupID)) {
		t.Fatal("the hook's secret is not the one derived from webhookSecret")
	}
	// A second daemon, same configuration, its own data directory.
	h2 := newHarness(t)
	h2.sim, h2.org = h.sim, h.org
	cfg2 := *h.cfg
	cfg2.AppHost = "http://" + h2.wl.Addr().String()
	cfg2.ResyncOnStart = false
	h2.cfg = &cfg2
	h2.start()
	deliver := func(h *harness, url, token string) int {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"object_kind":"push","project":{"id":1,"path_with_namespace":"x/y"}}`))
		req.Header.Set("X-Gitlab-Event", "Push Hook")
		req.Header.Set("X-Gitlab-Token", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	path := hooks.GroupHookPath + strconv.FormatInt(hook.GroupID, 10)
	if code := deliver(h2, cfg2.AppHost+path, hook.Token); code != http.StatusAccepted {
		t.Fatalf("the second daemon refused a delivery of the first one's hook: %d", code)
	}
	if code := deliver(h2, cfg2.AppHost+path, "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("a wrong secret was accepted: %d", code)
	}
	if !strings.Contains(h2.logs.String(), "X-Gitlab-Token does not match") {
		t.Fatal("a refused delivery is not logged")
	}
	for i := 0; i < 20; i++ {
		deliver(h2, cfg2.AppHost+path, "wrong")
	}
	if n := strings.Count(h2.logs.String(), "X-Gitlab-Token does not match"); n != 1 {
		t.Fatalf("refusals logged %d times, want once a minute", n)
	}
	// `hooks apply` from a third directory.
	third, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	var sources []*crawl.Source
	for _, e := range h.cfg.TokenMapping {
		c, err := gitlab.New(h.cfg.GitLabHost, e.Token, gitlab.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, crawl.NewSource(e, c, nil))
	}
	ctx := context.Background()
	if _, res, err := ReconcileWith(ctx, h.cfg, sources, third, ReconcileOptions{Apply: true}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil || len(res.Failed) > 0 {
		t.Fatalf("apply from a third directory: %v %v", err, res.Failed)
	}
	if got := h.sim.Hooks()[0].Token; got != hook.Token {
		t.Fatal("apply from a third directory changed a hook's secret")
	}
	p, pwn := h.newProject("AfterApplyService")
	h.sim.PushFile(ctx, p.ID, "README.md", "hi")
	eventually(t, 2*time.Second, "deliveries still accepted", func() bool { return h.entity("service", pwn) != nil })

	// Without webhookSecret: a directory that does not hold the secrets
	// leaves them alone and says so; --rotate-secrets replaces them.
	noMaster := *h.cfg
	noMaster.WebhookSecret = ""
	fourth, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fourth.Close()
	third = fourth
	plan, _, err := ReconcileWith(ctx, &noMaster, sources, third, ReconcileOptions{Apply: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || plan.Changes() != 0 || len(plan.Problems) == 0 || !strings.Contains(plan.Problems[0].Error(), "glsync does not hold its secret") {
		t.Fatalf("without webhookSecret: %d changes, problems %v, %v", plan.Changes(), plan.Problems, err)
	}
	if got := h.sim.Hooks()[0].Token; got != hook.Token {
		t.Fatal("a hook's unknown secret was replaced without --rotate-secrets")
	}
	if _, _, err := ReconcileWith(ctx, &noMaster, sources, third, ReconcileOptions{Apply: true, RotateSecrets: true}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if got := h.sim.Hooks()[0].Token; got == hook.Token {
		t.Fatal("--rotate-secrets did not give the hook a new secret")
	}
}

// TestAdoptsOceanHooks: Ocean's hooks already on the groups (v1's at
// glsync's own route, v2's at /integration/webhook, neither with a secret)
// are adopted: after `glsyncd run` each group has exactly one hook, with a
// secret, and deliveries to both routes are verified.
func TestAdoptsOceanHooks(t *testing.T) {
	h := newHarness(t)
	r0, r1 := h.org.Roots[0], h.org.Roots[1]
	all := map[string]bool{}
	for _, f := range []string{"push_events", "merge_requests_events", "issues_events", "job_events", "pipeline_events"} {
		all[f] = true
	}
	v1 := h.sim.AddHook(gitlabtest.Hook{GroupID: r0.ID, URL: h.cfg.AppHost + hooks.GroupHookPath + strconv.FormatInt(r0.ID, 10), Events: all})
	v2 := h.sim.AddHook(gitlabtest.Hook{GroupID: r1.ID, URL: h.cfg.AppHost + hooks.OceanWebhookPath, Events: all})
	h.start()
	h.ready()
	var got []gitlabtest.Hook
	eventually(t, 5*time.Second, "hooks adopted", func() bool {
		got = h.sim.Hooks()
		for _, x := range got {
			if x.Token == "" || strings.HasSuffix(x.URL, hooks.OceanWebhookPath) {
				return false
			}
		}
		return len(got) == 2
	})
	ids := map[int64]bool{}
	for _, x := range got {
		ids[x.ID] = true
		if !x.Events["project_events"] || !x.Events["member_events"] {
			t.Fatalf("adopted hook %d has not glsync's events: %v", x.ID, x.Events)
		}
	}
	if !ids[v1.ID] || !ids[v2.ID] {
		t.Fatalf("hooks were replaced, not adopted in place: %v", got)
	}
	deliver := func(path, token string) int {
		req, _ := http.NewRequest(http.MethodPost, h.cfg.AppHost+path, strings.NewReader(`{"object_kind":"push","project":{"id":1,"path_with_namespace":"x/y"}}`))
		req.Header.Set("X-Gitlab-Event", "Push Hook")
		if token != "" {
			req.Header.Set("X-Gitlab-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, x := range got {
		if code := deliver(hooks.GroupHookPath+strconv.FormatInt(x.GroupID, 10), x.Token); code != http.StatusAccepted {
			t.Fatalf("glsync's route: %d", code)
		}
		if code := deliver(hooks.OceanWebhookPath, x.Token); code != http.StatusAccepted {
			t.Fatalf("Ocean's route with the hook's secret: %d", code)
		}
	}
	if code := deliver(hooks.OceanWebhookPath, ""); code != http.StatusUnauthorized {
		t.Fatalf("Ocean's route without a secret: %d", code)
	}
	if code := deliver(hooks.OceanWebhookPath, "not-a-secret"); code != http.StatusUnauthorized {
		t.Fatalf("Ocean's route with a wrong secret: %d", code)
	}
}

// A hook GitLab paused after failed deliveries is resumed in place (same
// id, so GitLab's failed deliveries stay resendable) by the next
// reconciliation, and a resync reads what GitLab dropped meanwhile: a
// project pushed during the pause reaches the catalog. /status shows the
// cycle.
func TestPausedHookResumedInPlaceAndResynced(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.ready()
	ctx := context.Background()
	root := h.org.Roots[0]
	var hook gitlabtest.Hook
	for _, hk := range h.sim.Hooks() {
		if hk.GroupID == root.ID {
			hook = hk
		}
	}
	eventually(t, 10*time.Second, "the start-up resync completes", func() bool {
		_, body := h.admin(http.MethodGet, "/status", adminToken)
		return strings.Contains(body, `"last_resync":{`)
	})
	h.sim.EditHook(hook.ID, func(hk *gitlabtest.Hook) {
		hk.AlertStatus, hk.DisabledUntil, hk.Failures = "temporarily_disabled", time.Now().Add(time.Minute), 4
	})
	team := h.sim.Group(root.FullPath + "/DevopsTeam")
	p := h.sim.AddProject(team, "PushedDuringThePause")
	if ds := h.sim.Push(ctx, p.ID); len(ds) != 0 {
		t.Fatalf("GitLab delivered to a paused hook: %+v", ds)
	}
	plan, err := h.svc.ReconcileHooks(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	resumed := 0
	for _, a := range plan.Actions {
		switch a.Op {
		case hooks.OpResume:
			resumed++
		case hooks.OpKeep:
		default:
			t.Fatalf("unexpected action %s", a)
		}
	}
	if resumed != 1 {
		t.Fatalf("plan %v", plan.Actions)
	}
	var now gitlabtest.Hook
	for _, hk := range h.sim.Hooks() {
		if hk.GroupID == root.ID {
			now = hk
		}
	}
	if now.ID != hook.ID || now.Token != hook.Token || now.AlertStatus != "executable" || len(h.sim.Hooks()) != len(h.cfg.TokenMapping) {
		t.Fatalf("hook not resumed in place: was %+v, now %+v", hook, now)
	}
	eventually(t, 20*time.Second, "the project pushed during the pause, by the resync", func() bool {
		return h.entity("service", team.FullPath+"/PushedDuringThePause") != nil
	})
	_, body := h.admin(http.MethodGet, "/status", adminToken)
	if !strings.Contains(body, `"hook_reconcile":{`) || !strings.Contains(body, `"changes":1`) {
		t.Fatalf("status: %s", body)
	}
}
