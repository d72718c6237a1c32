package sqlitestore

import (
	"context"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

func ent(id, title string) *catalog.Entity {
	return &catalog.Entity{Blueprint: "service", Identifier: id, Title: title, Properties: map[string]any{"url": "http://x/" + id}, Relations: map[string]any{"group": "1"}}
}

func TestUpsertStatsAndStaleDeletion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	run1, _ := s.BeginRun(ctx)
	st, err := s.Upsert(ctx, run1, "project", []*catalog.Entity{ent("a", "A"), ent("b", "B"), ent("c", "C")})
	if err != nil || st.Created != 3 {
		t.Fatalf("first upsert %+v %v", st, err)
	}
	if n, _ := s.DeleteStale(ctx, run1, "project"); n != 0 {
		t.Fatalf("deleted %d on first run", n)
	}
	run2, _ := s.BeginRun(ctx)
	st, err = s.Upsert(ctx, run2, "project", []*catalog.Entity{ent("a", "A"), ent("b", "B2")})
	if err != nil || st.Unchanged != 1 || st.Updated != 1 || st.Created != 0 {
		t.Fatalf("second upsert %+v %v", st, err)
	}
	// Another kind's entities are never touched by a project resync.
	if _, err := s.Upsert(ctx, run1, "group", []*catalog.Entity{{Blueprint: "gitlabGroup", Identifier: "1"}}); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteStale(ctx, run2, "project")
	if err != nil || n != 1 {
		t.Fatalf("DeleteStale = %d, %v; want 1 (c)", n, err)
	}
	s.Close()

	// Reopen: the catalog is durable.
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all, err := s.List(ctx, catalog.Filter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("list %d %v", len(all), err)
	}
	svc, _ := s.List(ctx, catalog.Filter{Blueprint: "service"})
	if len(svc) != 2 || svc[0].Identifier != "a" || svc[1].Title != "B2" || svc[0].Properties["url"] != "http://x/a" || svc[0].Relations["group"] != "1" {
		t.Fatalf("services %+v %+v", svc[0], svc[1])
	}
}
