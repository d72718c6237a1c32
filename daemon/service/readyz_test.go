package service

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore/pgtest"
)

// /readyz is not ready until the first resync completed (the catalog is
// empty before), then ready; readyBeforeFirstResync turns that off. The
// start-up log says what keeps the catalog current.
func TestReadyAfterFirstResync(t *testing.T) {
	h := newHarness(t)
	h.sim.SetFaults(gitlabtest.Faults{RouteLatency: map[string]time.Duration{"GET /groups/:id/merge_requests": 700 * time.Millisecond}})
	h.start()
	if c, body := h.admin("GET", "/readyz", ""); c != http.StatusServiceUnavailable || !strings.Contains(body, "first resync not completed") {
		t.Fatalf("readyz during the first resync: %d %s", c, body)
	}
	eventually(t, 15*time.Second, "ready after the first resync", func() bool {
		c, _ := h.admin("GET", "/readyz", "")
		return c == http.StatusOK
	})
	if !strings.Contains(h.logs.String(), "the catalog is kept current by real-time events from the group hooks glsync manages, resyncs asked through POST /resync") {
		t.Fatalf("start-up message:\n%s", h.logs.String())
	}
	h.stop()

	h2 := newHarness(t)
	h2.cfg.ReadyBeforeFirstResync = true
	h2.cfg.AppHost, h2.cfg.AdminToken = "", ""
	h2.sim.SetFaults(gitlabtest.Faults{RouteLatency: map[string]time.Duration{"GET /groups/:id/merge_requests": 700 * time.Millisecond}})
	h2.start()
	if c, body := h2.admin("GET", "/readyz", ""); c != http.StatusOK {
		t.Fatalf("readyz with readyBeforeFirstResync: %d %s", c, body)
	}
	if !strings.Contains(h2.logs.String(), "nothing keeps the catalog current after the start-up resync") {
		t.Fatalf("start-up warning:\n%s", h2.logs.String())
	}
}

// The metrics listener serves what Prometheus and probes read, and not
// the admin API.
func TestMetricsListener(t *testing.T) {
	h := newHarness(t)
	h.cfg.ResyncOnStart = false
	h.metricsListen = "127.0.0.1:0"
	h.start()
	get := func(method, path string) int {
		req, _ := http.NewRequest(method, "http://"+h.svc.MetricsAddr()+path, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
		if c := get("GET", p); c != http.StatusOK {
			t.Fatalf("%s on the metrics listener: %d", p, c)
		}
	}
	for _, p := range []string{"/status", "/admin/token-mappings"} {
		if c := get("GET", p); c != http.StatusNotFound {
			t.Fatalf("%s must not be on the metrics listener: %d", p, c)
		}
	}
	if c := get("POST", "/resync"); c != http.StatusNotFound && c != http.StatusMethodNotAllowed {
		t.Fatalf("POST /resync on the metrics listener: %d", c)
	}
}

// A replica on PostgreSQL that does not lead learns from the shared
// store whether a resync completed: while the leader's resyncs fail
// (GitLab answers 401 to the project listing), it is not ready and says
// why; once one completes, it is ready, and a later failure does not take
// that back.
func TestFollowerReadyOnlyAfterACompletedResync(t *testing.T) {
	h := newHarness(t)
	h.cfg.DatabaseURL = pgtest.URL(t)
	h.cfg.Catalog = "postgres"
	h.cfg.WebhookSecret = "replicas-share-this-master-secret"
	h.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects": http.StatusUnauthorized}})
	la, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := h.replica("glsync-a", la)
	eventually(t, 15*time.Second, "a's start-up resync", func() bool { return a.LastResync() != nil })
	if !a.LastResync().Failed() {
		t.Fatal("the start-up resync must fail on a 401")
	}
	b, _ := h.replica("glsync-b", h.wl)
	h.svc = b
	c, body := h.admin("GET", "/readyz", "")
	if c != http.StatusServiceUnavailable || !strings.Contains(body, "first resync not completed") || !strings.Contains(body, "401") || !strings.Contains(body, "kinds ") {
		t.Fatalf("b's readyz while a's resyncs fail: %d %s", c, body)
	}
	st := getJSON(t, b, "/status")
	last, _ := st["last_resync"].(map[string]any)
	if last["ok"] != false || last["replica"] != "glsync-a" || !strings.Contains(fmt.Sprint(last["failed_kinds"]), "project") ||
		!strings.Contains(fmt.Sprint(st["not_ready_reason"]), "401") || st["last_completed_resync"] != nil {
		t.Fatalf("b's status must say what failed: %v", st)
	}

	h.sim.SetFaults(gitlabtest.Faults{})
	if c, body := h.admin("POST", "/resync", adminToken); c != http.StatusAccepted {
		t.Fatalf("POST /resync on b: %d %s", c, body)
	}
	eventually(t, 20*time.Second, "b ready once a's resync completed", func() bool {
		c, _ := h.admin("GET", "/readyz", "")
		return c == http.StatusOK
	})
	done := a.LastResync().Run

	h.sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects": http.StatusUnauthorized}})
	if c, body := h.admin("POST", "/resync", adminToken); c != http.StatusAccepted {
		t.Fatalf("POST /resync on b: %d %s", c, body)
	}
	eventually(t, 20*time.Second, "a's failed resync", func() bool { l := a.LastResync(); return l.Run > done && l.Failed() })
	if c, body := h.admin("GET", "/readyz", ""); c != http.StatusOK {
		t.Fatalf("a failed resync after a completed one must keep b ready: %d %s", c, body)
	}
	st = getJSON(t, b, "/status")
	if l, _ := st["last_completed_resync"].(map[string]any); l == nil || l["run"] != float64(done) {
		t.Fatalf("b's status must name the last completed resync: %v", st)
	}
}

// A broken port.yml: the start-up resync completes with a file error, so
// the daemon is ready, /status lists the file, and the metric counts it.
func TestFileErrorsInStatusAndMetrics(t *testing.T) {
	h := newHarness(t)
	var broken string
	for _, p := range h.sim.Projects() {
		if !p.EmptyRepo && p.ID%3 == 0 && strings.HasPrefix(p.PathWithNamespace, h.org.Roots[0].FullPath+"/") {
			h.sim.SetFile(p.ID, "port.yml", "- identifier: [unclosed\n")
			broken = p.PathWithNamespace
			break
		}
	}
	if broken == "" {
		t.Fatal("no project with a port.yml")
	}
	h.startWith(append(mapping.Default(), []byte("specPath: '**/port.yml'\n")...))
	eventually(t, 20*time.Second, "the start-up resync", func() bool { return h.svc.LastResync() != nil })
	if c, body := h.admin("GET", "/readyz", ""); c != http.StatusOK {
		t.Fatalf("a resync with file errors completed: readyz %d %s", c, body)
	}
	st := getJSON(t, h.svc, "/status")
	last, _ := st["last_resync"].(map[string]any)
	files, _ := last["file_errors"].([]any)
	if last["ok"] != true || last["outcome"] != resync.OutcomeFileErrors || len(files) != 1 {
		t.Fatalf("status: %v", st)
	}
	f, _ := files[0].(map[string]any)
	if f["kind"] != mapping.GitOpsKind || f["project"] != broken || f["path"] != "port.yml" || f["reason"] != crawl.ReasonInvalid {
		t.Fatalf("file error in /status: %v", f)
	}
	if _, m := h.admin("GET", "/metrics", ""); !strings.Contains(m, `glsync_resync_file_errors{kind="gitops"} 1`) || !strings.Contains(m, `glsync_resync_file_errors{kind="project"} 0`) {
		t.Fatalf("/metrics lacks the file errors:\n%s", m)
	}
}
