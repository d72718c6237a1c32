package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore/pgtest"
)

func openT(t *testing.T, url, replica string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, Options{Replica: replica})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Replicas starting together on an empty database migrate it once.
func TestConcurrentStartMigratesOnce(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), url, Options{Replica: fmt.Sprint("r", i)})
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a replica failed to start: %v", err)
	}
	s := openT(t, url, "check")
	if v, _ := s.SchemaVersion(context.Background()); v != len(migrations) {
		t.Fatalf("schema version %d, want %d", v, len(migrations))
	}
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT COUNT(*) FROM glsync_schema`).Scan(&n); err != nil || n != len(migrations) {
		t.Fatalf("%d migration rows, %v", n, err)
	}
}

// The leader's connection dies: its lead context ends at once, its run
// deletes nothing, and another replica takes over within seconds.
func TestFailoverAndFencing(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a, b := openT(t, url, "replica-a"), openT(t, url, "replica-b")
	leadA, releaseA, err := a.Coordination().Lead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseA()
	if _, _, leader, ok, err := b.Coordination().TryLead(ctx); ok || err != nil || leader != "replica-a" {
		t.Fatalf("b TryLead: ok=%v leader=%q err=%v", ok, leader, err)
	}
	if names, _ := b.Coordination().Replicas(ctx); fmt.Sprint(names) != "[replica-a replica-b]" {
		// b registers on its first session use (TryLead above).
		t.Fatalf("replicas %v", names)
	}
	run, err := a.BeginRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &catalog.Entity{Blueprint: "service", Identifier: "old", Version: 1}
	if _, err := a.Upsert(ctx, run, "project", []*catalog.Entity{e}); err != nil {
		t.Fatal(err)
	}
	run2, _ := a.BeginRun(ctx)

	// A's session connection is killed (a network partition, a node
	// drain): the server drops its locks.
	bLeads := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		_, release, err := b.Coordination().Lead(ctx)
		if err == nil {
			bLeads <- time.Since(start)
			t.Cleanup(release)
		}
	}()
	pid := a.sess.leaderPID()
	if _, err := b.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	select {
	case <-leadA.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("A's lead context did not end after its connection died")
	}
	select {
	case d := <-bLeads:
		t.Logf("b took over %s after a's connection died", d.Round(time.Millisecond))
	case <-time.After(15 * time.Second):
		t.Fatal("b did not take over")
	}
	// A's interrupted run deletes nothing.
	if n, err := a.DeleteStale(ctx, run2, "project"); !errors.Is(err, catalog.ErrNotLeader) || n != 0 {
		t.Fatalf("A's DeleteStale after losing leadership: %d %v", n, err)
	}
	if _, _, err := a.StaleKeys(ctx, run2, "project"); !errors.Is(err, catalog.ErrNotLeader) {
		t.Fatalf("A's StaleKeys after losing leadership: %v", err)
	}
	if ok, _ := b.HasKey(ctx, e.Key()); !ok {
		t.Fatal("the entity was deleted")
	}
	if leader, _ := a.Coordination().Leader(ctx); leader != "replica-b" {
		t.Fatalf("leader %q", leader)
	}
	// B's own run deletes what it did not see.
	runB, _ := b.BeginRun(ctx)
	if n, err := b.DeleteStale(ctx, runB, "project"); err != nil || n != 1 {
		t.Fatalf("B's DeleteStale: %d %v", n, err)
	}
}

// A replica that dies holding claimed events: the others take them at
// once, without waiting for the lease to end.
func TestDeadReplicasEventsReturnAtOnce(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a := openT(t, url, "a")
	b := openT(t, url, "b")
	if _, err := a.Enqueue(ctx, &catalog.Event{Delivery: "x", Body: []byte("{}"), ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	held, err := a.Claim(ctx, 10, 0, time.Hour)
	if err != nil || len(held) != 1 {
		t.Fatalf("claim %v %v", held, err)
	}
	if got, _ := b.Claim(ctx, 10, 0, time.Hour); len(got) != 0 {
		t.Fatal("b claimed an event a holds")
	}
	a.Close() // its presence lock goes with its connection
	var got []*catalog.Event
	deadline := time.Now().Add(5 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		got, err = b.Claim(ctx, 10, 0, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != 1 {
		t.Fatal("the dead replica's event did not come back")
	}
	if err := b.Complete(ctx, got[0], catalog.Changes{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Applied(ctx, "x"); n != 1 {
		t.Fatalf("applied %d", n)
	}
}

// A connection string's password never shows in errors.
func TestPasswordNotInErrors(t *testing.T) {
	_, err := Open(context.Background(), "postgres://glsync:hunter2@127.0.0.1:1/glsync?connect_timeout=1", Options{})
	if err == nil {
		t.Fatal("connected to port 1")
	}
	if got := err.Error(); strings.Contains(got, "hunter2") {
		t.Fatalf("password in error: %s", got)
	}
	_, err = Open(context.Background(), "postgres://glsync:hunter2@[::1", Options{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("parse error: %v", err)
	}
}
