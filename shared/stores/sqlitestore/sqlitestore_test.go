package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

func ent(id, title string) *catalog.Entity {
	return &catalog.Entity{Blueprint: "service", Identifier: id, Title: title, Properties: map[string]any{"url": "http://x/" + id}, Relations: map[string]any{"group": "1"}}
}

// Two handles on one file (as glsyncd resync beside glsyncd run): their
// writers wait for each other instead of failing with SQLITE_BUSY.
func TestWritersOnOneFileWaitForEachOther(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w, s := range []*Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run, err := s.BeginRun(ctx)
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < 60; i++ {
				e := ent(fmt.Sprint(w, "-", i), "T")
				e.Version = time.Now().UnixNano()
				if _, err := s.Upsert(ctx, run, "project", []*catalog.Entity{e}); err != nil {
					errs <- err
				}
				if _, err := s.Enqueue(ctx, &catalog.Event{Delivery: fmt.Sprint(w, "/", i), Body: []byte("{}"), ReceivedAt: time.Now()}); err != nil {
					errs <- err
				}
				evs, err := s.Claim(ctx, 1, 0, time.Minute)
				if err != nil {
					errs <- err
				}
				for _, ev := range evs {
					if err := s.Complete(ctx, ev, catalog.Changes{}); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a writer failed instead of waiting: %v", err)
	}
	if n, _ := a.CountEntities(ctx); n != 240 {
		t.Fatalf("%d entities", n)
	}
}

// A catalog written before schema versioning (entities without the
// project column, user_version 0) is upgraded in place, keeping its data.
func TestUpgradesAnUnversionedCatalog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	old := `CREATE TABLE entities (blueprint TEXT NOT NULL, identifier TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL,
		team TEXT NOT NULL, icon TEXT NOT NULL, properties TEXT NOT NULL, relations TEXT NOT NULL, hash TEXT NOT NULL,
		last_run INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL, PRIMARY KEY (blueprint, identifier));
	INSERT INTO entities VALUES('service','kept','project','Kept','','','{}','{}','h',1,1,'2026-01-01T00:00:00Z');
	CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, delivery TEXT NOT NULL, source TEXT NOT NULL, scope TEXT NOT NULL,
		type TEXT NOT NULL, body BLOB NOT NULL, received_ns INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
		next_ns INTEGER NOT NULL DEFAULT 0, lease_ns INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');
	INSERT INTO events(delivery, source, scope, type, body, received_ns) VALUES('queued','group','1','Push Hook','{}',1);`
	if _, err := db.Exec(old); err != nil {
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
	var mode int
	if err := s.db.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode); err != nil || mode != 2 {
		t.Fatalf("an old file must be switched to incremental vacuum: %d %v", mode, err)
	}
	if l, _ := s.List(ctx, catalog.Filter{}); len(l) != 1 || l[0].Identifier != "kept" {
		t.Fatalf("entities after upgrade: %v", l)
	}
	evs, err := s.Claim(ctx, 5, 0, time.Minute)
	if err != nil || len(evs) != 1 || evs[0].Delivery != "queued" {
		t.Fatalf("queued event after upgrade: %v %v", evs, err)
	}
	// Opening again runs nothing twice.
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
}

// A backlog of large events drains and Maintain gives the space back:
// the file and its write-ahead log shrink.
func TestMaintainShrinksTheFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode int
	if err := s.db.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode); err != nil || mode != 2 {
		t.Fatalf("auto_vacuum %d %v", mode, err)
	}
	body := []byte(`{"pad":"` + strings.Repeat("x", 1<<20) + `"}`)
	for i := 0; i < 40; i++ {
		if _, err := s.Enqueue(ctx, &catalog.Event{Delivery: fmt.Sprint(i), Body: body, ReceivedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	for {
		evs, err := s.Claim(ctx, 8, 0, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			if err := s.Complete(ctx, ev, catalog.Changes{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	size := func() int64 {
		var n int64
		for _, f := range []string{FileName, FileName + "-wal"} {
			if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
				n += st.Size()
			}
		}
		return n
	}
	before := size()
	m, err := s.Maintain(ctx, catalog.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	after := size()
	t.Logf("file and WAL %d MiB → %d MiB (reclaimed %d MiB)", before>>20, after>>20, m.BytesReclaimed>>20)
	if after > 4<<20 || m.BytesReclaimed < 30<<20 {
		t.Fatalf("after the backlog drained: %d bytes on disk, %d reclaimed", after, m.BytesReclaimed)
	}
}
