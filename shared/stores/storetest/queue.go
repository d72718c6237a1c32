package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// queueCases are the contract of the event queue: dedupe, claims and
// their leases, per-object order, retries, dead letters and concurrent
// workers.
var queueCases = []Case{
	{"QueueDedupeClaimCompleteAcrossRestart", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		ev := &catalog.Event{Delivery: "uuid-1", Source: "group", Scope: "1001", Type: "Push Hook", Object: "project:1",
			Body: []byte(`{"object_kind":"push"}`), ReceivedAt: time.Now()}
		if dup, err := s.Enqueue(ctx, ev); dup || err != nil || ev.ID == 0 {
			t.Fatalf("first enqueue: %v %v id=%d", dup, err, ev.ID)
		}
		if dup, err := s.Enqueue(ctx, &catalog.Event{Delivery: "uuid-1", Body: []byte("{}"), ReceivedAt: time.Now()}); !dup || err != nil {
			t.Fatalf("GitLab's retry must be a duplicate: %v %v", dup, err)
		}
		got := claimOne(t, s)
		if got.Type != "Push Hook" || got.Object != "project:1" || got.Scope != "1001" || string(got.Body) != `{"object_kind":"push"}` {
			t.Fatalf("claim: %+v", got)
		}
		if again, _ := s.Claim(ctx, 10, 0, time.Minute); len(again) != 0 {
			t.Fatal("a leased event must not be claimed twice")
		}
		// The process dies; the next one takes the event back.
		s.Close()
		s2 := open()
		// The dead process's session may take a moment to end on a
		// database server.
		deadline := time.Now().Add(5 * time.Second)
		var again []*catalog.Event
		for len(again) == 0 && time.Now().Before(deadline) {
			must(t, s2.Coordination().ReleaseOrphanedLeases(ctx))
			var err error
			if again, err = s2.Claim(ctx, 1, 0, time.Minute); err != nil {
				t.Fatal(err)
			}
			if len(again) == 0 {
				time.Sleep(20 * time.Millisecond)
			}
		}
		if len(again) != 1 {
			t.Fatal("the event of the process that died did not come back")
		}
		got = again[0]
		ch := catalog.Changes{Upserts: map[string][]*catalog.Entity{"project": {ent("p", "P")}}}
		ch.Upserts["project"][0].Version = time.Now().UnixNano()
		must(t, s2.Complete(ctx, got, ch))
		if d, _ := s2.Depth(ctx); d != 0 {
			t.Fatalf("depth %d after complete", d)
		}
		if l, _ := s2.List(ctx, catalog.Filter{}); len(l) != 1 || l[0].Identifier != "p" {
			t.Fatalf("complete did not write: %v", l)
		}
		if n, _ := s2.Applied(ctx, "uuid-1"); n != 1 {
			t.Fatalf("applied %d times", n)
		}
		// The delivery stays known after processing.
		if dup, _ := s2.Enqueue(ctx, &catalog.Event{Delivery: "uuid-1", Body: []byte("{}"), ReceivedAt: time.Now()}); !dup {
			t.Fatal("a processed delivery must still be a duplicate")
		}
	}},
	{"LostLeaseCommitsNothing", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		ev := &catalog.Event{Delivery: "d1", Body: []byte("{}"), ReceivedAt: time.Now()}
		_, err := s.Enqueue(ctx, ev)
		must(t, err)
		first, err := s.Claim(ctx, 1, 0, time.Millisecond)
		if err != nil || len(first) != 1 {
			t.Fatalf("claim %v %v", first, err)
		}
		time.Sleep(5 * time.Millisecond)
		second := claimOne(t, s) // the lease ended: another worker takes it
		ch := catalog.Changes{Upserts: map[string][]*catalog.Entity{"project": {ent("late", "L")}}}
		if err := s.Complete(ctx, first[0], ch); !errors.Is(err, catalog.ErrLeaseLost) {
			t.Fatalf("complete under an ended lease: %v", err)
		}
		if _, err := s.Retry(ctx, first[0], "x", time.Now(), 10); !errors.Is(err, catalog.ErrLeaseLost) {
			t.Fatalf("retry under an ended lease: %v", err)
		}
		if l, _ := s.List(ctx, catalog.Filter{}); len(l) != 0 {
			t.Fatalf("an ended lease wrote %v", l)
		}
		must(t, s.Complete(ctx, second, catalog.Changes{}))
		if n, _ := s.Applied(ctx, "d1"); n != 1 {
			t.Fatalf("applied %d times", n)
		}
	}},
	{"PerObjectOrder", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		var evs []*catalog.Event
		for i, obj := range []string{"project:1", "project:1", "project:2", "", ""} {
			ev := &catalog.Event{Delivery: fmt.Sprint("o", i), Object: obj, Body: []byte("{}"), ReceivedAt: time.Now()}
			_, err := s.Enqueue(ctx, ev)
			must(t, err)
			evs = append(evs, ev)
		}
		got, err := s.Claim(ctx, 10, 0, time.Minute)
		must(t, err)
		ids := func(es []*catalog.Event) []int64 {
			var out []int64
			for _, e := range es {
				out = append(out, e.ID)
			}
			return out
		}
		want := []int64{evs[0].ID, evs[2].ID, evs[3].ID, evs[4].ID}
		if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
			t.Fatalf("claimed %v, want %v (the second project:1 event waits for the first)", ids(got), want)
		}
		// The first fails and waits an hour: the second still waits.
		_, err = s.Retry(ctx, got[0], "gitlab: 503", time.Now().Add(time.Hour), 10)
		must(t, err)
		if more, _ := s.Claim(ctx, 10, 0, time.Minute); len(more) != 0 {
			t.Fatalf("claimed %v while an older event of the object is queued", ids(more))
		}
		// Another process sees the same order.
		s2 := open()
		if more, _ := s2.Claim(ctx, 10, 0, time.Minute); len(more) != 0 {
			t.Fatalf("another process claimed %v out of order", ids(more))
		}
	}},
	{"ClaimBoundsBytes", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		body := []byte(`{"object_kind":"push","padding":"` + strings.Repeat("x", 70) + `"}`) // 100 bytes
		for i := 0; i < 5; i++ {
			_, err := s.Enqueue(ctx, &catalog.Event{Delivery: fmt.Sprint("b", i), Body: body, ReceivedAt: time.Now()})
			must(t, err)
		}
		got, err := s.Claim(ctx, 10, 250, time.Minute)
		if err != nil || len(got) != 2 {
			t.Fatalf("250 bytes of 100-byte events: %d events, %v", len(got), err)
		}
		got, err = s.Claim(ctx, 10, 50, time.Minute)
		if err != nil || len(got) != 1 {
			t.Fatalf("an event larger than the bound is still handed out alone: %d, %v", len(got), err)
		}
		got, err = s.Claim(ctx, 10, 0, time.Minute)
		if err != nil || len(got) != 2 {
			t.Fatalf("no bound: %d, %v", len(got), err)
		}
	}},
	{"RetryThenDeadLetter", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		ev := &catalog.Event{Delivery: "d", Body: []byte("{}"), ReceivedAt: time.Now()}
		_, err := s.Enqueue(ctx, ev)
		must(t, err)
		for i := 1; i <= 3; i++ {
			got := claimOne(t, s)
			dead, err := s.Retry(ctx, got, "gitlab: 503", time.Now(), 3)
			if err != nil || dead != (i == 3) {
				t.Fatalf("attempt %d: dead=%v err=%v", i, dead, err)
			}
		}
		if d, _ := s.Depth(ctx); d != 0 {
			t.Fatalf("dead event still queued: %d", d)
		}
		if n, _ := s.DeadLetters(ctx); n != 1 {
			t.Fatalf("dead letters %d", n)
		}
		if at, err := s.OldestQueued(ctx); err != nil || !at.IsZero() {
			t.Fatalf("oldest queued event of an empty queue: %v, %v; want the zero time", at, err)
		}
		received := time.Now().Add(-90 * time.Second)
		ev2 := &catalog.Event{Delivery: "d2", Body: []byte("{}"), ReceivedAt: received}
		_, err = s.Enqueue(ctx, ev2)
		must(t, err)
		_, err = s.Enqueue(ctx, &catalog.Event{Delivery: "d3", Object: "other", Body: []byte("{}"), ReceivedAt: time.Now()})
		must(t, err)
		if at, err := s.OldestQueued(ctx); err != nil || !at.Equal(received) {
			t.Fatalf("oldest queued event received %v (%v), want %v", at, err, received)
		}
		// The retry below claims d2 or d3, whichever comes first; leave one.
		must(t, s.Complete(ctx, claimOne(t, s), catalog.Changes{}))
		_, err = s.Retry(ctx, claimOne(t, s), "x", time.Now().Add(time.Hour), 10)
		must(t, err)
		if got, _ := s.Claim(ctx, 10, 0, time.Minute); len(got) != 0 {
			t.Fatal("claimed an event before its retry time")
		}
		if d, _ := s.Depth(ctx); d != 1 {
			t.Fatalf("depth %d", d)
		}
	}},
	{"CompletePartWritesWhatSucceededAndKeepsTheRest", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		first := &catalog.Event{Delivery: "push-1", Type: "Push Hook", Object: "project:7", Body: []byte(`{"all":true}`), ReceivedAt: time.Now()}
		later := &catalog.Event{Delivery: "push-2", Type: "Push Hook", Object: "project:7", Body: []byte(`{"later":true}`), ReceivedAt: time.Now()}
		for _, ev := range []*catalog.Event{first, later} {
			_, err := s.Enqueue(ctx, ev)
			must(t, err)
		}
		got := claimOne(t, s)
		p := ent("p", "Written by the part that succeeded")
		p.Version = time.Now().UnixNano()
		ch := catalog.Changes{Upserts: map[string][]*catalog.Entity{"project": {p}}}
		dead, err := s.CompletePart(ctx, got, ch, []byte(`{"rest":true}`), "gitops: gitlab: 503", time.Now(), 10)
		if err != nil || dead {
			t.Fatalf("complete part: dead=%v %v", dead, err)
		}
		if l, _ := s.List(ctx, catalog.Filter{}); len(l) != 1 || l[0].Title != "Written by the part that succeeded" {
			t.Fatalf("the part that succeeded was not written: %v", l)
		}
		if n, _ := s.Applied(ctx, "push-1"); n != 0 {
			t.Fatalf("a delivery with a part left is applied %d times, want 0", n)
		}
		// The rest keeps its place in the object's order: it comes back
		// before the later event, with its new body and one attempt more.
		got = claimOne(t, s)
		if got.Delivery != "push-1" || string(got.Body) != `{"rest":true}` || got.Attempts != 1 {
			t.Fatalf("the rest came back as %q %s attempts %d", got.Delivery, got.Body, got.Attempts)
		}
		if again, _ := s.Claim(ctx, 10, 0, time.Minute); len(again) != 0 {
			t.Fatalf("a later event of the object was handed out before the rest: %v", again[0].Delivery)
		}
		// A lost lease commits nothing.
		stale := *got
		stale.Lease--
		if _, err := s.CompletePart(ctx, &stale, catalog.Changes{Deletes: []catalog.Deletion{{Key: p.Key(), Version: time.Now().UnixNano()}}}, nil, "x", time.Now(), 10); !errors.Is(err, catalog.ErrLeaseLost) {
			t.Fatalf("complete part under a lost lease: %v", err)
		}
		if l, _ := s.List(ctx, catalog.Filter{}); len(l) != 1 {
			t.Fatal("a complete part under a lost lease deleted")
		}
		// A permanent failure: dead at once, with the rest as its body.
		dead, err = s.CompletePart(ctx, got, catalog.Changes{}, []byte(`{"rest":"dead"}`), "gitops: port.yml is not YAML", time.Now(), got.Attempts+1)
		if err != nil || !dead {
			t.Fatalf("complete part to the dead letters: dead=%v %v", dead, err)
		}
		dl, err := s.ListDeadLetters(ctx, 0)
		if err != nil || len(dl) != 1 || dl[0].Delivery != "push-1" || dl[0].LastError != "gitops: port.yml is not YAML" || dl[0].Bytes != len(`{"rest":"dead"}`) {
			t.Fatalf("dead letters %+v %v", dl, err)
		}
		// The object's later event proceeds.
		if got = claimOne(t, s); got.Delivery != "push-2" {
			t.Fatalf("next %q", got.Delivery)
		}
	}},
	{"DeadLettersListRequeueDropAndRetention", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		for i := 0; i < 3; i++ {
			ev := &catalog.Event{Delivery: fmt.Sprint("dl", i), Type: "Push Hook", Object: "project:9", Body: []byte(`{"object_kind":"push"}`),
				ReceivedAt: time.Now().Add(-time.Duration(3-i) * 24 * time.Hour)}
			_, err := s.Enqueue(ctx, ev)
			must(t, err)
			_, err = s.Retry(ctx, claimOne(t, s), fmt.Sprint("bad payload ", i), time.Now(), 1)
			must(t, err)
		}
		dead, err := s.ListDeadLetters(ctx, 0)
		if err != nil || len(dead) != 3 || dead[0].Delivery != "dl0" || dead[0].LastError != "bad payload 0" || dead[0].Attempts != 1 ||
			dead[0].Type != "Push Hook" || dead[0].Object != "project:9" || dead[0].Bytes != len(`{"object_kind":"push"}`) {
			t.Fatalf("dead letters %+v %v", dead, err)
		}
		// Retry one: it is queued again, due now, and applies normally.
		if n, err := s.RequeueDeadLetters(ctx, []int64{dead[2].ID}); n != 1 || err != nil {
			t.Fatalf("requeue %d %v", n, err)
		}
		got := claimOne(t, s)
		if got.Delivery != "dl2" || got.Attempts != 0 {
			t.Fatalf("requeued %+v", got)
		}
		must(t, s.Complete(ctx, got, catalog.Changes{}))
		// Retention: the oldest (3 days) goes with a 2-day retention.
		m, err := s.Maintain(ctx, catalog.Retention{Deliveries: 36 * time.Hour, DeadLetters: 60 * time.Hour})
		if err != nil || m.DeadLettersPruned != 1 || m.DeliveriesPruned != 2 {
			t.Fatalf("maintain %+v %v", m, err)
		}
		if dup, _ := s.Enqueue(ctx, &catalog.Event{Delivery: "dl0", Body: []byte("{}"), ReceivedAt: time.Now()}); dup {
			t.Fatal("a delivery id past the dedupe window is still a duplicate")
		}
		if dup, _ := s.Enqueue(ctx, &catalog.Event{Delivery: "dl2", Body: []byte("{}"), ReceivedAt: time.Now()}); !dup {
			t.Fatal("a delivery id within the dedupe window must stay a duplicate")
		}
		if n, err := s.DropDeadLetters(ctx, nil); n != 1 || err != nil {
			t.Fatalf("drop all %d %v", n, err)
		}
		if n, _ := s.DeadLetters(ctx); n != 0 {
			t.Fatalf("%d dead letters left", n)
		}
	}},
	{"ConcurrentWorkersApplyEachEventOnce", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		a, b := open(), open()
		const n = 200
		for i := 0; i < n; i++ {
			_, err := a.Enqueue(ctx, &catalog.Event{Delivery: fmt.Sprint("c", i), Object: fmt.Sprint("project:", i%7),
				Body: []byte("{}"), ReceivedAt: time.Now()})
			must(t, err)
		}
		// Per object, the order in which events were applied.
		var mu sync.Mutex
		applied := map[string][]int64{}
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			s := a
			if w%2 == 1 {
				s = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					evs, err := s.Claim(ctx, 3, 0, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if len(evs) == 0 {
						if d, _ := s.Depth(ctx); d == 0 {
							return
						}
						time.Sleep(time.Millisecond)
						continue
					}
					for _, ev := range evs {
						// Recorded before Complete: the object's next event
						// cannot be claimed until this one is committed.
						mu.Lock()
						applied[ev.Object] = append(applied[ev.Object], ev.ID)
						mu.Unlock()
						e := ent(ev.Delivery, ev.Object)
						e.Version = time.Now().UnixNano()
						if err := s.Complete(ctx, ev, catalog.Changes{Upserts: map[string][]*catalog.Entity{"project": {e}}}); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		for i := 0; i < n; i++ {
			if got, _ := a.Applied(ctx, fmt.Sprint("c", i)); got != 1 {
				t.Fatalf("delivery c%d applied %d times", i, got)
			}
		}
		for obj, ids := range applied {
			for i := 1; i < len(ids); i++ {
				if ids[i] < ids[i-1] {
					t.Fatalf("%s applied out of order: %v", obj, ids)
				}
			}
		}
		if c, _ := a.CountEntities(ctx); c != n {
			t.Fatalf("%d entities, want %d", c, n)
		}
	}},
}
