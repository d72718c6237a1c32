package service

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
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
