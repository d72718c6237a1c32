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
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
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

const adminToken = "admin-token-for-tests-0123456789abcdefgh"

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

// eventuallyFloor is the least time eventually waits for a condition.
const eventuallyFloor = 30 * time.Second

// eventually polls cond every 10ms until it holds or d passes. d is what
// the case expects on an idle machine; it waits at least
// eventuallyFloor, because a unit test asserts what happens, not how fast
// (make bench measures that): under -race on a busy 2-core CI machine an
// event that takes 10 ms idle has taken over a second.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	d = max(d, eventuallyFloor)
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

	if _, err := api.DeleteTokenMapping(ctx, "globex"); err != nil {
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
