package actions

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/port"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
)

// fakePort hands out runs it holds and records the claims; acks succeed
// and are counted per run.
type fakePort struct {
	mu     sync.Mutex
	runs   []port.ActionRun
	claims []port.ClaimRequest
	acks   map[string]int
}

func (f *fakePort) ClaimPendingRuns(_ context.Context, r port.ClaimRequest) ([]port.ActionRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claims = append(f.claims, port.ClaimRequest{Limit: r.Limit, VisibilityTimeoutMs: r.VisibilityTimeoutMs, Exclude: slices.Clone(r.Exclude)})
	var out, keep []port.ActionRun
	for _, run := range f.runs {
		if len(out) < r.Limit && !slices.Contains(r.Exclude, run.Action.Identifier) {
			out = append(out, run)
		} else {
			keep = append(keep, run)
		}
	}
	f.runs = keep
	return out, nil
}

func (f *fakePort) AckRun(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.acks == nil {
		f.acks = map[string]int{}
	}
	f.acks[id]++
	return nil
}
func (f *fakePort) PatchRun(context.Context, string, port.RunPatch) error { return nil }
func (f *fakePort) PostRunLog(context.Context, string, string) error      { return nil }
func (f *fakePort) RunByExternalID(context.Context, string) (*port.ActionRun, error) {
	return nil, errors.New("not used")
}

func (f *fakePort) recorded() []port.ClaimRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.claims)
}

func fakeRun(id, action string) port.ActionRun {
	var r port.ActionRun
	r.ID, r.Status, r.Action.Identifier = id, port.RunInProgress, action
	r.Payload.Type, r.Payload.IntegrationActionType = "INTEGRATION_ACTION", triggerPipelineType
	return r
}

// TestWatermarkAndExclude: a claim asks for watermark − queued runs and
// excludes an action holding its share of the buffer
// (max(1, watermark × pct / 100)); with the buffer full, no claim is made.
func TestWatermarkAndExclude(t *testing.T) {
	f := &fakePort{runs: []port.ActionRun{fakeRun("a1", "a"), fakeRun("a2", "a"), fakeRun("a3", "a"), fakeRun("b1", "b")}}
	release := make(chan struct{})
	p := NewProcessor(f, nil, ProcessorOptions{Log: testLog(t), Settings: Settings{PollInterval: 10 * time.Millisecond, Workers: 1, HighWatermark: 4, MaxPctPerAction: 50}})
	p.beforeAck = func(ctx context.Context, _ *port.ActionRun) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	start(t, p)
	// The worker holds a1; a2, a3 and b1 wait: 3 queued, "a" holds 2 ≥ 4×50% = 2.
	waitFor(t, "a claim of 1 excluding a", 5*time.Second, func() bool {
		for _, c := range f.recorded() {
			if c.Limit == 1 && slices.Equal(c.Exclude, []string{"a"}) {
				return true
			}
		}
		return false
	})
	first := f.recorded()[0]
	if first.Limit != 4 || first.Exclude != nil || first.VisibilityTimeoutMs != 60000 {
		t.Fatalf("first claim %+v, want limit 4, no exclude, 60000 ms", first)
	}
	close(release)

	// Full buffer: 1 held by the worker, 3 queued = watermark 3.
	f2 := &fakePort{runs: []port.ActionRun{fakeRun("x1", "x"), fakeRun("x2", "x"), fakeRun("x3", "x")}}
	hold := make(chan struct{})
	p2 := NewProcessor(f2, nil, ProcessorOptions{Log: testLog(t), Settings: Settings{PollInterval: 10 * time.Millisecond, Workers: 1, HighWatermark: 3, MaxPctPerAction: 100}})
	p2.beforeAck = func(ctx context.Context, _ *port.ActionRun) {
		select {
		case <-hold:
		case <-ctx.Done():
		}
	}
	start(t, p2)
	waitFor(t, "one held", 5*time.Second, func() bool { return len(f2.recorded()) >= 2 })
	f2.mu.Lock()
	f2.runs = append(f2.runs, fakeRun("x4", "x"))
	f2.mu.Unlock()
	waitFor(t, "x4 claimed", 5*time.Second, func() bool {
		f2.mu.Lock()
		defer f2.mu.Unlock()
		return len(f2.runs) == 0
	})
	n := len(f2.recorded())
	time.Sleep(100 * time.Millisecond)
	if m := len(f2.recorded()); m != n {
		t.Fatalf("%d claims made with the buffer full", m-n)
	}
	close(hold)
}

// TestDuplicateInBatch: a run claimed twice while it waits is queued and
// acked once.
func TestDuplicateInBatch(t *testing.T) {
	f := &fakePort{runs: []port.ActionRun{fakeRun("d1", "a"), fakeRun("d1", "a")}}
	start(t, NewProcessor(f, nil, ProcessorOptions{Log: testLog(t), Settings: Settings{PollInterval: 10 * time.Millisecond, Workers: 1}}))
	waitFor(t, "acked", 5*time.Second, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.acks["d1"] > 0 })
	time.Sleep(50 * time.Millisecond)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.acks["d1"] != 1 {
		t.Fatalf("acked %d times", f.acks["d1"])
	}
}

// TestClaimErrors: a claim answered 500 is logged and retried after the
// poll interval, without crashing; a batch holding a run Ocean's model
// refuses is dropped whole (its runs come back after their lease).
func TestClaimErrors(t *testing.T) {
	e := newEnv(t)
	e.port.FailActionRoute("POST /v1/actions/runs/claim-pending", 500, 503)
	id := e.newRun(map[string]any{"project": e.project, "ref": "main"})
	start(t, e.processor(t))
	waitFor(t, "executed after two failed claims", 5*time.Second, func() bool { return e.run(t, id).ExternalRunID != "" })

	e2 := newEnv(t)
	good := e2.newRun(map[string]any{"project": e2.project, "ref": "main"})
	e2.port.CreateRun(porttest.NewRun{Action: "x", InstallationID: installation, Type: triggerPipelineType, PayloadType: "WEBHOOK"})
	start(t, e2.processor(t))
	waitFor(t, "claimed", 5*time.Second, func() bool { return e2.run(t, good).Claims == 1 })
	time.Sleep(300 * time.Millisecond)
	if r := e2.run(t, good); r.Acked || len(e2.gl.TriggeredPipelines()) != 0 {
		t.Fatalf("a run of a malformed batch was executed: %v", r.Calls)
	}
}
