package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// provenance reads k's provenance, failing when k is not held.
func provenance(t *testing.T, br catalog.Browser, k catalog.Key) (*catalog.Entity, catalog.Provenance) {
	t.Helper()
	e, p, ok, err := br.Entity(context.Background(), k)
	if err != nil || !ok {
		t.Fatalf("Entity(%v): ok=%v err=%v", k, ok, err)
	}
	return e, p
}

// pageKeys walks every page of q (its Limit per page) and returns the
// keys in order, failing on a page larger than asked or a Next that does
// not move.
func pageKeys(t *testing.T, br catalog.Browser, q catalog.PageQuery) []string {
	t.Helper()
	var keys []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("%+v: more than 1000 pages", q)
		}
		p, err := br.Page(context.Background(), q)
		must(t, err)
		if len(p.Entities) > q.PageLimit() {
			t.Fatalf("%+v: %d entities on a page of %d", q, len(p.Entities), q.PageLimit())
		}
		keys = append(keys, keysOf(p.Entities)...)
		if p.Next == nil {
			return keys
		}
		if len(p.Entities) == 0 || *p.Next != p.Entities[len(p.Entities)-1].Key() {
			t.Fatalf("%+v: Next %v is not the page's last key", q, *p.Next)
		}
		q.After = *p.Next
	}
}

// browseCases are the contract of the console's reads (catalog.Browser).
var browseCases = []Case{
	{"BrowseProvenanceMovesOnlyWithChanges", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		br := s
		lead(t, s)
		before := time.Now().Add(-time.Second)
		run1, err := s.BeginRun(ctx)
		must(t, err)
		svc := ent("svc", "Svc")
		svc.Project = 7
		_, err = s.Upsert(ctx, run1, "project", []*catalog.Entity{svc})
		must(t, err)
		_, p := provenance(t, br, svc.Key())
		if p.Kind != "project" || p.Source != "" || p.Project != 7 || p.ChangedBy != catalog.ChangedByResync(run1) ||
			p.ChangedAt.Before(before) || p.ChangedAt.After(time.Now().Add(time.Second)) {
			t.Fatalf("after a resync wrote it: %+v (run %d)", p, run1)
		}
		first := p.ChangedAt
		// A later resync finding it unchanged changes nothing of its
		// provenance but what produced it.
		run2, err := s.BeginRun(ctx)
		must(t, err)
		if st, err := s.Upsert(ctx, run2, "project", []*catalog.Entity{ent("svc", "Svc")}); err != nil || st.Unchanged != 1 {
			t.Fatalf("unchanged upsert: %+v %v", st, err)
		}
		if _, p = provenance(t, br, svc.Key()); p.ChangedBy != catalog.ChangedByResync(run1) || !p.ChangedAt.Equal(first) {
			t.Fatalf("an unchanged upsert moved the provenance: %+v, want changed by run %d at %v", p, run1, first)
		}
		// A push's spec file changes it: the event and the file are named.
		ev := &catalog.Event{Delivery: "d-push-1", Type: "Push Hook", Object: "project:7", Body: []byte(`{}`), ReceivedAt: time.Now()}
		_, err = s.Enqueue(ctx, ev)
		must(t, err)
		got := claimOne(t, s)
		fromFile := &catalog.Entity{Blueprint: "service", Identifier: "svc", Title: "Svc", Origin: "acme/svc:port.yml",
			Properties: map[string]any{"tier": "gold"}, Version: time.Now().UnixNano()}
		must(t, s.Complete(ctx, got, catalog.Changes{Upserts: map[string][]*catalog.Entity{"gitops": {fromFile}}}))
		e, p := provenance(t, br, svc.Key())
		if p.Kind != "gitops" || p.Source != "acme/svc:port.yml" || e.Origin != "acme/svc:port.yml" ||
			p.ChangedBy != "event Push Hook d-push-1" || p.ChangedAt.Before(first) || e.Properties["tier"] != "gold" || e.Properties["url"] != "http://x/svc" {
			t.Fatalf("after an event changed it: %+v %+v", p, *e)
		}
		byEvent := p.ChangedAt
		// CompletePart writing it unchanged leaves the event's mark.
		ev2 := &catalog.Event{Delivery: "d-push-2", Type: "Push Hook", Object: "project:7", Body: []byte(`{}`), ReceivedAt: time.Now()}
		_, err = s.Enqueue(ctx, ev2)
		must(t, err)
		got = claimOne(t, s)
		same := &catalog.Entity{Blueprint: "service", Identifier: "svc", Origin: "acme/svc:port.yml",
			Properties: map[string]any{"tier": "gold"}, Version: time.Now().UnixNano()}
		_, err = s.CompletePart(ctx, got, catalog.Changes{Upserts: map[string][]*catalog.Entity{"gitops": {same}}}, []byte(`{"rest":1}`), "files: 503", time.Now(), 5)
		must(t, err)
		if _, p = provenance(t, br, svc.Key()); p.ChangedBy != "event Push Hook d-push-1" || !p.ChangedAt.Equal(byEvent) {
			t.Fatalf("an unchanged event write moved the provenance: %+v", p)
		}
		// CompletePart changing it names its own delivery.
		got = claimOne(t, s)
		gold := &catalog.Entity{Blueprint: "service", Identifier: "svc", Origin: "acme/svc:port.yml",
			Properties: map[string]any{"tier": "platinum"}, Version: time.Now().UnixNano()}
		_, err = s.CompletePart(ctx, got, catalog.Changes{Upserts: map[string][]*catalog.Entity{"gitops": {gold}}}, []byte(`{"rest":2}`), "files: 503", time.Now(), 5)
		must(t, err)
		if _, p = provenance(t, br, svc.Key()); p.ChangedBy != "event Push Hook d-push-2" {
			t.Fatalf("after CompletePart changed it: %+v", p)
		}
		// Reopened (another process), the provenance is still there.
		if _, p = provenance(t, open(), svc.Key()); p.ChangedBy != "event Push Hook d-push-2" || p.Source != "acme/svc:port.yml" {
			t.Fatalf("reopened: %+v", p)
		}
		if e, _, ok, err := br.Entity(ctx, catalog.Key{Blueprint: "service", Identifier: "none"}); ok || err != nil || e != nil {
			t.Fatalf("an entity not held: %v %v %v", e, ok, err)
		}
	}},
	{"BrowsePagesByKeysetAndSearches", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		br := s
		lead(t, s)
		run, err := s.BeginRun(ctx)
		must(t, err)
		// Identifiers whose byte order differs from a collation's, and a
		// search hit in the identifier of one, the title of another.
		var ents []*catalog.Entity
		for _, id := range []string{"b", "a-1", "A", "a10", "a2", "é", "Alpha", "zulu"} {
			ents = append(ents, ent(id, "T "+id))
		}
		ents = append(ents, ent("q", "the ALPine one"))
		for i := range 3 {
			ents = append(ents, &catalog.Entity{Blueprint: "gitlabGroup", Identifier: fmt.Sprint(i), Title: fmt.Sprint("alpha group ", i)})
		}
		// 100% and _: a search is a plain substring, not a pattern.
		ents = append(ents, &catalog.Entity{Blueprint: "tag", Identifier: "100%", Title: "a_b"}, &catalog.Entity{Blueprint: "tag", Identifier: "100x", Title: "ab"})
		_, err = s.Upsert(ctx, run, "project", ents)
		must(t, err)
		all, err := s.List(ctx, catalog.Filter{})
		must(t, err)
		for _, limit := range []int{1, 2, 3, 50} {
			if got := fmt.Sprint(pageKeys(t, br, catalog.PageQuery{Limit: limit})); got != fmt.Sprint(keysOf(all)) {
				t.Fatalf("pages of %d: %s, want List's order %v", limit, got, keysOf(all))
			}
		}
		svc, err := s.List(ctx, catalog.Filter{Blueprint: "service"})
		must(t, err)
		if got := fmt.Sprint(pageKeys(t, br, catalog.PageQuery{Blueprint: "service", Limit: 4})); got != fmt.Sprint(keysOf(svc)) {
			t.Fatalf("service pages: %s, want %v", got, keysOf(svc))
		}
		for q, want := range map[catalog.PageQuery]string{
			{Search: "alp", Limit: 1}:                      "[gitlabGroup/0 gitlabGroup/1 gitlabGroup/2 service/Alpha service/q]",
			{Search: "ALP", Blueprint: "service"}:          "[service/Alpha service/q]",
			{Search: "a1"}:                                 "[service/a10]",
			{Search: "100%"}:                               "[tag/100%]",
			{Search: "_"}:                                  "[tag/100%]",
			{Search: "nothing"}:                            "[]",
			{Blueprint: "none"}:                            "[]",
			{Search: "t ", Blueprint: "service", Limit: 2}: "[service/A service/Alpha service/a-1 service/a10 service/a2 service/b service/zulu service/é]",
		} {
			if got := fmt.Sprint(pageKeys(t, br, q)); got != want {
				t.Errorf("%+v: %s, want %s", q, got, want)
			}
		}
		// A page's entities are whole.
		p, err := br.Page(ctx, catalog.PageQuery{Search: "ALPINE"})
		must(t, err)
		if len(p.Entities) != 1 || p.Next != nil || p.Entities[0].Title != "the ALPine one" || p.Entities[0].Properties["url"] != "http://x/q" {
			t.Fatalf("one hit: %+v", p)
		}
		// After, from a blueprint's last page, goes on after it.
		p, err = br.Page(ctx, catalog.PageQuery{After: catalog.Key{Blueprint: "service", Identifier: "é"}})
		must(t, err)
		if fmt.Sprint(keysOf(p.Entities)) != "[tag/100% tag/100x]" || p.Next != nil {
			t.Fatalf("after the last service: %v next %v", keysOf(p.Entities), p.Next)
		}
		counts, err := br.BlueprintCounts(ctx)
		must(t, err)
		if fmt.Sprint(counts) != "map[gitlabGroup:3 service:9 tag:2]" {
			t.Fatalf("counts: %v", counts)
		}
		// Limits: none asked is the default; too many is the cap.
		var many []*catalog.Entity
		for i := range catalog.MaxPageLimit + 5 {
			many = append(many, &catalog.Entity{Blueprint: "many", Identifier: fmt.Sprintf("m%04d", i)})
		}
		_, err = s.Upsert(ctx, run, "project", many)
		must(t, err)
		for limit, want := range map[int]int{0: catalog.DefaultPageLimit, 1 << 20: catalog.MaxPageLimit, 7: 7} {
			p, err := br.Page(ctx, catalog.PageQuery{Blueprint: "many", Limit: limit})
			must(t, err)
			if len(p.Entities) != want || p.Next == nil || *p.Next != p.Entities[want-1].Key() {
				t.Fatalf("limit %d: %d entities (next %v), want %d", limit, len(p.Entities), p.Next, want)
			}
		}
	}},
	{"RecentDeliveriesRecordOutcomesRedactedAndCapped", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		br := s
		lead(t, s)
		if rs, err := br.RecentDeliveries(ctx, 10); err != nil || len(rs) != 0 {
			t.Fatalf("before any delivery: %v %v", rs, err)
		}
		received := time.Now().Add(-2 * time.Second)
		for i, obj := range []string{"project:1", "project:2", "project:3"} {
			_, err := s.Enqueue(ctx, &catalog.Event{Delivery: fmt.Sprint("rd-", i), Type: "Push Hook", Object: obj,
				Body: []byte(`{"secret_body":"glpat-abcdefghij0123456789"}`), ReceivedAt: received})
			must(t, err)
		}
		evs, err := s.Claim(ctx, 3, 0, time.Minute)
		if err != nil || len(evs) != 3 {
			t.Fatalf("claim: %d %v", len(evs), err)
		}
		must(t, s.Complete(ctx, evs[0], catalog.Changes{Upserts: map[string][]*catalog.Entity{"project": {ent("p1", "P1")}}}))
		leak := `Get "https://oauth2:glpat-abcdefghij0123456789@gitlab.example.com/api/v4/projects/2": 502`
		if dead, err := s.Retry(ctx, evs[1], leak, time.Now(), 5); err != nil || dead {
			t.Fatalf("retry: %v %v", dead, err)
		}
		if dead, err := s.Retry(ctx, evs[2], "mapping: .x is not a string", time.Now(), 1); err != nil || !dead {
			t.Fatalf("retry into the dead letters: %v %v", dead, err)
		}
		rs, err := br.RecentDeliveries(ctx, 10)
		must(t, err)
		if len(rs) != 3 {
			t.Fatalf("%d records, want 3: %+v", len(rs), rs)
		}
		replica := s.Coordination().Replica()
		for i, want := range []struct{ delivery, object, outcome, err string }{
			{"rd-2", "project:3", catalog.OutcomeDead, "mapping: .x is not a string"},
			{"rd-1", "project:2", catalog.OutcomeRetrying, `Get "https://redacted@gitlab.example.com/api/v4/projects/2": 502`},
			{"rd-0", "project:1", catalog.OutcomeApplied, ""},
		} {
			r := rs[i]
			if r.Delivery != want.delivery || r.Object != want.object || r.Outcome != want.outcome || r.Error != want.err ||
				r.Type != "Push Hook" || r.Replica != replica || r.Latency < 2*time.Second || r.Latency > time.Minute ||
				r.At.Before(received) || r.At.After(time.Now().Add(time.Second)) {
				t.Fatalf("record %d: %+v, want %+v on %q", i, r, want, replica)
			}
		}
		for _, r := range rs {
			if strings.Contains(fmt.Sprintf("%+v", r), "glpat-abcdefghij") || strings.Contains(fmt.Sprintf("%+v", r), "secret_body") {
				t.Fatalf("a record holds a token or a body: %+v", r)
			}
		}
		// The dead letter's error is redacted the same way.
		retried := claimAfter(t, s, "rd-1")
		if dead, err := s.Retry(ctx, retried, leak, time.Now(), 1); err != nil || !dead {
			t.Fatalf("retry rd-1 into the dead letters: %v %v", dead, err)
		}
		dl, err := s.ListDeadLetters(ctx, 0)
		must(t, err)
		for _, d := range dl {
			if strings.Contains(d.LastError, "glpat-abcdefghij") {
				t.Fatalf("a dead letter's error holds a token: %q", d.LastError)
			}
		}
		if rs, _ := br.RecentDeliveries(ctx, 1); len(rs) != 1 || rs[0].Delivery != "rd-1" || rs[0].Outcome != catalog.OutcomeDead {
			t.Fatalf("the newest record: %+v", rs)
		}
		// The log keeps the latest DeliveryLogSize.
		ev := &catalog.Event{Delivery: "busy", Type: "Issue Hook", Object: "project:9", Body: []byte(`{}`), ReceivedAt: time.Now()}
		_, err = s.Enqueue(ctx, ev)
		must(t, err)
		for range catalog.DeliveryLogSize {
			got := claimAfter(t, s, "busy")
			_, err := s.Retry(ctx, got, "503", time.Now(), 1<<20)
			must(t, err)
		}
		rs, err = br.RecentDeliveries(ctx, 0)
		must(t, err)
		if len(rs) != catalog.DeliveryLogSize || rs[0].Delivery != "busy" || rs[len(rs)-1].Delivery != "busy" {
			t.Fatalf("after %d more outcomes: %d records (newest %+v)", catalog.DeliveryLogSize, len(rs), rs[0])
		}
		if rs, _ := open().RecentDeliveries(ctx, 5); len(rs) != 5 {
			t.Fatalf("reopened: %d records, want 5", len(rs))
		}
	}},
}

// claimAfter claims the due event of delivery (waiting out a retry time
// set to now).
func claimAfter(t *testing.T, b catalog.Backend, delivery string) *catalog.Event {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		evs, err := b.Claim(context.Background(), 10, 0, time.Minute)
		must(t, err)
		for _, ev := range evs {
			if ev.Delivery == delivery {
				return ev
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("event %s never due", delivery)
	return nil
}
