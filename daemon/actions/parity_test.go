package actions

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/events"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/port"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// TestAckConflictSkipsSilently: when another worker acks the run between
// this one's claim and ack, this one's ack is refused (409) and it does
// nothing else: no pipeline, no log, no patch.
func TestAckConflictSkipsSilently(t *testing.T) {
	e := newEnv(t)
	id := e.newRun(map[string]any{"project": e.project, "ref": "main"})
	p := e.processor(t)
	var once sync.Once
	p.beforeAck = func(ctx context.Context, run *port.ActionRun) {
		once.Do(func() {
			if err := e.pc.AckRun(ctx, run.ID); err != nil { // another replica's worker
				t.Error(err)
			}
		})
	}
	stop := start(t, p)
	waitFor(t, "the refused ack", 5*time.Second, func() bool { return e.run(t, id).AckConflicts == 1 })
	time.Sleep(100 * time.Millisecond)
	stop()
	r := e.run(t, id)
	want := []string{"POST /v1/actions/runs/claim-pending", `PATCH /v1/actions/runs/ack {"runId":"` + id + `"}`, `PATCH /v1/actions/runs/ack {"runId":"` + id + `"}`}
	if !slices.Equal(r.Calls, want) || len(e.gl.TriggeredPipelines()) != 0 || r.Status != port.RunInProgress {
		t.Fatalf("after a 409: calls %v, %d pipelines, %s", r.Calls, len(e.gl.TriggeredPipelines()), r.Status)
	}
}

// fixedOwner resolves every project to one source.
type fixedOwner struct{ src *crawl.Source }

func (f fixedOwner) ProjectOwner(context.Context, string) (events.OwnedProject, error) {
	return events.OwnedProject{ID: 42, Path: "g/p", Owner: f.src}, nil
}

// TestIncompleteGitLabAnswer: a 2xx without id, project_id or web_url
// fails the run with Ocean's message, and the pipeline POST is sent
// once even when GitLab answers 502 (the pipeline may exist).
func TestIncompleteGitLabAnswer(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	answers := []int{http.StatusCreated, http.StatusBadGateway}
	posts := 0
	gl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		code := answers[posts%len(answers)]
		posts++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if code == http.StatusCreated {
			_, _ = w.Write([]byte(`{"id": 7, "status": "created"}`))
		} else {
			_, _ = w.Write([]byte(`<html>502 Bad Gateway</html>`))
		}
	}))
	t.Cleanup(gl.Close)
	c, err := gitlab.New(gl.URL, "glpat-fixed-token-for-tests", gitlab.Options{MaxRetries: 3, RetryBase: time.Millisecond, RetryMax: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := e.processor(t)
	p.projects = fixedOwner{&crawl.Source{Entry: tokenmap.Entry{Token: "glpat-fixed-token-for-tests", Patterns: []string{"**"}}, Client: c}}
	a := e.newRun(map[string]any{"project": "g/p", "ref": "main"})
	start(t, p)
	waitFor(t, "first run failed", 5*time.Second, func() bool { return e.run(t, a).Status == port.RunFailure })
	b := e.newRun(map[string]any{"project": "g/p", "ref": "main"})
	waitFor(t, "second run failed", 5*time.Second, func() bool { return e.run(t, b).Status == port.RunFailure })
	if r := e.run(t, a); r.Logs[len(r.Logs)-1] != "Failed to execute run: "+incompleteAnswer {
		t.Fatalf("incomplete answer: %v", r.Logs)
	}
	r := e.run(t, b)
	if want := "Failed to execute run: Could not trigger pipeline for project 'g/p' on ref 'main': <html>502 Bad Gateway</html>"; r.Logs[len(r.Logs)-1] != want {
		t.Fatalf("502: %v, want %s", r.Logs, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if posts != 2 {
		t.Fatalf("%d pipeline POSTs for 2 runs: a 502 was retried", posts)
	}
	if strings.Contains(strings.Join(r.Logs, " "), "glpat-fixed") {
		t.Fatal("the token reached the run's log")
	}
}

// TestObserveIgnoresOtherEvents: only a pipeline's Pipeline Hook is
// looked at; other hooks, or a body without object_kind pipeline and a
// project, make no call to Port.
func TestObserveIgnoresOtherEvents(t *testing.T) {
	e := newEnv(t)
	p := e.processor(t)
	for _, ev := range []catalog.Event{
		{Type: "Push Hook", Body: []byte(`{"object_kind":"push","project":{"id":1}}`)},
		{Type: "Pipeline Hook", Body: []byte(`{"object_kind":"build","object_attributes":{"id":2,"status":"success"},"project":{"id":1}}`)},
		{Type: "Pipeline Hook", Body: []byte(`{"object_kind":"pipeline","object_attributes":{"id":2,"status":"success"}}`)},
		{Type: "Pipeline Hook", Body: []byte(`not json`)},
	} {
		if err := p.ObserveEvent(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
	}
	if reqs, _ := e.port.Requests(); len(reqs) != 0 {
		t.Fatalf("requests to Port: %v", reqs)
	}
}

// TestCompletionErrors: a 5xx from Port on the lookup is returned (the
// event is retried, the run finished then); a 4xx refusal is logged and
// dropped, so it never holds up the event.
func TestCompletionErrors(t *testing.T) {
	e := newEnv(t)
	p := e.processor(t)
	id := e.newRun(map[string]any{"project": e.project, "ref": "main"})
	start(t, p)
	waitFor(t, "triggered", 5*time.Second, func() bool { return len(e.run(t, id).Logs) == 2 })
	pl := e.gl.TriggeredPipelines()[0]
	e.port.FailActionRoute("GET /v1/actions/runs", 503, 503)
	if err := p.Complete(context.Background(), e.projectID, pl.PipelineID, "success"); err == nil {
		t.Fatal("a 503 was not returned for a retry")
	}
	e.port.FailActionRoute("GET /v1/actions/runs", 403)
	if err := p.Complete(context.Background(), e.projectID, pl.PipelineID, "success"); err != nil {
		t.Fatalf("a 403 was returned: %v", err)
	}
	if err := p.Complete(context.Background(), e.projectID, pl.PipelineID, "success"); err != nil || e.run(t, id).Status != port.RunSuccess {
		t.Fatalf("the retry: %v, run %s", err, e.run(t, id).Status)
	}
}

// TestRateLimitGate: while the token has fewer than 20 requests left,
// the run waits before its ack (at most 10s at a time, until the reset),
// each wait logged to the run with Ocean's text; stopping during the wait
// leaves the run unacknowledged.
func TestRateLimitGate(t *testing.T) {
	e := newEnv(t)
	p := e.processor(t)
	var mu sync.Mutex
	low := 2
	p.RateLimit = func(_ *port.ActionRun, now time.Time) (int, time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		if low == 0 {
			return 500, now.Add(time.Minute), true
		}
		low--
		return 5, now.Add(50 * time.Millisecond), true
	}
	id := e.newRun(map[string]any{"project": e.project, "ref": "main"})
	start(t, p)
	waitFor(t, "triggered", 5*time.Second, func() bool { return e.run(t, id).ExternalRunID != "" })
	r := e.run(t, id)
	if len(r.Calls) < 4 || !strings.HasPrefix(r.Calls[1], `POST /v1/actions/runs/:id/logs {"message":"Delayed due to low remaining rate limit. Will attempt to re-run in 0.0`) ||
		!strings.HasPrefix(r.Calls[2], `POST /v1/actions/runs/:id/logs {"message":"Delayed`) || !strings.HasPrefix(r.Calls[3], "PATCH /v1/actions/runs/ack") {
		t.Fatalf("calls: %v", r.Calls)
	}
	if !strings.HasSuffix(r.Logs[0], " seconds") {
		t.Fatalf("log %q", r.Logs[0])
	}

	e2 := newEnv(t)
	p2 := e2.processor(t)
	p2.RateLimit = func(_ *port.ActionRun, now time.Time) (int, time.Time, bool) { return 3, now.Add(time.Hour), true }
	id = e2.newRun(map[string]any{"project": e2.project, "ref": "main"})
	stop := start(t, p2)
	waitFor(t, "delayed", 5*time.Second, func() bool { return len(e2.run(t, id).Logs) == 1 })
	stop()
	if r := e2.run(t, id); r.Acked || r.Logs[0] != "Delayed due to low remaining rate limit. Will attempt to re-run in 10 seconds" || len(e2.gl.TriggeredPipelines()) != 0 {
		t.Fatalf("stopped while waiting: acked %v, logs %v", r.Acked, r.Logs)
	}
}
