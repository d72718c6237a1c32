package events

import (
	"context"
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
	w := &Worker{Queue: store, Processor: s.p, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Workers: 2, Concurrency: func() int { return 8 }}
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
