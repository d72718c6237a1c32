package port_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/port"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
)

// TestActionRunLease: the client against the simulator shows Port's
// claim semantics: a claimed run is invisible to further claims until
// its visibility timeout ends, then claimable again; excluded actions and
// other installations' runs are not handed out; an acknowledged run is
// never claimed again and a second ack is ErrRunAcknowledged.
func TestActionRunLease(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	a := s.CreateRun(porttest.NewRun{Action: "deploy", InstallationID: c.Integration(), Type: "trigger_pipeline", Properties: map[string]any{"n": 3}})
	b := s.CreateRun(porttest.NewRun{Action: "cleanup", InstallationID: c.Integration(), Type: "trigger_pipeline"})
	s.CreateRun(porttest.NewRun{Action: "deploy", InstallationID: "another-integration", Type: "trigger_pipeline"})
	runs, err := c.ClaimPendingRuns(ctx, port.ClaimRequest{Limit: 10, VisibilityTimeoutMs: 1000, Exclude: []string{"cleanup"}})
	if err != nil || len(runs) != 1 || runs[0].ID != a || runs[0].Type() != "trigger_pipeline" || runs[0].Action.Identifier != "deploy" ||
		runs[0].Properties()["n"].(interface{ String() string }).String() != "3" {
		t.Fatalf("first claim: %+v %v", runs, err)
	}
	if runs, err = c.ClaimPendingRuns(ctx, port.ClaimRequest{Limit: 10, VisibilityTimeoutMs: 1000}); err != nil || len(runs) != 1 || runs[0].ID != b {
		t.Fatalf("during a's lease: %+v %v", runs, err)
	}
	time.Sleep(1100 * time.Millisecond)
	if runs, err = c.ClaimPendingRuns(ctx, port.ClaimRequest{Limit: 10, VisibilityTimeoutMs: 1000}); err != nil || len(runs) != 2 {
		t.Fatalf("after the lease: %+v %v", runs, err)
	}
	if err := c.AckRun(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := c.AckRun(ctx, a); !errors.Is(err, port.ErrRunAcknowledged) {
		t.Fatalf("second ack: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if runs, _ = c.ClaimPendingRuns(ctx, port.ClaimRequest{Limit: 10, VisibilityTimeoutMs: 1000}); len(runs) != 1 || runs[0].ID != b {
		t.Fatalf("an acked run was claimed again: %+v", runs)
	}
	r, _ := s.Run(a)
	if !slices.Equal(r.Reserved, []bool{true, true, true, true}) {
		t.Fatalf("claim and ack must carry x-port-reserved-usage: %v %v", r.Calls, r.Reserved)
	}
}

// TestActionRunReports: link and externalRunId are patched and the run
// is found by its externalRunId; once finished, a run refuses logs and
// patches (422 run_exhausted); a status other than SUCCESS or FAILURE is
// refused; an unknown externalRunId finds nothing.
func TestActionRunReports(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	id := s.CreateRun(porttest.NewRun{Action: "deploy", InstallationID: c.Integration(), Type: "trigger_pipeline"})
	if err := c.PatchRun(ctx, id, port.RunPatch{Link: "https://gitlab.example.com/p/-/pipelines/9", ExternalRunID: "gl_1_9"}); err != nil {
		t.Fatal(err)
	}
	if err := c.PostRunLog(ctx, id, "hello"); err != nil {
		t.Fatal(err)
	}
	run, err := c.RunByExternalID(ctx, "gl_1_9")
	if err != nil || run == nil || run.ID != id || run.Status != port.RunInProgress || run.ExternalRunID != "gl_1_9" {
		t.Fatalf("by external id: %+v %v", run, err)
	}
	if run, err = c.RunByExternalID(ctx, "gl_1_10"); err != nil || run != nil {
		t.Fatalf("unknown external id: %+v %v", run, err)
	}
	if err := c.PatchRun(ctx, id, port.RunPatch{Status: "IN_PROGRESS"}); err == nil {
		t.Fatal("IN_PROGRESS accepted as a status")
	}
	if err := c.PatchRun(ctx, id, port.RunPatch{Status: port.RunSuccess}); err != nil {
		t.Fatal(err)
	}
	var ae *port.APIError
	if err := c.PostRunLog(ctx, id, "late"); !errors.As(err, &ae) || ae.Status != 422 || ae.Message != "Action run already finished execution" {
		t.Fatalf("log on a finished run: %v", err)
	}
	if err := c.PatchRun(ctx, id, port.RunPatch{Status: port.RunFailure}); !errors.As(err, &ae) || ae.Status != 422 {
		t.Fatalf("patch of a finished run: %v", err)
	}
	if r, _ := s.Run(id); r.Status != port.RunSuccess || !slices.Equal(r.Logs, []string{"hello"}) || !slices.Equal(r.Link, []string{"https://gitlab.example.com/p/-/pipelines/9"}) {
		t.Fatalf("run %+v", r)
	}
}

// TestActionCallsSentOnce: claim, ack, patch and log are not retried on
// a 5xx (Ocean sends them once): a lost ack answer retried would come
// back 409 and strand the run. A malformed run fails the whole claim.
func TestActionCallsSentOnce(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	id := s.CreateRun(porttest.NewRun{Action: "deploy", InstallationID: c.Integration(), Type: "trigger_pipeline"})
	for _, route := range []string{"POST /v1/actions/runs/claim-pending", "PATCH /v1/actions/runs/ack", "PATCH /v1/actions/runs/:id", "POST /v1/actions/runs/:id/logs"} {
		s.FailActionRoute(route, 503)
	}
	s.ResetRequests()
	if _, err := c.ClaimPendingRuns(ctx, port.ClaimRequest{Limit: 1, VisibilityTimeoutMs: 1000}); err == nil {
		t.Fatal("claim: no error")
	}
	if err := c.AckRun(ctx, id); err == nil || errors.Is(err, port.ErrRunAcknowledged) {
		t.Fatalf("ack: %v", err)
	}
	if err := c.PatchRun(ctx, id, port.RunPatch{Status: port.RunFailure}); err == nil {
		t.Fatal("patch: no error")
	}
	if err := c.PostRunLog(ctx, id, "x"); err == nil {
		t.Fatal("log: no error")
	}
	reqs, _ := s.Requests()
	for _, route := range []string{"POST /v1/actions/runs/claim-pending", "PATCH /v1/actions/runs/ack", "PATCH /v1/actions/runs/:id", "POST /v1/actions/runs/:id/logs"} {
		if reqs[route] != 1 {
			t.Errorf("%s sent %d times", route, reqs[route])
		}
	}
	s.CreateRun(porttest.NewRun{Action: "deploy", InstallationID: c.Integration(), Type: "trigger_pipeline", PayloadType: "WEBHOOK"})
	if runs, err := c.ClaimPendingRuns(ctx, port.ClaimRequest{Limit: 10, VisibilityTimeoutMs: 1000}); err == nil {
		t.Fatalf("a malformed run in the batch: %+v", runs)
	}
}
