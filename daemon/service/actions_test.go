package service

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore/pgtest"
)

// portActions points h at a Port simulator with the actions processor on
// (short intervals).
func portActions(h *harness, ps *porttest.Server, url string) {
	h.cfg.Catalog, h.cfg.PortClientID, h.cfg.PortClientSecret, h.cfg.PortBaseURL = "port", "cid", "csecret-not-for-logs", url
	h.cfg.IntegrationIdentifier, h.cfg.DeletionThreshold = "gl", 0.5
	h.cfg.ActionsProcessor = config.ActionsProcessor{Enabled: true, PollCheckInterval: 50 * time.Millisecond, VisibilityTimeout: time.Second,
		WorkersCount: 2, RunsBufferHighWatermark: 300, MaxRunsBufferUtilPctPerAction: 30}
}

// TestPortActionCompletedByWebhook: glsyncd run with the Port catalog and
// appHost triggers the pipeline of a run created in Port, and the
// Pipeline Hook GitLab delivers to it (through the hook glsyncd created
// and its event queue) finishes the run with the pipeline's status.
func TestPortActionCompletedByWebhook(t *testing.T) {
	h := newHarness(t)
	ps := porttest.New("cid", "csecret-not-for-logs")
	portActions(h, ps, ps.Start(t).URL)
	h.cfg.ResyncOnStart = false
	h.start()
	eventually(t, 10*time.Second, "hooks", func() bool { return len(h.sim.Hooks()) == 2 })
	team := h.sim.Group(h.org.Roots[0].FullPath + "/DevopsTeam")
	p := h.sim.AddProject(team, "Deployable")
	id := ps.CreateRun(porttest.NewRun{Action: "deploy", InstallationID: "gl", Type: "trigger_pipeline",
		Properties: map[string]any{"project": team.FullPath + "/" + p.Path, "ref": "main"}})
	eventually(t, 5*time.Second, "pipeline triggered", func() bool { r, _ := ps.Run(id); return r.ExternalRunID != "" })
	tp := h.sim.TriggeredPipelines()
	if len(tp) != 1 || tp[0].Token != h.org.RootTokens[0] {
		t.Fatalf("pipelines %+v: want one, with the first root's token", tp)
	}
	if _, err := h.sim.FinishPipeline(context.Background(), tp[0].PipelineID, "failed"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "run failed by the hook", func() bool { r, _ := ps.Run(id); return r.Status == "FAILURE" })
	if r, _ := ps.Run(id); r.Logs[len(r.Logs)-1] != "Pipeline completed: failed" {
		t.Fatalf("logs %v", r.Logs)
	}
	if in := ps.Integration(); in == nil || in["actionsProcessingEnabled"] != true {
		t.Fatalf("the integration in Port does not say it processes actions: %v", in)
	}
}

// TestPortActionsTwoReplicas: two glsyncd run replicas (each its own
// queue, no appHost) poll one Port: each run triggers exactly one
// pipeline, and the replica that triggered it follows it by polling
// GitLab and reports its end.
func TestPortActionsTwoReplicas(t *testing.T) {
	h := newHarness(t)
	ps := porttest.New("cid", "csecret-not-for-logs")
	url := ps.Start(t).URL
	portActions(h, ps, url)
	h.cfg.ResyncOnStart, h.cfg.AppHost = false, ""
	h2 := &harness{t: t, sim: h.sim, org: h.org, dir: t.TempDir(), logs: &logBuf{}}
	cfg2 := *h.cfg
	h2.cfg = &cfg2
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h2.wl = l
	team := h.sim.Group(h.org.Roots[0].FullPath + "/DevopsTeam")
	p := h.sim.AddProject(team, "Deployable")
	const runs = 8
	var ids []string
	for range runs {
		ids = append(ids, ps.CreateRun(porttest.NewRun{Action: "deploy", InstallationID: "gl", Type: "trigger_pipeline",
			Properties: map[string]any{"project": team.FullPath + "/" + p.Path, "ref": "main"}}))
	}
	h.start()
	h2.start()
	eventually(t, 10*time.Second, "every run triggered", func() bool {
		for _, id := range ids {
			if r, _ := ps.Run(id); r.ExternalRunID == "" {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond)
	tp := h.sim.TriggeredPipelines()
	if len(tp) != runs {
		t.Fatalf("%d pipelines for %d runs", len(tp), runs)
	}
	for _, pl := range tp {
		if _, err := h.sim.FinishPipeline(context.Background(), pl.PipelineID, "success"); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "every run succeeded", func() bool {
		for _, id := range ids {
			if r, _ := ps.Run(id); r.Status != "SUCCESS" {
				return false
			}
		}
		return true
	})
	if n := len(h.sim.TriggeredPipelines()); n != runs {
		t.Fatalf("%d pipelines after completion", n)
	}
	for i, hh := range []*harness{h, h2} {
		if !strings.Contains(hh.logs.String(), "actions processor started") {
			t.Fatalf("replica %d did not poll Port", i+1)
		}
	}
}

// TestPortActionsReplicasOnPostgres: two glsyncd run replicas sharing
// PostgreSQL (queue, Port's mirror) and one Port, GitLab's hooks pointing
// at one of them: both claim runs, each run triggers exactly one
// pipeline, and each pipeline's Pipeline Hook, applied by whichever
// replica the queue hands it to, finishes its run once.
func TestPortActionsReplicasOnPostgres(t *testing.T) {
	h := newHarness(t)
	h.cfg.DatabaseURL = pgtest.URL(t)
	h.cfg.WebhookSecret = "replicas-share-this-master-secret"
	ps := porttest.New("cid", "csecret-not-for-logs")
	portActions(h, ps, ps.Start(t).URL)
	h.cfg.ResyncOnStart = false
	team := h.sim.Group(h.org.Roots[0].FullPath + "/DevopsTeam")
	p := h.sim.AddProject(team, "Deployable")
	const runs = 10
	var ids []string
	for range runs {
		ids = append(ids, ps.CreateRun(porttest.NewRun{Action: "deploy", InstallationID: "gl", Type: "trigger_pipeline",
			Properties: map[string]any{"project": team.FullPath + "/" + p.Path, "ref": "main"}}))
	}
	la, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.replica("glsync-a", la)
	h.replica("glsync-b", h.wl)
	eventually(t, 10*time.Second, "a hook per root", func() bool { return len(h.sim.Hooks()) == len(h.cfg.TokenMapping) })
	eventually(t, 10*time.Second, "every run triggered", func() bool {
		for _, id := range ids {
			if r, _ := ps.Run(id); r.ExternalRunID == "" {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond)
	tp := h.sim.TriggeredPipelines()
	if len(tp) != runs {
		t.Fatalf("%d pipelines for %d runs", len(tp), runs)
	}
	for i, pl := range tp {
		st := "success"
		if i%3 == 0 {
			st = "canceled"
		}
		if _, err := h.sim.FinishPipeline(context.Background(), pl.PipelineID, st); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "every run finished", func() bool {
		for _, id := range ids {
			if r, _ := ps.Run(id); r.Status == "IN_PROGRESS" {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		r, _ := ps.Run(id)
		n := 0
		for _, c := range r.Calls {
			if strings.HasPrefix(c, `PATCH /v1/actions/runs/:id {"status":`) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("run %s: %d status reports: %v", id, n, r.Calls)
		}
	}
	started := map[string]bool{}
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, "actions processor started") {
			for _, name := range []string{"glsync-a", "glsync-b"} {
				started[name] = started[name] || strings.Contains(line, "replica="+name)
			}
		}
	}
	if !started["glsync-a"] || !started["glsync-b"] {
		t.Fatalf("actions processors started on %v, want both replicas", started)
	}
}
