package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore/pgtest"
)

// A transaction PostgreSQL aborted for a deadlock is tried again, up to
// txRetry's attempts; another error is not.
func TestTxRetriesConflictsOnly(t *testing.T) {
	s := openT(t, pgtest.URL(t), "tx")
	deadlock := &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
	tries := 0
	err := s.tx(context.Background(), "test", func(pgx.Tx) error { tries++; return deadlock })
	if !errors.Is(err, deadlock) || tries != txRetry.Attempts {
		t.Fatalf("err = %v after %d tries, want the deadlock after %d", err, tries, txRetry.Attempts)
	}
	tries = 0
	other := &pgconn.PgError{Code: "23505", Message: "unique violation"}
	if err := s.tx(context.Background(), "test", func(pgx.Tx) error { tries++; return other }); !errors.Is(err, other) || tries != 1 {
		t.Fatalf("err = %v after %d tries, want the violation after 1", err, tries)
	}
	tries = 0
	if err := s.tx(context.Background(), "test", func(pgx.Tx) error {
		if tries++; tries < 3 {
			return deadlock
		}
		return nil
	}); err != nil || tries != 3 {
		t.Fatalf("err = %v after %d tries, want nil after 3", err, tries)
	}
}

// Cancelling the context ends the wait between a transaction's attempts
// at once (it used to be a time.Sleep).
func TestTxRetryEndsWithTheContext(t *testing.T) {
	s := openT(t, pgtest.URL(t), "tx")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deadlock := &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
	tries := 0
	err := s.tx(ctx, "test", func(pgx.Tx) error {
		tries++
		cancel()
		return deadlock
	})
	if !errors.Is(err, deadlock) || tries != 1 {
		t.Fatalf("err = %v after %d tries, want the conflict after 1", err, tries)
	}
}

// Lead, waiting behind another replica's leadership, returns as soon as
// its context ends.
func TestLeadEndsWithTheContext(t *testing.T) {
	url := pgtest.URL(t)
	a, b := openT(t, url, "replica-a"), openT(t, url, "replica-b")
	_, release, err := a.Coordination().Lead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel) // during a wait
	start := time.Now()
	if _, _, err := b.Coordination().Lead(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("b's Lead: %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("b's Lead returned %v after it started, its context cancelled at 1.5 s", took)
	}
}
