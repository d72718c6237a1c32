package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// A backlog in the durable queue with ten events for one job: the worker
// applies every event once, in order, each completed and acknowledged on
// its own, and GitLab is asked for the job once.
func TestWorkerCoalescesABacklog(t *testing.T) {
	s := newJobSetup(t)
	s.p.Now = nil
	store, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	arrived := time.Now().Add(-2 * DefaultCoalesceMargin) // a backlog: received a while ago
	var deliveries []string
	for i := 0; i < 10; i++ {
		ev := s.event(t, arrived)
		ev.Delivery = fmt.Sprintf("job-%d", i)
		ev.Object = ObjectKey(ev.Type, ev.Body)
		if _, err := store.Enqueue(ctx, ev); err != nil {
			t.Fatal(err)
		}
		deliveries = append(deliveries, ev.Delivery)
	}
	s.sim.ResetRequests()
	w := NewWorker(store, s.p, WorkerOptions{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Workers: 2, Concurrency: func() int { return 8 }})
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(run, time.Second) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n, err := store.Depth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still queued", n)
		}
	}
	stop()
	<-done
	for _, d := range deliveries {
		if n, err := store.Applied(ctx, d); err != nil || n != 1 {
			t.Fatalf("delivery %s applied %d times (%v), want once", d, n, err)
		}
	}
	if _, total := s.sim.Requests(); total != 2 {
		t.Fatalf("%d requests for ten events of one job, want 2 (its project and the job)", total)
	}
	ents, err := store.List(ctx, catalog.Filter{Blueprint: "gitlabJob"})
	if err != nil || len(ents) != 1 {
		t.Fatalf("job entities %d (%v), want 1", len(ents), err)
	}
}

// An event's next attempt follows eventRetry: 1 s doubling to 256 s, plus
// up to half as much jitter; a failure no retry fixes goes to the dead
// letters at once.
func TestWorkerSchedule(t *testing.T) {
	w := NewWorker(nil, nil, WorkerOptions{})
	for attempts, base := range map[int]time.Duration{0: time.Second, 3: 8 * time.Second, 8: 256 * time.Second, 40: 256 * time.Second} {
		max, d := w.schedule(&catalog.Event{Attempts: attempts}, true)
		if max != 10 || d < base || d >= base+base/2 {
			t.Errorf("attempts %d: max %d, backoff %v, want 10 and [%v, %v)", attempts, max, d, base, base+base/2)
		}
	}
	if max, _ := w.schedule(&catalog.Event{Attempts: 2}, false); max != 3 {
		t.Errorf("a permanent failure after 2 attempts: max %d, want 3", max)
	}
}

// A commit retried while the catalog is unreachable stops at once when
// the worker's context ends, with the commit's last error; a lost lease
// is not retried.
func TestRetryCommitEndsWithTheContext(t *testing.T) {
	w := NewWorker(nil, nil, WorkerOptions{})
	down := errors.New("connection refused")
	ctx, cancel := context.WithCancel(context.Background())
	tries := 0
	start := time.Now()
	err := w.retryCommit(ctx, func() error {
		if tries++; tries == 3 {
			cancel() // during the wait that follows
		}
		return down
	})
	if !errors.Is(err, down) || tries != 3 || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %d tries and %v, want the last error after 3, at once", err, tries, time.Since(start))
	}
	tries = 0
	if err := w.retryCommit(context.Background(), func() error { tries++; return catalog.ErrLeaseLost }); !errors.Is(err, catalog.ErrLeaseLost) || tries != 1 {
		t.Fatalf("lost lease: err = %v after %d tries", err, tries)
	}
}
