package actions

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/port"
)

// TestTriggerPipelineHappyPath is Ocean's sequence, call by call: claim,
// ack (both with x-port-reserved-usage), log "Triggering…", the pipeline
// created with the token that owns the project (not the admin token
// listed first, whose globs exclude it) and the variables as Ocean
// encodes them, PATCH link and externalRunId, log "Pipeline triggered:
// url", and no status until the Pipeline Hook says the pipeline
// succeeded; a second delivery of that hook writes nothing.
func TestTriggerPipelineHappyPath(t *testing.T) {
	e := newEnv(t)
	id := e.newRun(map[string]any{"project": e.project, "ref": "main",
		"pipelineVariables": map[string]any{"ENV": "prod", "N": 3, "B": true, "O": map[string]any{"a": 1, "b": "é"}}})
	p := e.processor(t)
	start(t, p)
	waitFor(t, "pipeline triggered", 5*time.Second, func() bool { return len(e.run(t, id).Logs) == 2 })
	r := e.run(t, id)
	tp := e.gl.TriggeredPipelines()
	if len(tp) != 1 {
		t.Fatalf("%d pipelines, want 1", len(tp))
	}
	pl := tp[0]
	if pl.Token != e.org.RootTokens[0] || pl.ProjectID != e.projectID || pl.Ref != "main" {
		t.Fatalf("pipeline %+v: want project %d on main with the first root's owner token", pl, e.projectID)
	}
	wantVars := map[string]string{"ENV": "prod", "N": "3", "B": "true", "O": `{"a": 1, "b": "\u00e9"}`}
	if fmt.Sprint(pl.Variables) != fmt.Sprint(wantVars) {
		t.Fatalf("variables %v, want %v", pl.Variables, wantVars)
	}
	ext := ExternalRunID(e.projectID, pl.PipelineID)
	url := fmt.Sprintf("%s/-/pipelines/%d", e.project, pl.PipelineID)
	want := []string{
		"POST /v1/actions/runs/claim-pending",
		`PATCH /v1/actions/runs/ack {"runId":"` + id + `"}`,
		`POST /v1/actions/runs/:id/logs {"message":"Triggering GitLab pipeline for ` + e.project + ` on ref main"}`,
		`PATCH /v1/actions/runs/:id {"externalRunId":"` + ext + `","link":"`,
		`POST /v1/actions/runs/:id/logs {"message":"Pipeline triggered: `,
	}
	if len(r.Calls) != len(want) {
		t.Fatalf("calls:\n%s", strings.Join(r.Calls, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(r.Calls[i], w) {
			t.Fatalf("call %d = %s, want %s…", i, r.Calls[i], w)
		}
	}
	if !slices.Equal(r.Reserved, []bool{true, true, false, false, false}) {
		t.Fatalf("x-port-reserved-usage on %v, want on claim and ack only", r.Reserved)
	}
	if r.Status != port.RunInProgress || r.ExternalRunID != ext || len(r.Link) != 1 || !strings.HasSuffix(r.Link[0], url) {
		t.Fatalf("run after trigger: %s %s %v", r.Status, r.ExternalRunID, r.Link)
	}
	e.finish(t, pl.PipelineID, "running", p.ObserveEvent)
	if r = e.run(t, id); r.Status != port.RunInProgress || len(r.Calls) != len(want) {
		t.Fatalf("a running pipeline changed the run: %s %v", r.Status, r.Calls)
	}
	e.finish(t, pl.PipelineID, "success", p.ObserveEvent)
	r = e.run(t, id)
	if r.Status != port.RunSuccess || !slices.Equal(r.Logs[2:], []string{"Pipeline completed with status: success", "Pipeline completed: success"}) ||
		r.Calls[len(r.Calls)-1] != `PATCH /v1/actions/runs/:id {"status":"SUCCESS"}` {
		t.Fatalf("run after success: %s %v %v", r.Status, r.Logs, r.Calls)
	}
	n := len(r.Calls)
	e.finish(t, pl.PipelineID, "success", p.ObserveEvent)
	if r = e.run(t, id); len(r.Calls) != n {
		t.Fatalf("a second delivery wrote to the finished run: %v", r.Calls[n:])
	}
}

// TestPipelineEndStatuses: failed, canceled and skipped fail the run,
// success succeeds it; manual leaves it IN_PROGRESS (not terminal).
func TestPipelineEndStatuses(t *testing.T) {
	e := newEnv(t)
	p := e.processor(t)
	start(t, p)
	for _, c := range []struct{ status, want string }{
		{"failed", port.RunFailure}, {"canceled", port.RunFailure}, {"skipped", port.RunFailure}, {"success", port.RunSuccess}, {"manual", port.RunInProgress},
	} {
		id := e.newRun(map[string]any{"project": e.project, "ref": "main"})
		waitFor(t, c.status+": triggered", 5*time.Second, func() bool { return e.run(t, id).ExternalRunID != "" })
		tp := e.gl.TriggeredPipelines()
		e.finish(t, tp[len(tp)-1].PipelineID, c.status, p.ObserveEvent)
		if r := e.run(t, id); r.Status != c.want {
			t.Errorf("pipeline %s: run %s, want %s", c.status, r.Status, c.want)
		}
	}
}

// TestRunFailures: each input or GitLab failure is posted to the run's
// log with Ocean's text, then the run is set FAILURE; no pipeline is
// created for any of them.
func TestRunFailures(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		props     map[string]any
		message   string
		triggered bool // "Triggering…" logged first
	}{
		{map[string]any{"ref": "main"}, "Failed to execute run: project is required", false},
		{map[string]any{"project": "", "ref": "main"}, "Failed to execute run: project is required", false},
		{map[string]any{"project": e.project}, "Failed to execute run: ref is required", false},
		{map[string]any{"project": e.project, "ref": "main", "pipelineVariables": []any{"a"}}, "Failed to execute run: pipelineVariables must be a key-value object, got list", false},
		{map[string]any{"project": e.project, "ref": "main", "pipelineVariables": "A=1"}, "Failed to execute run: pipelineVariables must be a key-value object, got str", false},
		{map[string]any{"project": e.project, "ref": "nope"},
			"Failed to execute run: Could not trigger pipeline for project '" + e.project + "' on ref 'nope': {\"base\": [\"Reference not found\"]}", true},
		{map[string]any{"project": e.outside, "ref": "main"},
			"Failed to execute run: Could not trigger pipeline for project '" + e.outside + "' on ref 'main': no token mapping selects project " + e.outside + ": add it to a token's globs in tokenMapping", true},
		{map[string]any{"project": "nowhere/none", "ref": "main"},
			"Failed to execute run: Could not trigger pipeline for project 'nowhere/none' on ref 'main': 404 Project Not Found (no token in tokenMapping can read it)", true},
	}
	var ids []string
	for _, c := range cases {
		ids = append(ids, e.newRun(c.props))
	}
	start(t, e.processor(t))
	for i, c := range cases {
		waitFor(t, c.message, 5*time.Second, func() bool { return e.run(t, ids[i]).Status != port.RunInProgress })
		r := e.run(t, ids[i])
		want := []string{c.message}
		if c.triggered {
			want = []string{"Triggering GitLab pipeline for " + c.props["project"].(string) + " on ref " + c.props["ref"].(string), c.message}
		}
		if r.Status != port.RunFailure || !slices.Equal(r.Logs, want) || r.Calls[len(r.Calls)-1] != `PATCH /v1/actions/runs/:id {"status":"FAILURE"}` {
			t.Errorf("case %d: %s %q %v, want FAILURE %q", i, r.Status, r.Logs, r.Calls, want)
		}
	}
	if tp := e.gl.TriggeredPipelines(); len(tp) != 0 {
		t.Fatalf("pipelines created: %+v", tp)
	}
}

// TestNullVariables: pipelineVariables null or absent sends no
// variables; the pipeline is created.
func TestNullVariables(t *testing.T) {
	e := newEnv(t)
	a := e.newRun(map[string]any{"project": e.project, "ref": "main", "pipelineVariables": nil})
	b := e.newRun(map[string]any{"project": e.project, "ref": "main"})
	start(t, e.processor(t))
	waitFor(t, "both triggered", 5*time.Second, func() bool { return e.run(t, a).ExternalRunID != "" && e.run(t, b).ExternalRunID != "" })
	for _, tp := range e.gl.TriggeredPipelines() {
		if len(tp.Variables) != 0 {
			t.Fatalf("variables sent: %v", tp.Variables)
		}
	}
}

// TestUnknownActionType: a run for an executor glsync lacks is acked,
// logged "No executor registered…" and failed; when the ack is refused
// (409), nothing more is written.
func TestUnknownActionType(t *testing.T) {
	e := newEnv(t)
	id := e.port.CreateRun(portRun("deploy_thing"))
	start(t, e.processor(t))
	waitFor(t, "failed", 5*time.Second, func() bool { return e.run(t, id).Status == port.RunFailure })
	r := e.run(t, id)
	if !slices.Equal(r.Logs, []string{"No executor registered for action type 'deploy_thing'"}) || !r.Acked {
		t.Fatalf("run: %v %v", r.Logs, r.Calls)
	}

	e2 := newEnv(t)
	e2.port.FailActionRoute("PATCH /v1/actions/runs/ack", 409)
	id = e2.port.CreateRun(portRun("deploy_thing"))
	stop := start(t, e2.processor(t))
	waitFor(t, "claimed", 5*time.Second, func() bool { return e2.run(t, id).Claims == 1 })
	time.Sleep(100 * time.Millisecond)
	stop()
	if r := e2.run(t, id); r.Status != port.RunInProgress || len(r.Logs) != 0 || len(r.Calls) != 1 {
		t.Fatalf("after a 409 ack: %s %v %v", r.Status, r.Logs, r.Calls)
	}
}

// TestCompletionLeavesOthersAlone: a Pipeline Hook for a pipeline no run
// triggered writes nothing to Port; with reportPipelineStatus false the
// run stays IN_PROGRESS after its pipeline succeeded.
func TestCompletionLeavesOthersAlone(t *testing.T) {
	e := newEnv(t)
	p := e.processor(t)
	id := e.newRun(map[string]any{"project": e.project, "ref": "main", "reportPipelineStatus": false})
	start(t, p)
	waitFor(t, "triggered", 5*time.Second, func() bool { return len(e.run(t, id).Logs) == 2 })
	e.port.ResetRequests()
	pl, _, err := e.gl.RunPipeline(context.Background(), e.projectID, "main", "success") // run from GitLab's UI
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Complete(context.Background(), e.projectID, pl.ID, "success"); err != nil {
		t.Fatal(err)
	}
	tp := e.gl.TriggeredPipelines()
	e.finish(t, tp[0].PipelineID, "success", p.ObserveEvent)
	reqs, _ := e.port.Requests()
	if reqs["GET /v1/actions/runs"] != 2 || reqs["PATCH /v1/actions/runs/:id"] != 0 || reqs["POST /v1/actions/runs/:id/logs"] != 0 {
		t.Fatalf("requests: %v", reqs)
	}
	if r := e.run(t, id); r.Status != port.RunInProgress {
		t.Fatalf("reportPipelineStatus false: run %s", r.Status)
	}
}

// TestFollowWithoutWebhooks: with Follow (no appHost), the processor
// polls the pipeline and reports its end without any Pipeline Hook.
func TestFollowWithoutWebhooks(t *testing.T) {
	e := newEnv(t)
	p := e.processor(t)
	p.Follow, p.FollowInterval = true, 20*time.Millisecond
	id := e.newRun(map[string]any{"project": e.project, "ref": "main"})
	start(t, p)
	waitFor(t, "triggered", 5*time.Second, func() bool { return e.run(t, id).ExternalRunID != "" })
	time.Sleep(60 * time.Millisecond)
	if r := e.run(t, id); r.Status != port.RunInProgress {
		t.Fatalf("finished before the pipeline: %s", r.Status)
	}
	e.finish(t, e.gl.TriggeredPipelines()[0].PipelineID, "failed", nil)
	waitFor(t, "reported", 5*time.Second, func() bool { return e.run(t, id).Status == port.RunFailure })
	if r := e.run(t, id); !slices.Contains(r.Logs, "Pipeline completed: failed") {
		t.Fatalf("logs: %v", r.Logs)
	}
}
