package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// entityCases are the contract of the entity table: Port's merge,
// streaming, stale deletion, versions and tombstones, ownership, the
// mirror and the incremental marks.
var entityCases = []Case{
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
}
