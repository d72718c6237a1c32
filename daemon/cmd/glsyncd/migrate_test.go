package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore/pgtest"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// An upgrade to PostgreSQL keeps the catalog, the secrets and the queued
// and dead events; the next resync on PostgreSQL finds nothing to change.
func TestCatalogMigrateToPostgres(t *testing.T) {
	ctx := context.Background()
	sim := gitlabtest.New(gitlabtest.Options{Seed: 41})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 60, Seed: 41})
	ts := sim.Start(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\ntokenMapping:\n  %s: ['**']\n", ts.URL, org.RootTokens[0])), 0o600)
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"resync", "--config", cfg, "--data-dir", data}, &out, &errOut, os.Getenv); code != 0 {
		t.Fatalf("resync: %d %s", code, errOut.String())
	}
	// What a running daemon leaves behind: a queued event, a dead one, a
	// hook secret and a token mapping.
	src, err := sqlitestore.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = src.Enqueue(ctx, &catalog.Event{Delivery: "queued-1", Source: "group", Scope: "1000", Type: "Push Hook", Object: "project:1", Body: []byte(`{"object_kind":"push"}`), ReceivedAt: time.Now()})
	must(err)
	_, err = src.Enqueue(ctx, &catalog.Event{Delivery: "dead-1", Body: []byte(`{}`), ReceivedAt: time.Now()})
	must(err)
	evs, err := src.Claim(ctx, 2, 0, time.Minute)
	must(err)
	_, err = src.Retry(ctx, evs[1], "bad payload", time.Now(), 1)
	must(err)
	must(src.Coordination().ReleaseOrphanedLeases(ctx))
	must(src.PutHookSecret(ctx, catalog.HookSecret{Scope: "group:1000", HookID: 5, URL: "https://glsync.example.com/integration/hook/1000", Secret: "kept-secret"}))
	must(src.PutTokenMapping(ctx, "team-a", []byte(`{"token":"x"}`)))
	want, err := src.List(ctx, catalog.Filter{})
	must(err)
	src.Close()

	url := pgtest.URL(t)
	out.Reset()
	errOut.Reset()
	if code := run(ctx, []string{"catalog", "migrate", "--data-dir", data, "--to", url}, &out, &errOut, os.Getenv); code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), fmt.Sprintf("entities        %d", len(want))) {
		t.Fatalf("migrate output:\n%s", out.String())
	}
	dst, err := pgstore.Open(ctx, url, pgstore.Options{})
	must(err)
	defer dst.Close()
	got, err := dst.List(ctx, catalog.Filter{})
	must(err)
	if len(got) != len(want) || !reflect.DeepEqual(got, want) {
		t.Fatalf("entities differ: %d in PostgreSQL, %d in SQLite", len(got), len(want))
	}
	if d, _ := dst.Depth(ctx); d != 1 {
		t.Fatalf("queued events %d", d)
	}
	if n, _ := dst.DeadLetters(ctx); n != 1 {
		t.Fatalf("dead events %d", n)
	}
	if h, ok, _ := dst.HookSecret(ctx, "group:1000"); !ok || h.Secret != "kept-secret" || h.HookID != 5 {
		t.Fatalf("hook secret %+v %v", h, ok)
	}
	if names, _, _ := dst.TokenMappings(ctx); len(names) != 1 || names[0] != "team-a" {
		t.Fatalf("token mappings %v", names)
	}
	// The console's provenance and delivery log come along.
	_, p, ok, err := dst.Entity(ctx, want[0].Key())
	if err != nil || !ok || !strings.HasPrefix(p.ChangedBy, "resync ") || p.ChangedAt.IsZero() {
		t.Fatalf("provenance after migration: %+v %v %v", p, ok, err)
	}
	if rs, err := dst.RecentDeliveries(ctx, 5); err != nil || len(rs) != 1 || rs[0].Delivery != "dead-1" || rs[0].Outcome != catalog.OutcomeDead || rs[0].Error != "bad payload" {
		t.Fatalf("delivery log after migration: %+v %v", rs, err)
	}
	if dup, _ := dst.Enqueue(ctx, &catalog.Event{Delivery: "queued-1", Body: []byte("{}"), ReceivedAt: time.Now()}); !dup {
		t.Fatal("delivery ids were not carried over: GitLab's retry would be applied twice")
	}
	evs, err = dst.Claim(ctx, 5, 0, time.Minute)
	if err != nil || len(evs) != 1 || evs[0].Delivery != "queued-1" || evs[0].Object != "project:1" || string(evs[0].Body) != `{"object_kind":"push"}` {
		t.Fatalf("queued event after migration: %+v %v", evs, err)
	}
	// New events continue the numbering.
	next := &catalog.Event{Delivery: "after", Body: []byte("{}"), ReceivedAt: time.Now()}
	_, err = dst.Enqueue(ctx, next)
	must(err)
	if next.ID <= evs[0].ID {
		t.Fatalf("new event id %d after migrated %d", next.ID, evs[0].ID)
	}

	// The next resync on PostgreSQL changes nothing.
	out.Reset()
	errOut.Reset()
	env := func(k string) string {
		if k == "GLSYNC_DATABASE_URL" {
			return url
		}
		return os.Getenv(k)
	}
	if code := run(ctx, []string{"resync", "--config", cfg}, &out, &errOut, env); code != 0 {
		t.Fatalf("resync on PostgreSQL: %d %s", code, errOut.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 10 && f[0] != "kind" && (f[3] != "0" || f[4] != "0" || f[6] != "0") {
			t.Fatalf("the resync after migration changed something:\n%s", out.String())
		}
	}
	// A second migration into the same database is refused, whole.
	errOut.Reset()
	if code := run(ctx, []string{"catalog", "migrate", "--data-dir", data, "--to", url}, &out, &errOut, os.Getenv); code != 1 ||
		!strings.Contains(errOut.String(), "already holds a catalog") || strings.Contains(errOut.String(), url) {
		t.Fatalf("second migrate: %d %s", code, errOut.String())
	}
}
