package deploy

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/glsync/terraform-provider-glsync/daemon/service"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// exposedMapping maps projects with one expression that fails on the
// simulator's descriptions (text), so events count expression errors.
const exposedMapping = `resources:
  - kind: project
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          blueprint: '"service"'
          properties:
            name: .name
            score: .description | tonumber
`

// scrapeNames is every series name a /metrics answer carries.
func scrapeNames(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tp := expfmt.NewTextParser(model.UTF8Validation)
	families, err := tp.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for name, mf := range families {
		if len(mf.GetMetric()) == 0 {
			continue // described but without a series: nothing to query
		}
		names[name] = true
		switch mf.GetType().String() {
		case "HISTOGRAM":
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case "SUMMARY":
			names[name+"_sum"], names[name+"_count"] = true, true
		}
	}
	return names
}

// TestAlertsAndPanelsNameExposedMetrics: every metric the chart's alerts
// and dashboard panels query is one a running glsyncd serves. It starts
// glsyncd against the GitLab simulator, lets it resync and manage its
// hook, delivers an event that first fails (GitLab answers 500) and then
// maps with an expression error, sends a refused delivery, and scrapes
// /metrics; a histogram's name counts with its _bucket, _sum and _count.
func TestAlertsAndPanelsNameExposedMetrics(t *testing.T) {
	docs := render(t, monitoringArgs...)
	wanted := map[string][]string{} // metric name → the alerts and panels naming it
	for _, g := range parseRules(t, docs).Groups {
		for _, r := range g.Rules {
			names := map[string]bool{}
			metricNames(t, r.Expr, nil, names)
			for n := range names {
				wanted[n] = append(wanted[n], "alert "+r.Alert)
			}
		}
	}
	dash, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range dashboardExprs(t, dash) {
		names := map[string]bool{}
		metricNames(t, e, nil, names)
		for n := range names {
			wanted[n] = append(wanted[n], "panel query "+e)
		}
	}

	sim := gitlabtest.New(gitlabtest.Options{Seed: 3})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 8, Depth: 2, Seed: 3})
	ts := sim.Start(t)
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mpath := filepath.Join(t.TempDir(), "mapping.yml")
	if err := os.WriteFile(mpath, []byte(exposedMapping), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Load(mpath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		TokenMapping: tokenmap.Mapping{{Token: org.RootTokens[0], Patterns: []string{"**"}}},
		GitLabHost:   ts.URL, AppHost: "http://" + wl.Addr().String(),
		MaxConcurrentRequests: 4, MaxRetries: 1, ResyncOnStart: true,
		WebhookMaxBodyBytes: 64 << 10, EventWorkers: 2, HookReconcileInterval: time.Hour,
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := service.Start(ctx, service.Options{Config: cfg, Mapping: m, DataDir: t.TempDir(), WebhookListener: wl,
		AdminListen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0", Log: slog.New(slog.DiscardHandler),
		Client: gitlab.Options{RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond}, DrainTimeout: 5 * time.Second})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := svc.Wait(); err != nil {
			t.Errorf("glsyncd stopped with %v", err)
		}
	}()
	metricsURL := "http://" + svc.MetricsAddr() + "/metrics"
	waitFor := func(what string, cond func(map[string]bool) bool) map[string]bool {
		t.Helper()
		// Generous for a shared CI machine under -race; idle, each wait
		// takes well under a second.
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			names := scrapeNames(t, metricsURL)
			if cond(names) {
				return names
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within a minute; /metrics has %v", what, slices.Sorted(func(yield func(string) bool) {
					for n := range names {
						if !yield(n) {
							return
						}
					}
				}))
			}
		}
	}
	has := func(ns ...string) func(map[string]bool) bool {
		return func(names map[string]bool) bool {
			for _, n := range ns {
				if !names[n] {
					return false
				}
			}
			return true
		}
	}
	waitFor("the start-up resync and the managed hook", has("glsync_last_resync_success", "glsync_resync_runs_total", "glsync_hook_state"))

	// An event that fails once (GitLab answers 500), then applies with its
	// expression error.
	team := sim.Group(org.Roots[0].FullPath)
	p := sim.AddProject(team, "ExposedService")
	sim.SetFaults(gitlabtest.Faults{ErrorRate: 1})
	if ds := sim.Push(context.Background(), p.ID); len(ds) != 1 || ds[0].Status != http.StatusAccepted {
		t.Fatalf("push delivered %v", ds)
	}
	waitFor("the failed event", has("glsync_events_failed_total"))
	sim.SetFaults(gitlabtest.Faults{})
	// A delivery without the hook's secret is refused.
	resp, err := http.Post("http://"+svc.WebhookAddr()+"/integration/hook/1", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	names := waitFor("the applied event and the refused delivery",
		has("glsync_events_processed_total", "glsync_event_expression_errors_total", "glsync_webhook_events_rejected_total"))

	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for n := range wanted {
			if !yield(n) {
				return
			}
		}
	}) {
		if !names[n] {
			t.Errorf("%s is not served by glsyncd, but %s name it", n, strings.Join(wanted[n], "; "))
		}
	}
	if len(wanted) < 25 {
		t.Fatalf("only %d metric names in the alerts and panels; the parse is wrong", len(wanted))
	}
}
