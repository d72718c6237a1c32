package stores

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// unreachable is what pgx returns while PostgreSQL does not answer: a
// net.Error, which pgstore.Unavailable takes for a database to wait for.
var unreachable = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}

func TestWaitUnavailableEndsWhenTheContextDoes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	tries := 0
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	// An hour between tries: only the context can end this wait.
	err := waitUnavailable(ctx, time.Hour, time.Hour, slog.New(slog.DiscardHandler), func() error {
		tries++
		return unreachable
	})
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the wait took %v after its context was cancelled", took)
	}
	if !errors.Is(err, unreachable) {
		t.Fatalf("err = %v, want the last attempt's error", err)
	}
	if tries != 1 {
		t.Fatalf("%d tries, want 1", tries)
	}
}

func TestWaitUnavailableTriesAgainUntilTheDatabaseAnswers(t *testing.T) {
	tries := 0
	err := waitUnavailable(context.Background(), time.Hour, time.Millisecond, slog.New(slog.DiscardHandler), func() error {
		if tries++; tries < 3 {
			return unreachable
		}
		return nil
	})
	if err != nil || tries != 3 {
		t.Fatalf("err = %v after %d tries, want nil after 3", err, tries)
	}
}

func TestWaitUnavailableStops(t *testing.T) {
	other := errors.New("password authentication failed")
	for name, c := range map[string]struct {
		wait time.Duration
		err  error
	}{
		"on another error":         {time.Hour, other},
		"once the wait has passed": {time.Nanosecond, unreachable},
	} {
		t.Run(name, func(t *testing.T) {
			tries := 0
			err := waitUnavailable(context.Background(), c.wait, time.Millisecond, slog.New(slog.DiscardHandler), func() error {
				tries++
				time.Sleep(time.Millisecond)
				return c.err
			})
			if !errors.Is(err, c.err) || tries != 1 {
				t.Fatalf("err = %v after %d tries, want %v after 1", err, tries, c.err)
			}
		})
	}
}

func TestOpenRunStopsWaitingForPostgreSQLWhenTheContextEnds(t *testing.T) {
	// Port 1 on loopback refuses connections: a database that is down.
	cfg := &config.Config{Catalog: "postgres", DatabaseURL: "postgres://glsync@127.0.0.1:1/glsync?connect_timeout=2"}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, _, err := OpenRun(ctx, cfg, t.TempDir(), RunOptions{Log: slog.New(slog.DiscardHandler)}, func(catalog.Backend) error {
		t.Error("start ran without a database")
		return nil
	})
	if err == nil {
		t.Fatal("OpenRun opened a database that does not answer")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("OpenRun returned %v after its context was cancelled (the wait is %v)", took, DatabaseWait)
	}
}

func TestOpenRunLocksTheDataDirectory(t *testing.T) {
	dir, cfg := t.TempDir(), &config.Config{}
	log := slog.New(slog.DiscardHandler)
	started := 0
	start := func(catalog.Backend) error { started++; return nil }
	_, release, err := OpenRun(context.Background(), cfg, dir, RunOptions{Log: log}, start)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenRun(context.Background(), cfg, dir, RunOptions{Log: log}, start); !errors.Is(err, sqlitestore.ErrRunning) {
		t.Fatalf("second OpenRun: err = %v, want sqlitestore.ErrRunning", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	_, release, err = OpenRun(context.Background(), cfg, dir, RunOptions{Log: log}, start)
	if err != nil {
		t.Fatalf("OpenRun after release: %v", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if started != 2 {
		t.Fatalf("start ran %d times, want 2", started)
	}
}

func TestOpenRunClosesAndUnlocksWhenStartFails(t *testing.T) {
	dir, cfg := t.TempDir(), &config.Config{}
	log := slog.New(slog.DiscardHandler)
	failed := errors.New("mapping does not load")
	if _, _, err := OpenRun(context.Background(), cfg, dir, RunOptions{Log: log}, func(catalog.Backend) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("err = %v, want start's", err)
	}
	_, release, err := OpenRun(context.Background(), cfg, dir, RunOptions{Log: log}, func(catalog.Backend) error { return nil })
	if err != nil {
		t.Fatalf("OpenRun after a failed start: %v (the lock was kept)", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
}
