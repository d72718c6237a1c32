package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
)

// demoPort is the Port simulator `demo --catalog port` writes to and
// takes an action run from.
type demoPort struct {
	sim *porttest.Server
	srv *httptest.Server
}

const demoPortSecret = "demo-port-secret"

func startDemoPort() *demoPort {
	sim := porttest.New("demo-port-client", demoPortSecret)
	return &demoPort{sim: sim, srv: httptest.NewServer(sim)}
}

func (d *demoPort) close() { d.srv.Close() }

// configure points cfg at the simulator, with the actions processor on
// and polling every 200ms so the demo does not wait Ocean's 10s.
func (d *demoPort) configure(cfg *config.Config) {
	cfg.Catalog, cfg.CatalogFrom = "port", "--catalog"
	cfg.PortClientID, cfg.PortClientSecret, cfg.PortBaseURL = "demo-port-client", demoPortSecret, d.srv.URL
	cfg.ActionsProcessor = config.ActionsProcessor{Enabled: true, PollCheckInterval: 200 * time.Millisecond, VisibilityTimeout: time.Minute,
		WorkersCount: 3, RunsBufferHighWatermark: 300, MaxRunsBufferUtilPctPerAction: 30}
}

// actionRun creates a trigger_pipeline run in Port for a project, waits
// for glsyncd to trigger the pipeline, finishes the pipeline in GitLab
// (which delivers its Pipeline Hook to glsyncd) and waits for the run to
// succeed, printing each step.
func (a *app) actionRun(ctx context.Context, gl *gitlabtest.Server, d *demoPort, integration, project string) error {
	fmt.Fprintln(a.stdout, "\nPort action run (trigger_pipeline):")
	start := time.Now()
	id := d.sim.CreateRun(porttest.NewRun{Action: "trigger_gitlab_pipeline", InstallationID: integration, Type: "trigger_pipeline",
		Properties: map[string]any{"project": project, "ref": "main", "pipelineVariables": map[string]any{"ENVIRONMENT": "staging"}}})
	fmt.Fprintf(a.stdout, "  run %s created in Port: project %s, ref main\n", id, project)
	if _, err := waitUntil(ctx, 15*time.Second, func() (bool, error) { r, _ := d.sim.Run(id); return r.ExternalRunID != "", nil }); err != nil {
		return failedErr(fmt.Errorf("demo: run %s was not executed: %w", id, err))
	}
	r, _ := d.sim.Run(id)
	tp := gl.TriggeredPipelines()
	if len(tp) != 1 {
		return failedErr(fmt.Errorf("demo: %d pipelines triggered, want 1", len(tp)))
	}
	fmt.Fprintf(a.stdout, "  glsyncd claimed and acked it, and triggered pipeline %d in %v (externalRunId %s, link %s)\n",
		tp[0].PipelineID, time.Since(start).Round(time.Millisecond), r.ExternalRunID, strings.Join(r.Link, " "))
	start = time.Now()
	if _, err := gl.FinishPipeline(ctx, tp[0].PipelineID, "success"); err != nil {
		return failedErr(fmt.Errorf("demo: %w", err))
	}
	if _, err := waitUntil(ctx, 15*time.Second, func() (bool, error) { r, _ := d.sim.Run(id); return r.Status != "IN_PROGRESS", nil }); err != nil {
		return failedErr(fmt.Errorf("demo: run %s did not finish: %w", id, err))
	}
	r, _ = d.sim.Run(id)
	fmt.Fprintf(a.stdout, "  pipeline %d succeeded -> Pipeline Hook -> run %s %s in %v; its log in Port:\n", tp[0].PipelineID, id, r.Status, time.Since(start).Round(time.Millisecond))
	for _, l := range r.Logs {
		fmt.Fprintf(a.stdout, "    %s\n", l)
	}
	if r.Status != "SUCCESS" {
		return failedErr(errors.New("demo: the run did not succeed"))
	}
	return nil
}

// actionsLine is validate's account of the actions processor ("" when
// off): its settings, and how a run learns its pipeline ended.
func actionsLine(cfg *config.Config) string {
	ap := cfg.ActionsProcessor
	if !ap.Enabled {
		return ""
	}
	ends := "Pipeline Hook (appHost)"
	if cfg.AppHost == "" {
		ends = "polling GitLab every poll interval (no appHost, so no Pipeline Hook)"
	}
	return fmt.Sprintf("actions processor: on for integration %s (trigger_pipeline): claims every %s, lease %s, %d workers, buffer %d, %d%% per action; pipelines' ends from %s",
		cfg.IntegrationIdentifier, ap.PollCheckInterval, ap.VisibilityTimeout, ap.WorkersCount, ap.RunsBufferHighWatermark, ap.MaxRunsBufferUtilPctPerAction, ends)
}
