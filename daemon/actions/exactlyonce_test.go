package actions

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/port"
)

// TestTwoReplicasOnePipelinePerRun: two processors poll one Port. The
// first holds every run it claims past its lease before acking, so the
// second claims the same runs again and acks them first: each run still
// gets exactly one pipeline (the first processor's ack is refused 409 and
// it skips), and each ends with its pipeline's status, reported once
// from the Pipeline Hook.
func TestTwoReplicasOnePipelinePerRun(t *testing.T) {
	e := newEnv(t)
	const runs = 12
	var ids []string
	for range runs {
		ids = append(ids, e.newRun(map[string]any{"project": e.project, "ref": "main"}))
	}
	slow := e.processor(t)
	slow.beforeAck = func(ctx context.Context, _ *port.ActionRun) {
		select {
		case <-ctx.Done():
		case <-time.After(1300 * time.Millisecond): // past the 1s lease
		}
	}
	fast := e.processor(t)
	start(t, slow)
	time.Sleep(100 * time.Millisecond) // slow claims everything first
	start(t, fast)
	waitFor(t, "every run triggered", 15*time.Second, func() bool {
		for _, id := range ids {
			if e.run(t, id).ExternalRunID == "" {
				return false
			}
		}
		return true
	})
	time.Sleep(1500 * time.Millisecond) // the slow one's acks have come and been refused
	tp := e.gl.TriggeredPipelines()
	if len(tp) != runs {
		t.Fatalf("%d pipelines for %d runs", len(tp), runs)
	}
	conflicts, reclaimed := 0, 0
	for _, id := range ids {
		r := e.run(t, id)
		conflicts += r.AckConflicts
		if r.Claims > 1 {
			reclaimed++
		}
	}
	if reclaimed == 0 || conflicts == 0 {
		t.Fatalf("no run was claimed twice (%d) or refused on ack (%d): the test proved nothing", reclaimed, conflicts)
	}
	seen := map[int64]bool{}
	for i, pl := range tp {
		if seen[pl.PipelineID] {
			t.Fatalf("pipeline %d twice", pl.PipelineID)
		}
		seen[pl.PipelineID] = true
		st := "success"
		if i%2 == 1 {
			st = "failed"
		}
		// Either replica's queue worker may get the hook: here the slow one.
		e.finish(t, pl.PipelineID, st, slow.ObserveEvent)
	}
	for _, id := range ids {
		r := e.run(t, id)
		if r.Status == port.RunInProgress {
			t.Fatalf("run %s still IN_PROGRESS", id)
		}
		n := 0
		for _, c := range r.Calls {
			if c == `PATCH /v1/actions/runs/:id {"status":"SUCCESS"}` || c == `PATCH /v1/actions/runs/:id {"status":"FAILURE"}` {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("run %s: %d status reports: %v", id, n, r.Calls)
		}
	}
}

// TestKilledBeforeAck: a processor stopped after claiming a run and
// before acking it leaves the run to Port; once the lease ends the other
// processor claims, acks and executes it: one pipeline, and the run ends
// with its status (reported by following the pipeline, no webhook).
func TestKilledBeforeAck(t *testing.T) {
	e := newEnv(t)
	id := e.newRun(map[string]any{"project": e.project, "ref": "main"})
	doomed := e.processor(t)
	claimed := make(chan struct{})
	var once sync.Once
	doomed.beforeAck = func(ctx context.Context, _ *port.ActionRun) {
		once.Do(func() { close(claimed) })
		<-ctx.Done() // killed here
	}
	stop := start(t, doomed)
	<-claimed
	stop()
	if r := e.run(t, id); r.Acked || r.Claims != 1 {
		t.Fatalf("after the kill: acked %v, claims %d", r.Acked, r.Claims)
	}
	other := e.processor(t)
	other.Follow, other.FollowInterval = true, 20*time.Millisecond
	start(t, other)
	time.Sleep(300 * time.Millisecond)
	if r := e.run(t, id); r.Claims != 1 {
		t.Fatalf("claimed again within the lease (%d claims)", r.Claims)
	}
	waitFor(t, "triggered after the lease", 5*time.Second, func() bool { return e.run(t, id).ExternalRunID != "" })
	tp := e.gl.TriggeredPipelines()
	if len(tp) != 1 {
		t.Fatalf("%d pipelines", len(tp))
	}
	e.finish(t, tp[0].PipelineID, "success", nil)
	waitFor(t, "success reported", 5*time.Second, func() bool { return e.run(t, id).Status == port.RunSuccess })
	if r := e.run(t, id); r.Claims != 2 || len(e.gl.TriggeredPipelines()) != 1 {
		t.Fatalf("claims %d, pipelines %d", r.Claims, len(e.gl.TriggeredPipelines()))
	}
}

// TestAckErrorLeavesRunClaimable: a 500 on ack executes nothing and
// fails nothing (Ocean re-raises); the run comes back after its lease and
// is executed then, once.
func TestAckErrorLeavesRunClaimable(t *testing.T) {
	e := newEnv(t)
	e.port.FailActionRoute("PATCH /v1/actions/runs/ack", 500)
	id := e.newRun(map[string]any{"project": e.project, "ref": "main"})
	start(t, e.processor(t))
	waitFor(t, "first ack refused", 5*time.Second, func() bool { r, _ := e.port.Requests(); return r["PATCH /v1/actions/runs/ack"] == 1 })
	time.Sleep(200 * time.Millisecond)
	if r := e.run(t, id); r.Status != port.RunInProgress || len(r.Logs) != 0 || len(e.gl.TriggeredPipelines()) != 0 {
		t.Fatalf("after a failed ack: %s %v, %d pipelines", r.Status, r.Logs, len(e.gl.TriggeredPipelines()))
	}
	waitFor(t, "executed after the lease", 5*time.Second, func() bool { return e.run(t, id).ExternalRunID != "" })
	if r := e.run(t, id); r.Claims != 2 || len(e.gl.TriggeredPipelines()) != 1 {
		t.Fatalf("claims %d, pipelines %d", r.Claims, len(e.gl.TriggeredPipelines()))
	}
}
