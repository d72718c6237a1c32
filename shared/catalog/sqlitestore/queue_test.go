package sqlitestore

import (
	"context"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

func open(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func TestQueueDedupeClaimComplete(t *testing.T) {
	ctx := context.Background()
	s, dir := open(t)
	ev := &catalog.Event{Delivery: "uuid-1", Source: "group", Scope: "1001", Type: "Push Hook", Body: []byte(`{"object_kind":"push"}`), ReceivedAt: time.Now()}
	if dup, err := s.Enqueue(ctx, ev); dup || err != nil {
		t.Fatalf("first enqueue: %v %v", dup, err)
	}
	if dup, err := s.Enqueue(ctx, &catalog.Event{Delivery: "uuid-1", Body: []byte("{}"), ReceivedAt: time.Now()}); !dup || err != nil {
		t.Fatalf("GitLab's retry must be a duplicate: %v %v", dup, err)
	}
	got, err := s.Claim(ctx, 10, time.Minute)
	if err != nil || len(got) != 1 || got[0].Type != "Push Hook" || string(got[0].Body) != `{"object_kind":"push"}` {
		t.Fatalf("claim: %+v %v", got, err)
	}
	if again, _ := s.Claim(ctx, 10, time.Minute); len(again) != 0 {
		t.Fatal("a leased event must not be claimed twice")
	}
	// A restart releases the leases of the dead process.
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.ReleaseLeases(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Claim(ctx, 10, time.Minute)
	if len(got) != 1 {
		t.Fatalf("after restart: %d events", len(got))
	}
	ch := catalog.Changes{Upserts: map[string][]*catalog.Entity{"project": {ent("p", "P")}}}
	ch.Upserts["project"][0].Version = time.Now().UnixNano()
	if err := s.Complete(ctx, got[0].ID, ch); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Depth(ctx); d != 0 {
		t.Fatalf("depth %d after complete", d)
	}
	if l, _ := s.List(ctx, catalog.Filter{}); len(l) != 1 || l[0].Identifier != "p" {
		t.Fatalf("complete did not write: %v", l)
	}
	// The delivery stays known after processing.
	if dup, _ := s.Enqueue(ctx, &catalog.Event{Delivery: "uuid-1", Body: []byte("{}"), ReceivedAt: time.Now()}); !dup {
		t.Fatal("a processed delivery must still be a duplicate")
	}
}

func TestRetryThenDeadLetter(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	ev := &catalog.Event{Delivery: "d", Body: []byte("{}"), ReceivedAt: time.Now()}
	s.Enqueue(ctx, ev)
	for i := 1; i <= 3; i++ {
		dead, err := s.Retry(ctx, ev.ID, "gitlab: 503", time.Now(), 3)
		if err != nil || dead != (i == 3) {
			t.Fatalf("attempt %d: dead=%v err=%v", i, dead, err)
		}
	}
	if d, _ := s.Depth(ctx); d != 0 {
		t.Fatalf("dead event still queued: %d", d)
	}
	var n int
	s.db.QueryRow(`SELECT COUNT(*) FROM dead_events`).Scan(&n)
	if n != 1 {
		t.Fatalf("dead_events %d", n)
	}
	// A retry in the future is not claimed now.
	ev2 := &catalog.Event{Delivery: "d2", Body: []byte("{}"), ReceivedAt: time.Now()}
	s.Enqueue(ctx, ev2)
	s.Retry(ctx, ev2.ID, "x", time.Now().Add(time.Hour), 10)
	if got, _ := s.Claim(ctx, 10, time.Minute); len(got) != 0 {
		t.Fatal("claimed an event before its retry time")
	}
}

func TestVersionsTombstonesAndStaleSafety(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	t0 := time.Now().UnixNano()
	run1, _ := s.BeginRun(ctx)
	a := ent("a", "old")
	a.Version = t0
	b := ent("b", "B")
	b.Version = t0
	s.Upsert(ctx, run1, "project", []*catalog.Entity{a, b})

	// A webhook writes a newer "a" and deletes "b".
	newer := ent("a", "new")
	newer.Version = t0 + 100
	ev := &catalog.Event{Body: []byte("{}"), ReceivedAt: time.Now()}
	s.Enqueue(ctx, ev)
	if err := s.Complete(ctx, ev.ID, catalog.Changes{
		Upserts: map[string][]*catalog.Entity{"project": {newer}},
		Deletes: []catalog.Deletion{{Key: catalog.Key{Blueprint: "service", Identifier: "b"}, Version: t0 + 100}},
	}); err != nil {
		t.Fatal(err)
	}
	// A resync page fetched before the webhook neither reverts "a" nor
	// brings "b" back.
	run2, _ := s.BeginRun(ctx)
	staleA, staleB := ent("a", "old"), ent("b", "B")
	staleA.Version, staleB.Version = t0+50, t0+50
	st, err := s.Upsert(ctx, run2, "project", []*catalog.Entity{staleA, staleB})
	if err != nil || st.Unchanged != 2 {
		t.Fatalf("stale page: %+v %v", st, err)
	}
	l, _ := s.List(ctx, catalog.Filter{})
	if len(l) != 1 || l[0].Title != "new" {
		t.Fatalf("catalog after stale page: %+v", l)
	}
	// A project created by a webhook during a resync survives that
	// resync's stale deletion even though the crawl never listed it.
	run3, _ := s.BeginRun(ctx)
	c := ent("c", "C")
	c.Version = time.Now().UnixNano()
	ev3 := &catalog.Event{Body: []byte("{}"), ReceivedAt: time.Now()}
	s.Enqueue(ctx, ev3)
	s.Complete(ctx, ev3.ID, catalog.Changes{Upserts: map[string][]*catalog.Entity{"project": {c}}})
	fresh := ent("a", "new")
	fresh.Version = time.Now().UnixNano()
	s.Upsert(ctx, run3, "project", []*catalog.Entity{fresh})
	if n, _ := s.DeleteStale(ctx, run3, "project"); n != 0 {
		t.Fatalf("deleted %d; the webhook's entity must survive", n)
	}
	// A later version re-creates a deleted entity.
	again := ent("b", "B again")
	again.Version = time.Now().UnixNano()
	if st, _ := s.Upsert(ctx, run3, "project", []*catalog.Entity{again}); st.Created != 1 {
		t.Fatalf("re-create after tombstone: %+v", st)
	}
}

func TestHookSecrets(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	if _, ok, _ := s.HookSecret(ctx, "group:1"); ok {
		t.Fatal("unexpected secret")
	}
	s.PutHookSecret(ctx, catalog.HookSecret{Scope: "group:1", HookID: 7, URL: "https://x/integration/hook/1", Secret: "s1"})
	s.PutHookSecret(ctx, catalog.HookSecret{Scope: "group:1", HookID: 8, URL: "https://x/integration/hook/1", Secret: "s2"})
	h, ok, err := s.HookSecret(ctx, "group:1")
	if !ok || err != nil || h.Secret != "s2" || h.HookID != 8 {
		t.Fatalf("%+v %v %v", h, ok, err)
	}
	s.DeleteHookSecret(ctx, "group:1")
	if _, ok, _ := s.HookSecret(ctx, "group:1"); ok {
		t.Fatal("secret not deleted")
	}
}
