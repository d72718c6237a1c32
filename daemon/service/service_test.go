package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/catalog/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

type harness struct {
	t      *testing.T
	sim    *gitlabtest.Server
	org    gitlabtest.Org
	cfg    *config.Config
	dir    string
	svc    *Service
	cancel context.CancelFunc
	logs   *logBuf
	wl     net.Listener
	// mapping is a mapping file; empty for the embedded default.
	mapping string
	// metricsListen is Options.MetricsListen.
	metricsListen string
}

const adminToken = "admin-token-for-tests"

func newHarness(t *testing.T) *harness {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{Seed: 11})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 120, Depth: 3, Seed: 11})
	ts := sim.Start(t)
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		TokenMapping: tokenmap.Mapping{
			{Token: org.RootTokens[0], Patterns: []string{"**"}},
			{Token: org.RootTokens[1], Patterns: []string{"**/DevopsTeam/**", "**/RnDTeam/**"}},
		},
		GitLabHost: ts.URL, AppHost: "http://" + wl.Addr().String(),
		MaxConcurrentRequests: 8, MaxRetries: 3, ResyncOnStart: true, AdminToken: adminToken,
		WebhookMaxBodyBytes: 64 << 10, EventWorkers: 4, HookReconcileInterval: time.Hour,
	}
	return &harness{t: t, sim: sim, org: org, cfg: cfg, dir: t.TempDir(), logs: &logBuf{}, wl: wl}
}

func (h *harness) start() {
	h.t.Helper()
	m, err := mapping.Load(h.mapping)
	if err != nil {
		h.t.Fatal(err)
	}
	if h.wl == nil {
		addr := strings.TrimPrefix(h.cfg.AppHost, "http://")
		if h.wl, err = net.Listen("tcp", addr); err != nil {
			h.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := Start(ctx, Options{Config: h.cfg, Mapping: m, DataDir: h.dir, WebhookListener: h.wl, AdminListen: "127.0.0.1:0", MetricsListen: h.metricsListen,
		Log:    slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Client: gitlab.Options{RetryBase: time.Millisecond, RetryMax: 10 * time.Millisecond}, DrainTimeout: 5 * time.Second})
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	h.svc, h.cancel, h.wl = svc, cancel, nil
	h.t.Cleanup(h.stop)
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	if err := h.svc.Wait(); err != nil {
		h.t.Errorf("service stopped with %v", err)
	}
	h.cancel = nil
	for _, tok := range append(append([]string{}, h.org.RootTokens...), h.org.AdminToken, adminToken) {
		if strings.Contains(h.logs.String(), tok) {
			h.t.Error("a token appears in the logs")
		}
	}
}

// eventually polls cond every 10ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v", what, d)
	return 0
}

func (h *harness) entity(blueprint, id string) *catalog.Entity {
	ents, err := h.svc.Store().List(context.Background(), catalog.Filter{Blueprint: blueprint})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, e := range ents {
		if e.Identifier == id {
			return e
		}
	}
	return nil
}

// startWith starts glsyncd with the mapping doc and waits until it is
// ready.
func (h *harness) startWith(doc []byte) {
	h.t.Helper()
	h.mapping = h.t.TempDir() + "/mapping.yml"
	if err := os.WriteFile(h.mapping, doc, 0o600); err != nil {
		h.t.Fatal(err)
	}
	h.start()
	h.ready()
}

// newProject creates a project in the first root's DevopsTeam and pushes
// its first commit; it returns the project and its path.
func (h *harness) newProject(name string) (*gitlabtest.Project, string) {
	team := h.sim.Group(h.org.Roots[0].FullPath + "/DevopsTeam")
	p := h.sim.AddProject(team, name)
	h.sim.Push(context.Background(), p.ID)
	return p, team.FullPath + "/" + name
}

// ready waits for the start-up resync and the hooks.
func (h *harness) ready() {
	h.t.Helper()
	eventually(h.t, 10*time.Second, "a hook per root", func() bool { return len(h.sim.Hooks()) == len(h.cfg.TokenMapping) })
	eventually(h.t, 10*time.Second, "start-up resync", func() bool {
		ents, _ := h.svc.Store().List(context.Background(), catalog.Filter{Blueprint: "service"})
		return len(ents) > 50
	})
}

func (h *harness) admin(method, path, token string) (int, string) {
	req, _ := http.NewRequest(method, "http://"+h.svc.AdminAddr()+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPushMergeRequestAndSubgroupEventsReachTheCatalog(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.ready()

	// A new project appears in the catalog within a second of its first push.
	team := h.sim.Group(h.org.Roots[0].FullPath + "/DevopsTeam")
	p := h.sim.AddProject(team, "LedgerService2")
	id := team.FullPath + "/LedgerService2"
	if h.entity("service", id) != nil {
		t.Fatal("project in the catalog before any event")
	}
	ds := h.sim.Push(context.Background(), p.ID)
	if len(ds) != 1 || ds[0].Status != http.StatusAccepted {
		t.Fatalf("push deliveries %v", ds)
	}
	took := eventually(t, time.Second, "project entity after push", func() bool { return h.entity("service", id) != nil })
	t.Logf("push → entity in %v", took)

	// An MR event creates, updates and (when merged) removes the entity.
	mr := h.sim.AddMergeRequest(p.ID, "Add ledger")
	h.sim.MergeRequestEvent(context.Background(), mr.ID, "open")
	mrID := strconv.FormatInt(mr.ID, 10)
	eventually(t, time.Second, "MR entity", func() bool { return h.entity("gitlabMergeRequest", mrID) != nil })
	h.sim.UpdateMergeRequest(mr.ID, func(m *gitlabtest.MergeRequest) { m.Title = "Add ledger (v2)" })
	h.sim.MergeRequestEvent(context.Background(), mr.ID, "update")
	eventually(t, time.Second, "MR title updated", func() bool {
		e := h.entity("gitlabMergeRequest", mrID)
		return e != nil && e.Title == "Add ledger (v2)"
	})
	if e := h.entity("gitlabMergeRequest", mrID); e.Relations["service"] != id {
		t.Fatalf("MR relation %v, want %s", e.Relations["service"], id)
	}
	h.sim.UpdateMergeRequest(mr.ID, func(m *gitlabtest.MergeRequest) { m.State = "merged" })
	h.sim.MergeRequestEvent(context.Background(), mr.ID, "merge")
	eventually(t, time.Second, "merged MR leaves the catalog (states: [opened])", func() bool { return h.entity("gitlabMergeRequest", mrID) == nil })

	// Subgroups come and go.
	g, _ := h.sim.CreateSubgroup(context.Background(), team, "payments")
	gid := strconv.FormatInt(g.ID, 10)
	eventually(t, time.Second, "subgroup entity", func() bool { return h.entity("gitlabGroup", gid) != nil })
	h.sim.RemoveSubgroup(context.Background(), g)
	eventually(t, time.Second, "subgroup deleted", func() bool { return h.entity("gitlabGroup", gid) == nil })

	// Projects outside the second token's globs are ignored, never written.
	other := h.sim.Group(h.org.Roots[1].FullPath + "/MarketingTeam")
	if other == nil {
		other = h.sim.AddGroup(h.org.Roots[1], "MarketingTeam")
	}
	op := h.sim.AddProject(other, "AdService")
	if ds := h.sim.Push(context.Background(), op.ID); len(ds) != 1 || ds[0].Status != http.StatusAccepted {
		t.Fatalf("push to out-of-scope project: %v", ds)
	}
	_, metricsBody := h.admin("GET", "/metrics", "")
	eventually(t, time.Second, "out-of-scope event counted", func() bool {
		_, m := h.admin("GET", "/metrics", "")
		return strings.Contains(m, `glsync_events_processed_total{event="Push Hook",outcome="out_of_scope"} 1`)
	})
	if h.entity("service", other.FullPath+"/AdService") != nil {
		t.Fatal("an out-of-scope project was written")
	}
	for _, want := range []string{"glsync_event_queue_depth", "glsync_event_fetches_coalesced_total", "glsync_gitlab_requests_total", "glsync_resync_duration_seconds", "glsync_webhook_events_received_total"} {
		if !strings.Contains(metricsBody, want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
}

func TestForgedDuplicateAndBadDeliveries(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.ready()
	root := h.org.Roots[0]
	url := "http://" + h.svc.WebhookAddr() + "/integration/hook/" + strconv.FormatInt(root.ID, 10)
	post := func(token, event string, body []byte, extra map[string]string) int {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Gitlab-Event", event)
		if token != "" {
			req.Header.Set("X-Gitlab-Token", token)
		}
		for k, v := range extra {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	push := []byte(`{"object_kind":"push","project_id":1,"project":{"id":1,"path_with_namespace":"acme/x"}}`)
	if c := post("", "Push Hook", push, nil); c != http.StatusUnauthorized {
		t.Fatalf("missing token: %d", c)
	}
	if c := post("not-the-secret", "Push Hook", push, nil); c != http.StatusUnauthorized {
		t.Fatalf("forged token: %d", c)
	}
	var secret string
	for _, hk := range h.sim.Hooks() {
		if hk.GroupID == root.ID {
			secret = hk.Token
		}
	}
	if c := post(secret, "Push Hook", []byte(`{"object_kind":`), nil); c != http.StatusBadRequest {
		t.Fatalf("malformed JSON: %d", c)
	}
	if c := post(secret, "Bogus Hook", push, nil); c != http.StatusBadRequest {
		t.Fatalf("unknown event: %d", c)
	}
	if c := post(secret, "Push Hook", bytes.Repeat([]byte(" "), 70<<10), nil); c != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d", c)
	}
	if c := post(secret, "Wiki Page Hook", []byte(`{"object_kind":"wiki_page"}`), nil); c != http.StatusOK {
		t.Fatalf("known but unhandled event: %d", c)
	}
	if d, _ := h.svc.Store().Depth(context.Background()); d != 0 {
		t.Fatalf("rejected deliveries were queued: %d", d)
	}

	// The same delivery twice is processed once.
	team := h.sim.Group(root.FullPath + "/DevopsTeam")
	p := h.sim.AddProject(team, "DedupService")
	ds := h.sim.Push(context.Background(), p.ID)
	again := h.sim.Redeliver(context.Background(), ds[0])
	if ds[0].Status != http.StatusAccepted || again.Status != http.StatusOK {
		t.Fatalf("first %d, redelivery %d (want 202 then 200)", ds[0].Status, again.Status)
	}
	eventually(t, time.Second, "entity", func() bool { return h.entity("service", team.FullPath+"/DedupService") != nil })
	time.Sleep(200 * time.Millisecond)
	_, m := h.admin("GET", "/metrics", "")
	if !strings.Contains(m, `glsync_events_processed_total{event="Push Hook",outcome="applied"} 1`) ||
		!strings.Contains(m, `glsync_webhook_events_rejected_total{reason="duplicate"} 1`) {
		t.Fatalf("want exactly one processed push and one duplicate:\n%s", grep(m, "glsync_events_processed_total", "glsync_webhook_events_rejected_total"))
	}
}

func grep(s string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestAdminAPIAndHealth(t *testing.T) {
	h := newHarness(t)
	h.cfg.ResyncOnStart = false
	h.start()
	if c, _ := h.admin("GET", "/healthz", ""); c != 200 {
		t.Fatalf("healthz %d", c)
	}
	if c, _ := h.admin("GET", "/readyz", ""); c != 200 {
		t.Fatalf("readyz %d", c)
	}
	if c, _ := h.admin("POST", "/resync", ""); c != http.StatusUnauthorized {
		t.Fatalf("resync without token: %d", c)
	}
	if c, _ := h.admin("POST", "/resync", "wrong"); c != http.StatusUnauthorized {
		t.Fatalf("resync with a wrong token: %d", c)
	}
	if c, _ := h.admin("POST", "/resync", adminToken); c != http.StatusAccepted {
		t.Fatalf("resync: %d", c)
	}
	eventually(t, 10*time.Second, "manual resync result", func() bool {
		c, body := h.admin("GET", "/status", adminToken)
		var st map[string]any
		_ = json.Unmarshal([]byte(body), &st)
		last, _ := st["last_resync"].(map[string]any)
		return c == 200 && last != nil && last["ok"] == true
	})
}

func TestSchedule(t *testing.T) {
	h := newHarness(t)
	h.cfg.ResyncOnStart = false
	h.cfg.ResyncCron = "@every 1s"
	h.start()
	eventually(t, 5*time.Second, "cron resync", func() bool {
		_, m := h.admin("GET", "/metrics", "")
		return strings.Contains(m, `glsync_resync_runs_total{result="ok"}`)
	})
}

func TestRestartLosesNoAcceptedEvent(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.ready()
	// GitLab answers the event's object fetch slowly, so the event is
	// accepted and claimed but not committed when the daemon stops.
	h.sim.SetFaults(gitlabtest.Faults{RouteLatency: map[string]time.Duration{"GET /projects/:id": 3 * time.Second}})
	team := h.sim.Group(h.org.Roots[0].FullPath + "/DevopsTeam")
	p := h.sim.AddProject(team, "SurvivorService")
	ds := h.sim.Push(context.Background(), p.ID)
	if ds[0].Status != http.StatusAccepted {
		t.Fatalf("push: %v", ds)
	}
	// Stop abruptly: the drain budget is shorter than the slow fetch.
	h.svc.opts.DrainTimeout = 100 * time.Millisecond
	h.cancel()
	_ = h.svc.Wait()
	h.cancel = nil
	id := team.FullPath + "/SurvivorService"

	// Restart on the same data directory with GitLab healthy again.
	h.sim.SetFaults(gitlabtest.Faults{})
	h.cfg.ResyncOnStart = false
	h.start()
	eventually(t, 3*time.Second, "event processed after restart", func() bool { return h.entity("service", id) != nil })
	eventually(t, time.Second, "queue empty", func() bool { d, _ := h.svc.Store().Depth(context.Background()); return d == 0 })
}

func TestEveryEventKind(t *testing.T) {
	h := newHarness(t)
	h.mapping = "../../shared/mapping/all-kinds.yml"
	h.start()
	h.ready()
	ctx := context.Background()
	p, pwn := h.newProject("EventsService")
	eventually(t, time.Second, "project", func() bool { return h.entity("service", pwn) != nil })

	is := h.sim.AddIssue(p.ID, "Crash on start", false)
	h.sim.IssueEvent(ctx, is.ID, "open")
	eventually(t, time.Second, "issue", func() bool { return h.entity("gitlabIssue", strconv.FormatInt(is.ID, 10)) != nil })
	conf := h.sim.AddIssue(p.ID, "Security report", true)
	h.sim.IssueEvent(ctx, conf.ID, "open")
	eventually(t, time.Second, "confidential issue", func() bool { return h.entity("gitlabIssue", strconv.FormatInt(conf.ID, 10)) != nil })

	pl, jobs := h.sim.AddPipeline(p.ID, "running", "build")
	h.sim.PipelineEvent(ctx, pl.ID)
	h.sim.JobEvent(ctx, jobs[0].ID)
	eventually(t, time.Second, "pipeline", func() bool {
		e := h.entity("gitlabPipeline", strconv.FormatInt(pl.ID, 10))
		return e != nil && e.Relations["service"] == pwn && e.Properties["status"] == "running"
	})
	eventually(t, time.Second, "job", func() bool { return h.entity("gitlabJob", strconv.FormatInt(jobs[0].ID, 10)) != nil })

	h.sim.AddRelease(p.ID, "v2.0.0")
	h.sim.ReleaseEvent(ctx, p.ID, "v2.0.0", "create")
	eventually(t, time.Second, "release", func() bool { return h.entity("gitlabRelease", pwn+"@v2.0.0") != nil })
	h.sim.DeleteRelease(p.ID, "v2.0.0")
	h.sim.ReleaseEvent(ctx, p.ID, "v2.0.0", "delete")
	eventually(t, time.Second, "release deleted", func() bool { return h.entity("gitlabRelease", pwn+"@v2.0.0") == nil })

	root := h.org.Roots[0]
	rid := strconv.FormatInt(root.ID, 10)
	has := func(user string) bool {
		e := h.entity("gitlabGroupMembers", rid)
		if e == nil {
			return false
		}
		ms, _ := e.Properties["members"].([]any)
		for _, m := range ms {
			if m == user {
				return true
			}
		}
		return false
	}
	dave := h.sim.AddMember(root.ID, "dave", 30)
	h.sim.MemberEvent(ctx, root.ID, dave, "user_add_to_group")
	eventually(t, time.Second, "member added", func() bool { return has("dave") && h.entity("gitlabMember", "dave") != nil })
	h.sim.RemoveMember(root.ID, dave.UserID)
	h.sim.MemberEvent(ctx, root.ID, dave, "user_remove_from_group")
	eventually(t, time.Second, "member removed", func() bool { return !has("dave") && h.entity("gitlabMember", "dave") == nil })

	// Project Hook (the group hooks' project events): a project created
	// and destroyed (GitLab reports it under "<path>-deleted-<id>").
	team := h.sim.Group(root.FullPath + "/DevopsTeam")
	np, _ := h.sim.CreateProject(ctx, team, "HookedService")
	npwn := team.FullPath + "/" + np.Path
	eventually(t, time.Second, "project created", func() bool {
		return h.entity("service", npwn) != nil && h.entity("gitlabProjectMembers", npwn) != nil
	})
	// Deployment Hook: the all-kinds mapping syncs successful ones.
	d := h.sim.AddDeployment(p.ID, "canary", "success")
	h.sim.DeploymentEvent(ctx, p.ID, d.ID)
	did := strconv.FormatInt(d.ID, 10)
	eventually(t, time.Second, "deployment", func() bool {
		e := h.entity("gitlabDeployment", did)
		return e != nil && e.Properties["environment"] == "canary" && e.Relations["service"] == pwn
	})
	h.sim.SetDeploymentStatus(d.ID, "failed")
	h.sim.DeploymentEvent(ctx, p.ID, d.ID)
	eventually(t, time.Second, "failed deployment no longer selected", func() bool { return h.entity("gitlabDeployment", did) == nil })
	h.sim.DestroyProject(ctx, np.ID)
	eventually(t, time.Second, "project destroyed", func() bool {
		return h.entity("service", npwn) == nil && h.entity("gitlabProjectMembers", npwn) == nil
	})
}

func TestTokenMappingsThroughTheAdminAPI(t *testing.T) {
	h := newHarness(t)
	h.cfg.TokenMapping = h.cfg.TokenMapping[:1] // only root 0 in the config file
	h.start()
	h.ready()
	api := adminapi.NewClient("http://"+h.svc.AdminAddr(), adminToken)
	ctx := context.Background()

	// Every broken rule comes back, each with its field.
	_, err := api.PutTokenMapping(ctx, "globex", adminapi.TokenMappingInput{Token: h.org.RootTokens[1], Patterns: []string{"a/[x"},
		GroupHooksOverride: map[string][]string{"globex/a": {"pushes"}, "globex": {}}})
	var ae *adminapi.Error
	if !errors.As(err, &ae) || ae.Status != 422 || len(ae.Fields) != 3 {
		t.Fatalf("validation: %v", err)
	}
	if strings.Contains(err.Error(), h.org.RootTokens[1]) {
		t.Fatal("the error echoes the token")
	}
	// A token already in the config is refused.
	if _, err := api.PutTokenMapping(ctx, "dup", adminapi.TokenMappingInput{Token: h.org.RootTokens[0], Patterns: []string{"**"}}); !errors.As(err, &ae) || ae.Status != 409 {
		t.Fatalf("duplicate token: %v", err)
	}

	got, err := api.PutTokenMapping(ctx, "globex", adminapi.TokenMappingInput{Token: h.org.RootTokens[1], Patterns: []string{"**"}})
	if err != nil || got.TokenSHA256 != adminapi.TokenHash(h.org.RootTokens[1]) || !strings.HasSuffix(got.TokenMasked, "…") {
		t.Fatalf("put: %+v %v", got, err)
	}
	read, err := api.GetTokenMapping(ctx, "globex")
	if err != nil || read.Patterns[0] != "**" {
		t.Fatalf("get: %+v %v", read, err)
	}
	// Applied without a restart: root 1's events are now in scope.
	grp := h.sim.Group(h.org.Roots[1].FullPath + "/DevopsTeam")
	if grp == nil {
		grp = h.sim.AddGroup(h.org.Roots[1], "DevopsTeam")
	}
	h.sim.AddHook(gitlabtest.Hook{GroupID: h.org.Roots[1].ID, URL: h.cfg.AppHost + "/integration/hook/" + strconv.FormatInt(h.org.Roots[1].ID, 10),
		Token: "hand-made-secret-0123456789", Events: map[string]bool{"push_events": true}})
	if err := (adminapi.Secrets{C: api}).PutHookSecret(ctx, catalog.HookSecret{Scope: "group:" + strconv.FormatInt(h.org.Roots[1].ID, 10), Secret: "hand-made-secret-0123456789"}); err != nil {
		t.Fatal(err)
	}
	p := h.sim.AddProject(grp, "NewTokenService")
	h.sim.Push(ctx, p.ID)
	eventually(t, 2*time.Second, "project seen through the API-added token", func() bool { return h.entity("service", grp.FullPath+"/NewTokenService") != nil })

	if err := api.DeleteTokenMapping(ctx, "globex"); err != nil {
		t.Fatal(err)
	}
	if _, err := api.GetTokenMapping(ctx, "globex"); !errors.Is(err, adminapi.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, ok, _ := (adminapi.Secrets{C: api}).HookSecret(ctx, "group:"+strconv.FormatInt(h.org.Roots[1].ID, 10)); !ok {
		t.Fatal("secret should be held")
	}
}

func TestPortCatalogWithWebhooks(t *testing.T) {
	h := newHarness(t)
	ps := porttest.New("cid", "csecret-not-for-logs")
	pts := ps.Start(t)
	h.cfg.Catalog, h.cfg.PortClientID, h.cfg.PortClientSecret, h.cfg.PortBaseURL = "port", "cid", "csecret-not-for-logs", pts.URL
	h.cfg.IntegrationIdentifier, h.cfg.DeletionThreshold, h.cfg.SendRawDataExamples = "gl", 0.5, true
	h.start()
	inPort := func(id string) bool {
		for _, e := range ps.Entities() {
			if e.Blueprint == "service" && e.Identifier == id {
				return true
			}
		}
		return false
	}
	eventually(t, 10*time.Second, "start-up resync into Port", func() bool { return len(ps.Entities()) > 50 })
	team := h.sim.Group(h.org.Roots[0].FullPath + "/DevopsTeam")
	p := h.sim.AddProject(team, "PortBoundService")
	eventually(t, 10*time.Second, "hooks", func() bool { return len(h.sim.Hooks()) == 2 })
	h.sim.Push(context.Background(), p.ID)
	eventually(t, 2*time.Second, "webhook event reaches Port", func() bool { return inPort(team.FullPath + "/PortBoundService") })
	h.sim.DestroyProject(context.Background(), p.ID) // no system hook here: nothing is sent
	if strings.Contains(h.logs.String(), "csecret-not-for-logs") {
		t.Fatal("the Port secret appears in the logs")
	}
	if len(ps.Examples("project")) == 0 {
		t.Fatal("raw data examples not sent")
	}
}

func TestGitOpsPush(t *testing.T) {
	h := newHarness(t)
	h.startWith(append(mapping.Default(), []byte("specPath: '**/port.yml'\n")...))
	p, pwn := h.newProject("GitOpsService")
	h.sim.PushFile(context.Background(), p.ID, "port.yml", "identifier: gitops-svc-doc\ntitle: Docs\nblueprint: doc\nrelations:\n  service: "+pwn+"\n")
	eventually(t, 2*time.Second, "entity declared in port.yml", func() bool {
		e := h.entity("doc", "gitops-svc-doc")
		return e != nil && e.Relations["service"] == pwn
	})
	// An entity dropped from the file goes; the one still declared stays.
	h.sim.PushFile(context.Background(), p.ID, "port.yml", "- identifier: gitops-svc-doc\n  title: Docs v2\n  blueprint: doc\n- identifier: gitops-svc-runbook\n  blueprint: runbook\n")
	eventually(t, 2*time.Second, "the second entity", func() bool {
		e := h.entity("doc", "gitops-svc-doc")
		return h.entity("runbook", "gitops-svc-runbook") != nil && e != nil && e.Title == "Docs v2"
	})
	h.sim.PushFile(context.Background(), p.ID, "port.yml", "- identifier: gitops-svc-runbook\n  blueprint: runbook\n")
	eventually(t, 2*time.Second, "the entity dropped from port.yml deleted", func() bool {
		return h.entity("doc", "gitops-svc-doc") == nil && h.entity("runbook", "gitops-svc-runbook") != nil
	})
	// Removing the spec file deletes what it declared.
	h.sim.PushFile(context.Background(), p.ID, "port.yml", "")
	eventually(t, 2*time.Second, "entities of the removed port.yml deleted", func() bool {
		return h.entity("runbook", "gitops-svc-runbook") == nil
	})
}

// TestPushesUpdateRepositoryKinds checks that pushes keep the repository
// kinds current: files and folders on the default branch (changed and
// removed), branches and tags created and deleted.
func TestPushesUpdateRepositoryKinds(t *testing.T) {
	h := newHarness(t)
	h.startWith([]byte(`
resources:
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"service"'}}}
  - kind: file
    selector: {query: 'true', files: {path: 'config/*.json'}}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace + ":" + .file.path, blueprint: '"configFile"', properties: {owner: .file.content.owner}}}}
  - kind: folder
    selector: {query: 'true', folders: [{path: ''}]}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace + "/" + .folder.path, blueprint: '"folder"'}}}
  - kind: branch
    selector: {query: 'true', defaultBranchOnly: false, regex: '^feature/'}
    port: {entity: {mappings: {identifier: .__project.path_with_namespace + ":" + .name, blueprint: '"branch"', properties: {commit: .commit.id}}}}
  - kind: tag
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .__project.path_with_namespace + ":" + .name, blueprint: '"tag"'}}}
`))
	p, pwn := h.newProject("RepoService")
	ctx := context.Background()
	file := func() *catalog.Entity { return h.entity("configFile", pwn+":config/app.json") }

	h.sim.PushFile(ctx, p.ID, "config/app.json", `{"owner": "team-a"}`)
	eventually(t, 2*time.Second, "file and folder added", func() bool {
		f := file()
		return f != nil && f.Properties["owner"] == "team-a" && h.entity("folder", pwn+"/config") != nil
	})
	h.sim.PushFile(ctx, p.ID, "config/app.json", `{"owner": "team-b"}`)
	eventually(t, 2*time.Second, "file changed", func() bool {
		f := file()
		return f != nil && f.Properties["owner"] == "team-b"
	})
	h.sim.PushFile(ctx, p.ID, "config/app.json", "")
	eventually(t, 2*time.Second, "file and its now empty folder removed", func() bool {
		return file() == nil && h.entity("folder", pwn+"/config") == nil
	})

	ds := h.sim.PushRef(ctx, p.ID, "refs/heads/feature/login", false)
	var after string
	for _, d := range ds {
		var body struct{ After string }
		if json.Unmarshal(d.Body, &body) == nil && body.After != "" {
			after = body.After
		}
	}
	eventually(t, 2*time.Second, "branch created", func() bool {
		b := h.entity("branch", pwn+":feature/login")
		return b != nil && b.Properties["commit"] == after
	})
	h.sim.PushRef(ctx, p.ID, "refs/heads/feature/login", true)
	eventually(t, 2*time.Second, "branch deleted", func() bool { return h.entity("branch", pwn+":feature/login") == nil })

	h.sim.PushRef(ctx, p.ID, "refs/tags/v9.0.0", false)
	eventually(t, 2*time.Second, "tag created", func() bool { return h.entity("tag", pwn+":v9.0.0") != nil })
	h.sim.PushRef(ctx, p.ID, "refs/tags/v9.0.0", true)
	eventually(t, 2*time.Second, "tag deleted", func() bool { return h.entity("tag", pwn+":v9.0.0") == nil })
}

// TestPushesUpdateSkillsAndPlugins: pushes to the default branch keep the
// skill and plugin kinds current: a SKILL.md added, changed and removed; a
// plugin manifest added and removed.
func TestPushesUpdateSkillsAndPlugins(t *testing.T) {
	h := newHarness(t)
	h.startWith([]byte(`
resources:
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"service"'}}}
  - kind: skill
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace + ":" + .skill.skillMdPath, blueprint: '"skill"', properties: {name: .skill.name, root: .skill.root}}}}
  - kind: plugin
    selector: {query: 'true', providers: [cursor, pi]}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace, blueprint: '"plugin"', properties: {name: .plugin.name, pi: .plugin.supports.pi}}}}
`))
	p, pwn := h.newProject("AgentService")
	ctx := context.Background()
	skill := func() *catalog.Entity { return h.entity("skill", pwn+":.cursor/skills/lint/SKILL.md") }
	h.sim.PushFile(ctx, p.ID, ".cursor/skills/lint/SKILL.md", "---\nname: linter\n---\nLint.\n")
	eventually(t, 2*time.Second, "skill added", func() bool {
		s := skill()
		return s != nil && s.Properties["name"] == "linter" && s.Properties["root"] == ".cursor/skills"
	})
	h.sim.PushFile(ctx, p.ID, ".cursor/skills/lint/SKILL.md", "---\nname: strict-linter\n---\nLint harder.\n")
	eventually(t, 2*time.Second, "skill changed", func() bool { s := skill(); return s != nil && s.Properties["name"] == "strict-linter" })
	h.sim.PushFile(ctx, p.ID, ".cursor/skills/lint/SKILL.md", "")
	eventually(t, 2*time.Second, "skill removed", func() bool { return skill() == nil })

	plugin := func() *catalog.Entity { return h.entity("plugin", pwn) }
	h.sim.PushFile(ctx, p.ID, ".cursor-plugin/plugin.json", `{"name": "agent-kit", "version": "1.0.0"}`)
	eventually(t, 2*time.Second, "plugin added", func() bool {
		x := plugin()
		return x != nil && x.Properties["name"] == "agent-kit" && x.Properties["pi"] == false
	})
	h.sim.PushFile(ctx, p.ID, ".pi/extensions/kit.ts", "export {}")
	eventually(t, 2*time.Second, "plugin gains a provider", func() bool { x := plugin(); return x != nil && x.Properties["pi"] == true })
	h.sim.PushFile(ctx, p.ID, ".cursor-plugin/plugin.json", "")
	h.sim.PushFile(ctx, p.ID, ".pi/extensions/kit.ts", "")
	eventually(t, 2*time.Second, "plugin removed", func() bool { return plugin() == nil })
}

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
