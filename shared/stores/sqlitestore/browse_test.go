package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// A catalog written by the glsyncd before the console (schema version 3)
// upgrades in place: its entities keep their data and the time they last
// changed, with no ChangedBy (unknown, not guessed), and the delivery log
// starts empty.
func TestUpgradesACatalogFromBeforeTheConsole(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for i, stmt := range append([]string{schema}, migrations[:3]...) {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("old schema, step %d: %v", i, err)
		}
	}
	if _, err := db.Exec(`PRAGMA user_version = 3;
		INSERT INTO entities(blueprint, identifier, kind, title, team, icon, properties, relations, hash, last_run, version, updated_at, project)
		VALUES('service','kept','project','Kept','','','{"url":"u"}','{}','h',1,1,'2026-01-02T03:04:05Z',42)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(dir)
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
	// The next resync that changes it records itself.
	run, _ := s.BeginRun(ctx)
	if _, err := s.Upsert(ctx, run, "project", []*catalog.Entity{{Blueprint: "service", Identifier: "kept", Title: "Kept 2", Version: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, p, _, _ := s.Entity(ctx, catalog.Key{Blueprint: "service", Identifier: "kept"}); p.ChangedBy != fmt.Sprint("resync ", run) {
		t.Fatalf("after a resync changed it: %+v", p)
	}
}
