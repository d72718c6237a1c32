package pgstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore/pgtest"
)

// A database written by the glsyncd before the console (schema version
// 2) upgrades in place: its entities keep their data and the time they
// last changed, with no ChangedBy (unknown, not guessed), pages read
// through the new index, and the delivery log starts empty.
func TestUpgradesADatabaseFromBeforeTheConsole(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	old := `CREATE TABLE glsync_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
		INSERT INTO glsync_schema(version) VALUES (1), (2);`
	for i, stmt := range append([]string{old}, migrations[:2]...) {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("old schema, step %d: %v", i, err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO entities(blueprint, identifier, kind, title, team, icon, properties, relations, hash, last_run, version, updated_at, project)
		VALUES('service','kept','project','Kept','','','{"url":"u"}','{}','h',1,1,'2026-01-02T03:04:05Z',42)`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	s, err := Open(ctx, url, Options{Replica: "upgraded"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != len(migrations) {
		t.Fatalf("schema version %d, want %d", v, len(migrations))
	}
	e, p, ok, err := s.Entity(ctx, catalog.Key{Blueprint: "service", Identifier: "kept"})
	if err != nil || !ok || e.Properties["url"] != "u" || p.Kind != "project" || p.Project != 42 || p.ChangedBy != "" || p.Source != "" ||
		!p.ChangedAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("entity after upgrade: %+v %+v %v %v", e, p, ok, err)
	}
	if page, err := s.Page(ctx, catalog.PageQuery{Search: "KEP"}); err != nil || len(page.Entities) != 1 {
		t.Fatalf("search after upgrade: %+v %v", page, err)
	}
	if rs, err := s.RecentDeliveries(ctx, 10); err != nil || len(rs) != 0 {
		t.Fatalf("delivery log after upgrade: %v %v", rs, err)
	}
	run, _ := s.BeginRun(ctx)
	if _, err := s.Upsert(ctx, run, "project", []*catalog.Entity{{Blueprint: "service", Identifier: "kept", Title: "Kept 2", Version: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, p, _, _ := s.Entity(ctx, catalog.Key{Blueprint: "service", Identifier: "kept"}); p.ChangedBy != fmt.Sprint("resync ", run) {
		t.Fatalf("after a resync changed it: %+v", p)
	}
}

// A page is an index range, not a sort of the catalog: the planner uses
// entities_browse for a first page, a later page and a blueprint's page,
// with or without a search.
func TestPagesUseTheBrowseIndex(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.URL(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run, _ := s.BeginRun(ctx)
	var ents []*catalog.Entity
	for i := range 20_000 {
		ents = append(ents, &catalog.Entity{Blueprint: fmt.Sprint("bp", i%4), Identifier: fmt.Sprintf("e%05d", i), Title: fmt.Sprint("Title ", i)})
	}
	if _, err := s.Upsert(ctx, run, "project", ents); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE entities`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []catalog.PageQuery{
		{},
		{After: catalog.Key{Blueprint: "bp1", Identifier: "e00101"}},
		{Search: "9"},
		{Blueprint: "bp2", After: catalog.Key{Blueprint: "bp2", Identifier: "e00102"}, Search: "title 9"},
	} {
		sql, args, _ := pageQuery(q)
		rows, err := s.pool.Query(ctx, `EXPLAIN `+sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if plan := strings.Join(lines, "\n"); !strings.Contains(plan, "entities_browse") || strings.Contains(plan, "Sort") {
			t.Errorf("%+v: plan\n%s\nwant an index scan of entities_browse, no sort", q, plan)
		}
		if testing.Verbose() {
			t.Logf("%+v:\n%s", q, strings.Join(lines, "\n"))
		}
	}
}
