// Package storetest is the contract every catalog.Backend keeps, as one
// table of cases that the SQLite and the PostgreSQL store both run.
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

// Opener prepares an empty backend for a test and returns a function that
// opens it (again: a second call is a second process on the same data).
// The suite closes what it opens.
type Opener func(t *testing.T) (open func() catalog.Backend)

// Case is one contract test.
type Case struct {
	Name string
	Run  func(t *testing.T, open func() catalog.Backend)
}

// Run runs every case against the backend opener makes.
func Run(t *testing.T, opener Opener) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			open := opener(t)
			c.Run(t, func() catalog.Backend {
				b := open()
				t.Cleanup(func() { b.Close() })
				return b
			})
		})
	}
}

func ent(id, title string) *catalog.Entity {
	return &catalog.Entity{Blueprint: "service", Identifier: id, Title: title,
		Properties: map[string]any{"url": "http://x/" + id}, Relations: map[string]any{"group": "1"}}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// lead makes b's replica the leader (the SQLite store always leads).
func lead(t *testing.T, b catalog.Backend) {
	t.Helper()
	_, release, leader, ok, err := b.Coordination().TryLead(context.Background())
	if err != nil || !ok {
		t.Fatalf("TryLead: ok=%v leader=%q err=%v", ok, leader, err)
	}
	t.Cleanup(release)
}

func claimOne(t *testing.T, b catalog.Backend) *catalog.Event {
	t.Helper()
	got, err := b.Claim(context.Background(), 1, 0, time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %d events, %v", len(got), err)
	}
	return got[0]
}

// Cases are the contract.
var Cases = []Case{
	{"WritesMergeAsPortDoes", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		lead(t, s)
		run, err := s.BeginRun(ctx)
		must(t, err)
		get := func() *catalog.Entity {
			t.Helper()
			all, err := s.List(ctx, catalog.Filter{Blueprint: "service"})
			must(t, err)
			if len(all) != 1 {
				t.Fatalf("%d service entities, want 1", len(all))
			}
			return all[0]
		}
		up := func(kind string, e *catalog.Entity) catalog.UpsertStats {
			t.Helper()
			e.Version = time.Now().UnixNano()
			st, err := s.Upsert(ctx, run, kind, []*catalog.Entity{e})
			must(t, err)
			return st
		}
		// The project kind writes the service; a file kind adds its README
		// (no title: not mapped, so not sent).
		up("project", &catalog.Entity{Blueprint: "service", Identifier: "svc", Title: "Svc",
			Properties: map[string]any{"url": "u", "desc": "d"}, Relations: map[string]any{"group": "g"}})
		if st := up("file", &catalog.Entity{Blueprint: "service", Identifier: "svc",
			Properties: map[string]any{"readme": "r"}, Relations: map[string]any{"owners": []any{"a"}}}); st.Updated != 1 {
			t.Fatalf("file write: %+v, want 1 updated", st)
		}
		want := `{service svc Svc   map[desc:d readme:r url:u] map[group:g owners:[a]]`
		if got := fmt.Sprintf("%v", *get()); !strings.HasPrefix(got, want) {
			t.Fatalf("after both kinds: %s, want %s…", got, want)
		}
		// Either kind writing its part again, in any order, changes nothing.
		for _, kind := range []string{"project", "file", "project"} {
			e := &catalog.Entity{Blueprint: "service", Identifier: "svc", Title: "Svc",
				Properties: map[string]any{"url": "u", "desc": "d"}, Relations: map[string]any{"group": "g"}}
			if kind == "file" {
				e = &catalog.Entity{Blueprint: "service", Identifier: "svc",
					Properties: map[string]any{"readme": "r"}, Relations: map[string]any{"owners": []any{"a"}}}
			}
			if st := up(kind, e); st.Unchanged != 1 {
				t.Fatalf("%s rewriting its part: %+v, want unchanged", kind, st)
			}
		}
		// A field both set holds the later write; a null is a value.
		up("file", &catalog.Entity{Blueprint: "service", Identifier: "svc", Title: "From file",
			Properties: map[string]any{"desc": nil}})
		want = `{service svc From file   map[desc:<nil> readme:r url:u] map[group:g owners:[a]]`
		if got := fmt.Sprintf("%v", *get()); !strings.HasPrefix(got, want) {
			t.Fatalf("after an overlapping write: %s, want %s…", got, want)
		}
		// A read fetched before the stored copy (another kind's, or a
		// webhook's) still adds its part, and does not undo the newer one.
		older := &catalog.Entity{Blueprint: "service", Identifier: "svc", Title: "Stale",
			Properties: map[string]any{"desc": "stale", "lang": "go"}, Version: 1}
		if st, err := s.Upsert(ctx, run, "folder", []*catalog.Entity{older}); err != nil || st.Updated != 1 {
			t.Fatalf("older write: %+v, %v; want 1 updated", st, err)
		}
		want = `{service svc From file   map[desc:<nil> lang:go readme:r url:u] map[group:g owners:[a]]`
		if got := fmt.Sprintf("%v", *get()); !strings.HasPrefix(got, want) {
			t.Fatalf("after an older write: %s, want %s…", got, want)
		}
		// enableMergeEntity: false replaces.
		up("project", &catalog.Entity{Blueprint: "service", Identifier: "svc", Title: "Svc",
			Properties: map[string]any{"url": "u2"}, Replace: true})
		want = `{service svc Svc   map[url:u2] map[]`
		if got := fmt.Sprintf("%v", *get()); !strings.HasPrefix(got, want) {
			t.Fatalf("after a replacing write: %s, want %s…", got, want)
		}
	}},
	{"EachStreamsInListOrderAndStopsAtAnError", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		lead(t, s)
		run, err := s.BeginRun(ctx)
		must(t, err)
		// Identifiers whose byte order differs from a collation's
		// (upper before lower case, "-" before digits), in two blueprints.
		var ents []*catalog.Entity
		for _, id := range []string{"b", "a-1", "A", "a10", "a2", "é"} {
			ents = append(ents, ent(id, strings.ToUpper(id)))
		}
		ents = append(ents, &catalog.Entity{Blueprint: "gitlabGroup", Identifier: "7", Title: "g", Team: "core",
			Properties: map[string]any{"n": 1.5, "tags": []any{"x"}}, Relations: map[string]any{"parent": nil}})
		_, err = s.Upsert(ctx, run, "project", ents)
		must(t, err)
		for _, f := range []catalog.Filter{{}, {Blueprint: "service"}, {Blueprint: "none"}} {
			want, err := s.List(ctx, f)
			must(t, err)
			var got []*catalog.Entity
			must(t, s.Each(ctx, f, func(e *catalog.Entity) error {
				got = append(got, e)
				return nil
			}))
			if fmt.Sprint(keysOf(got)) != fmt.Sprint(keysOf(want)) {
				t.Fatalf("filter %+v: Each gave %v, List %v", f, keysOf(got), keysOf(want))
			}
			for i := range got {
				if fmt.Sprintf("%+v", *got[i]) != fmt.Sprintf("%+v", *want[i]) {
					t.Fatalf("filter %+v: Each gave %+v, List %+v", f, *got[i], *want[i])
				}
			}
		}
		all, _ := s.List(ctx, catalog.Filter{})
		if got := fmt.Sprint(keysOf(all)); got != "[gitlabGroup/7 service/A service/a-1 service/a10 service/a2 service/b service/é]" {
			t.Fatalf("order %s: want bytewise by blueprint, then identifier", got)
		}
		stop := errors.New("stop")
		calls := 0
		err = s.Each(ctx, catalog.Filter{}, func(*catalog.Entity) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != 2 {
			t.Fatalf("Each after fn failed: %d calls, %v; want 2, stop", calls, err)
		}
		// The cursor was released: the store answers again.
		if n, err := s.CountEntities(ctx); err != nil || n != 7 {
			t.Fatalf("after a stopped Each: count %d, %v", n, err)
		}
	}},
	{"UpsertStatsStaleDeletionAndDurability", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		lead(t, s)
		run1, err := s.BeginRun(ctx)
		must(t, err)
		st, err := s.Upsert(ctx, run1, "project", []*catalog.Entity{ent("a", "A"), ent("b", "B"), ent("c", "C")})
		if err != nil || st.Created != 3 {
			t.Fatalf("first upsert %+v %v", st, err)
		}
		if n, err := s.DeleteStale(ctx, run1, "project"); n != 0 || err != nil {
			t.Fatalf("deleted %d on first run: %v", n, err)
		}
		must(t, s.FinishRun(ctx, run1, true, time.Now()))
		run2, _ := s.BeginRun(ctx)
		st, err = s.Upsert(ctx, run2, "project", []*catalog.Entity{ent("a", "A"), ent("b", "B2")})
		if err != nil || st.Unchanged != 1 || st.Updated != 1 || st.Created != 0 {
			t.Fatalf("second upsert %+v %v", st, err)
		}
		// Another kind's entities are never touched by a project resync.
		_, err = s.Upsert(ctx, run1, "group", []*catalog.Entity{{Blueprint: "gitlabGroup", Identifier: "1"}})
		must(t, err)
		if n, err := s.DeleteStale(ctx, run2, "project"); err != nil || n != 1 {
			t.Fatalf("DeleteStale = %d, %v; want 1 (c)", n, err)
		}
		// Another process sees it all.
		s2 := open()
		all, err := s2.List(ctx, catalog.Filter{})
		if err != nil || len(all) != 3 || all[0].Blueprint != "gitlabGroup" {
			t.Fatalf("list %d %v", len(all), err)
		}
		svc, _ := s2.List(ctx, catalog.Filter{Blueprint: "service"})
		if len(svc) != 2 || svc[0].Identifier != "a" || svc[1].Title != "B2" || svc[0].Properties["url"] != "http://x/a" || svc[0].Relations["group"] != "1" {
			t.Fatalf("services %+v", svc)
		}
		if n, _ := s2.CountEntities(ctx); n != 3 {
			t.Fatalf("count %d", n)
		}
	}},
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
	{"OwnersGuardSpecFileClaims", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		run, err := s.BeginRun(ctx)
		must(t, err)
		svcB := ent("svc-b", "B's service")
		svcB.Project = 2
		group := &catalog.Entity{Blueprint: "gitlabGroup", Identifier: "g", Title: "G"}
		_, err = s.Upsert(ctx, run, "project", []*catalog.Entity{svcB})
		must(t, err)
		_, err = s.Upsert(ctx, run, "group", []*catalog.Entity{group})
		must(t, err)
		own := ent("svc-a", "A's service")
		own.Project = 1
		_, err = s.Upsert(ctx, run, "project", []*catalog.Entity{own})
		must(t, err)
		held, err := s.Owners(ctx, []catalog.Key{svcB.Key(), group.Key(), {Blueprint: "service", Identifier: "none"}})
		if err != nil || len(held) != 2 || held[svcB.Key()] != (catalog.Owner{Kind: "project", Project: 2}) || held[group.Key()] != (catalog.Owner{Kind: "group"}) {
			t.Fatalf("owners %v %v", held, err)
		}
		// Project 1's spec file: its own service and a new entity pass; B's
		// service and the group are refused.
		claims := []*catalog.Entity{ent("svc-a", "enriched"), ent("new", "New"), ent("svc-b", "stolen"), {Blueprint: "gitlabGroup", Identifier: "g"}}
		kept, refused, err := catalog.FilterClaims(ctx, s, 1, nil, claims)
		if err != nil || len(kept) != 2 || kept[0].Identifier != "svc-a" || kept[1].Identifier != "new" || len(refused) != 2 ||
			refused[0].Owner.Project != 2 || refused[1].Owner.Kind != "group" {
			t.Fatalf("kept %v refused %v %v", kept, refused, err)
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
	{"VersionsTombstonesAndStaleSafety", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		lead(t, s)
		t0 := time.Now().UnixNano()
		run1, _ := s.BeginRun(ctx)
		a, b := ent("a", "old"), ent("b", "B")
		a.Version, b.Version = t0, t0
		_, err := s.Upsert(ctx, run1, "project", []*catalog.Entity{a, b})
		must(t, err)
		// A webhook writes a newer "a" and deletes "b".
		newer := ent("a", "new")
		newer.Version = t0 + 100
		complete := func(c catalog.Changes) {
			t.Helper()
			_, err := s.Enqueue(ctx, &catalog.Event{Body: []byte("{}"), ReceivedAt: time.Now()})
			must(t, err)
			must(t, s.Complete(ctx, claimOne(t, s), c))
		}
		complete(catalog.Changes{
			Upserts: map[string][]*catalog.Entity{"project": {newer}},
			Deletes: []catalog.Deletion{{Key: catalog.Key{Blueprint: "service", Identifier: "b"}, Version: t0 + 100}},
		})
		// A resync page fetched before the webhook neither reverts "a" nor
		// brings "b" back.
		run2, _ := s.BeginRun(ctx)
		staleA, staleB := ent("a", "old"), ent("b", "B")
		staleA.Version, staleB.Version = t0+50, t0+50
		st, err := s.Upsert(ctx, run2, "project", []*catalog.Entity{staleA, staleB})
		if err != nil || st.Unchanged != 2 {
			t.Fatalf("stale page: %+v %v", st, err)
		}
		if l, _ := s.List(ctx, catalog.Filter{}); len(l) != 1 || l[0].Title != "new" {
			t.Fatalf("catalog after stale page: %+v", l)
		}
		// An entity a webhook creates during a resync survives that
		// resync's stale deletion though the crawl never listed it.
		run3, _ := s.BeginRun(ctx)
		c := ent("c", "C")
		c.Version = time.Now().UnixNano()
		complete(catalog.Changes{Upserts: map[string][]*catalog.Entity{"project": {c}}})
		fresh := ent("a", "new")
		fresh.Version = time.Now().UnixNano()
		_, err = s.Upsert(ctx, run3, "project", []*catalog.Entity{fresh})
		must(t, err)
		if n, _ := s.DeleteStale(ctx, run3, "project"); n != 0 {
			t.Fatalf("deleted %d; the webhook's entity must survive", n)
		}
		// A later version re-creates a deleted entity.
		again := ent("b", "B again")
		again.Version = time.Now().UnixNano()
		if st, _ := s.Upsert(ctx, run3, "project", []*catalog.Entity{again}); st.Created != 1 {
			t.Fatalf("re-create after tombstone: %+v", st)
		}
		// A deletion older than the stored copy deletes nothing.
		complete(catalog.Changes{Deletes: []catalog.Deletion{{Key: again.Key(), Version: again.Version - 1}}})
		if ok, _ := s.HasKey(ctx, again.Key()); !ok {
			t.Fatal("an older deletion removed a newer entity")
		}
	}},
	{"MirrorPendingConfirmAndProjectKeys", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		lead(t, s)
		run, _ := s.BeginRun(ctx)
		x, y := ent("x", "X"), ent("y", "Y")
		x.Project, y.Project = 42, 42
		st, changed, err := s.UpsertPending(ctx, run, "issue", []*catalog.Entity{x, y})
		if err != nil || st.Created != 2 || len(changed) != 2 {
			t.Fatalf("pending upsert %+v %d %v", st, len(changed), err)
		}
		// Unconfirmed rows count as changed next time.
		_, changed, _ = s.UpsertPending(ctx, run, "issue", []*catalog.Entity{x, y})
		if len(changed) != 2 {
			t.Fatalf("unconfirmed rows must be sent again: %d", len(changed))
		}
		must(t, s.Confirm(ctx, []catalog.Key{x.Key(), y.Key()}))
		_, changed, _ = s.UpsertPending(ctx, run, "issue", []*catalog.Entity{x, y})
		if len(changed) != 0 {
			t.Fatalf("confirmed rows sent again: %d", len(changed))
		}
		keys, err := s.ProjectKeys(ctx, 42)
		if err != nil || len(keys) != 2 || keys[0].Identifier != "x" {
			t.Fatalf("project keys %v %v", keys, err)
		}
		run2, _ := s.BeginRun(ctx)
		_, _, err = s.UpsertPending(ctx, run2, "issue", []*catalog.Entity{x})
		must(t, err)
		stale, total, err := s.StaleKeys(ctx, run2, "issue")
		if err != nil || total != 2 || len(stale) != 1 || stale[0].Identifier != "y" {
			t.Fatalf("stale %v of %d %v", stale, total, err)
		}
		must(t, s.DeleteKeys(ctx, stale))
		if ok, _ := s.HasKey(ctx, y.Key()); ok {
			t.Fatal("DeleteKeys kept y")
		}
		must(t, s.PutExamples(ctx, "issue", []byte(`[{"id":1}]`)))
		must(t, s.PutExamples(ctx, "issue", []byte(`[{"id":2}]`)))
		if ex, _ := s.Examples(ctx, "issue"); string(ex) != `[{"id":2}]` {
			t.Fatalf("examples %s", ex)
		}
		if ex, err := s.Examples(ctx, "job"); ex != nil || err != nil {
			t.Fatalf("no examples kept: %s %v", ex, err)
		}
	}},
	{"IncrementalMarksTouchAndPasses", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		lead(t, s)
		at := func(m int) time.Time { return time.Unix(1_700_000_000+int64(m)*60, 0) }
		marksOf := func(fp string, ids ...int64) map[int64]catalog.ProjectMark {
			t.Helper()
			m, err := s.ProjectMarks(ctx, "pipeline", fp, ids)
			must(t, err)
			return m
		}
		if _, ok, err := s.LastFullPass(ctx, "pipeline", "fp1"); ok || err != nil {
			t.Fatalf("a last full pass before any: %v %v", ok, err)
		}
		// Pass 1 (full) reads projects 1, 2, 3.
		run1, _ := s.BeginRun(ctx)
		a, b, c := ent("a", "A"), ent("b", "B"), ent("c", "C")
		a.Project, b.Project, c.Project = 1, 2, 3
		_, err := s.Upsert(ctx, run1, "pipeline", []*catalog.Entity{a, b, c})
		must(t, err)
		must(t, s.PutProjectMarks(ctx, run1, "pipeline", "fp1", []catalog.ProjectMark{
			{Project: 1, ReadAt: at(2), RefHash: "h1"}, {Project: 2, ReadAt: at(2), RefHash: "h2"}, {Project: 3, ReadAt: at(2), RefHash: "h3"}}))
		// Read twice in a run: the earlier read counts.
		must(t, s.PutProjectMarks(ctx, run1, "pipeline", "fp1", []catalog.ProjectMark{{Project: 1, ReadAt: at(1), RefHash: "h1"}}))
		if m := marksOf("fp1", 1, 2, 3); len(m) != 0 {
			t.Fatalf("marks valid before their pass completed: %v", m)
		}
		must(t, s.CompleteKind(ctx, run1, "pipeline", "fp1", true))
		must(t, s.FinishRun(ctx, run1, true, time.Now()))
		m := marksOf("fp1", 1, 2, 3, 4)
		if len(m) != 3 || !m[1].ReadAt.Equal(at(1)) || m[2].RefHash != "h2" {
			t.Fatalf("marks after pass 1: %+v", m)
		}
		if len(marksOf("other", 1)) != 0 {
			t.Fatal("a mark under another fingerprint")
		}
		if _, ok, err := s.LastFullPass(ctx, "pipeline", "fp1"); !ok || err != nil {
			t.Fatalf("no last full pass after one: %v", err)
		}
		// Pass 2 (incremental): 1 skipped, 2 read again, 3 gone from GitLab.
		run2, _ := s.BeginRun(ctx)
		must(t, s.TouchProjects(ctx, run2, "pipeline", []int64{1}))
		_, err = s.Upsert(ctx, run2, "pipeline", []*catalog.Entity{b})
		must(t, err)
		must(t, s.PutProjectMarks(ctx, run2, "pipeline", "fp1", []catalog.ProjectMark{{Project: 2, ReadAt: at(10), RefHash: "h2b"}}))
		// Until the pass completes, a project it read again has no valid
		// mark (were the pass to fail, the next one reads it again).
		if m := marksOf("fp1", 1, 2); len(m) != 1 || !m[1].ReadAt.Equal(at(1)) {
			t.Fatalf("marks during pass 2: %+v (want only 1's, from pass 1)", m)
		}
		if n, err := s.DeleteStale(ctx, run2, "pipeline"); err != nil || n != 1 {
			t.Fatalf("DeleteStale = %d, %v; want 1 (c: its project is gone; a: skipped, counts as seen)", n, err)
		}
		must(t, s.CompleteKind(ctx, run2, "pipeline", "fp1", false))
		must(t, s.FinishRun(ctx, run2, true, time.Now()))
		m = marksOf("fp1", 1, 2, 3)
		if len(m) != 2 || !m[1].ReadAt.Equal(at(1)) || !m[2].ReadAt.Equal(at(10)) || m[2].RefHash != "h2b" {
			t.Fatalf("marks after pass 2: %+v (want 1 kept from pass 1, 2 from pass 2, 3 dropped)", m)
		}
		all, _ := s.List(ctx, catalog.Filter{})
		if got := keysOf(all); strings.Join(got, ",") != "service/a,service/b" {
			t.Fatalf("entities after pass 2: %v", got)
		}
		// A changed mapping (another fingerprint) drops the old marks.
		run3, _ := s.BeginRun(ctx)
		must(t, s.PutProjectMarks(ctx, run3, "pipeline", "fp2", []catalog.ProjectMark{{Project: 1, ReadAt: at(20), RefHash: "h1"}}))
		must(t, s.CompleteKind(ctx, run3, "pipeline", "fp2", true))
		if len(marksOf("fp1", 1, 2)) != 0 || len(marksOf("fp2", 1)) != 1 {
			t.Fatal("marks of the old fingerprint outlived a pass under the new one")
		}
		if _, ok, _ := s.LastFullPass(ctx, "pipeline", "fp1"); ok {
			t.Fatal("the old fingerprint's full pass still counts")
		}
		// Another process sees the same.
		if m, err := open().ProjectMarks(ctx, "pipeline", "fp2", []int64{1}); err != nil || len(m) != 1 {
			t.Fatalf("marks from another process: %v %v", m, err)
		}
	}},
	{"SecretsSettingsAndTokenMappings", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		if _, ok, _ := s.HookSecret(ctx, "group:1"); ok {
			t.Fatal("unexpected secret")
		}
		must(t, s.PutHookSecret(ctx, catalog.HookSecret{Scope: "group:1", HookID: 7, URL: "https://x/integration/hook/1", Secret: "s1"}))
		must(t, s.PutHookSecret(ctx, catalog.HookSecret{Scope: "group:1", HookID: 8, URL: "https://x/integration/hook/1", Secret: "s2"}))
		must(t, s.PutHookSecret(ctx, catalog.HookSecret{Scope: "system", HookID: 9, URL: "https://x/integration/system/hook", Secret: "s3"}))
		h, ok, err := s.HookSecret(ctx, "group:1")
		if !ok || err != nil || h.Secret != "s2" || h.HookID != 8 {
			t.Fatalf("%+v %v %v", h, ok, err)
		}
		if sc, _ := s.HookScopes(ctx); fmt.Sprint(sc) != "[group:1 system]" {
			t.Fatalf("scopes %v", sc)
		}
		must(t, s.DeleteHookSecret(ctx, "group:1"))
		if _, ok, _ := s.HookSecret(ctx, "group:1"); ok {
			t.Fatal("secret not deleted")
		}
		must(t, s.PutTokenMapping(ctx, "b", []byte(`{"token":"2"}`)))
		must(t, s.PutTokenMapping(ctx, "a", []byte(`{"token":"1"}`)))
		must(t, s.PutTokenMapping(ctx, "a", []byte(`{"token":"3"}`)))
		names, values, err := s.TokenMappings(ctx)
		if err != nil || fmt.Sprint(names) != "[a b]" || string(values[0]) != `{"token":"3"}` {
			t.Fatalf("mappings %v %s %v", names, values, err)
		}
		if found, _ := s.DeleteTokenMapping(ctx, "a"); !found {
			t.Fatal("delete a: not found")
		}
		if found, _ := s.DeleteTokenMapping(ctx, "a"); found {
			t.Fatal("delete a twice: found")
		}
		if _, ok, err := s.Setting(ctx, "last_resync"); ok || err != nil {
			t.Fatalf("setting before put: %v %v", ok, err)
		}
		must(t, s.PutSetting(ctx, "last_resync", []byte(`{"run":1}`)))
		must(t, s.PutSetting(ctx, "last_resync", []byte(`{"run":2}`)))
		if v, ok, _ := open().Setting(ctx, "last_resync"); !ok || string(v) != `{"run":2}` {
			t.Fatalf("setting %s %v", v, ok)
		}
		if n, err := s.PruneDeliveries(ctx, time.Now()); n != 0 || err != nil {
			t.Fatalf("prune %d %v", n, err)
		}
	}},
	{"ResyncRequestsReachTheLeader", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		leader, other := open(), open()
		lead(t, leader)
		if name, err := other.Coordination().Leader(ctx); err != nil || name != leader.Coordination().Replica() {
			t.Fatalf("leader %q %v", name, err)
		}
		if ok, err := other.Coordination().RequestResync(ctx, "admin API"); !ok || err != nil {
			t.Fatalf("request %v %v", ok, err)
		}
		if ok, _ := other.Coordination().RequestResync(ctx, "again"); ok {
			t.Fatal("a second request while one waits must say so")
		}
		why, ok, err := leader.Coordination().TakeResyncRequest(ctx)
		if !ok || err != nil || why != "admin API" {
			t.Fatalf("take %q %v %v", why, ok, err)
		}
		if _, ok, _ := leader.Coordination().TakeResyncRequest(ctx); ok {
			t.Fatal("request taken twice")
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

func keysOf(ents []*catalog.Entity) []string {
	out := make([]string, len(ents))
	for i, e := range ents {
		out[i] = e.Blueprint + "/" + e.Identifier
	}
	return out
}
