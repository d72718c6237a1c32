package stores

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/retry"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// DatabaseWait bounds how long OpenRun waits at start-up for a PostgreSQL
// that does not answer.
const DatabaseWait = time.Minute

// databaseRetry is how often OpenRun tries an unreachable database again.
const databaseRetry = time.Second

// RunOptions tune OpenRun.
type RunOptions struct {
	// Log tells of secrets resealed and of each attempt on a database
	// that is not reachable yet (default slog.Default()).
	Log *slog.Logger
	// Wait bounds the wait for an unreachable database (default
	// DatabaseWait).
	Wait time.Duration
}

// OpenRun opens the backend of a long-running glsyncd (glsyncd run) and
// runs start, the caller's start-up work, on it.
//
//   - Locking: with the embedded catalog it first takes the data
//     directory's run lock (sqlitestore.LockRun): a second glsyncd run on
//     the same SQLite file would fight the first over the queue.
//   - Opening: the backend is opened as Open does, and secrets written
//     before sealing, or under the previous key of a rotation, are sealed
//     with the current key; then start runs. When start fails, the backend
//     is closed.
//   - Waiting: a replica that starts while PostgreSQL restarts waits for it
//     (as its peers reconnect) rather than exiting: opening and start are
//     tried again every second while the database is unreachable or
//     shutting down (pgstore.Unavailable), for up to opts.Wait from the
//     first try (shared/retry). Cancelling ctx ends the wait at once, with
//     the last error.
//
// release closes the backend and releases the run lock.
func OpenRun(ctx context.Context, cfg *config.Config, dataDir string, opts RunOptions, start func(catalog.Backend) error) (b *Sealed, release func() error, err error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Wait <= 0 {
		opts.Wait = DatabaseWait
	}
	unlock := func() {}
	if !cfg.UsesPostgres() {
		if unlock, err = sqlitestore.LockRun(dataDir); err != nil {
			return nil, nil, err
		}
	}
	try := func() error {
		b, err = prepare(ctx, cfg, dataDir, opts.Log, start)
		return err
	}
	if cfg.UsesPostgres() {
		err = waitUnavailable(ctx, opts.Wait, databaseRetry, opts.Log, try)
	} else {
		err = try()
	}
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return b, func() error {
		err := b.Close()
		unlock()
		return err
	}, nil
}

// prepare opens the backend, reseals its secrets and runs start on it; on
// an error the backend is closed.
func prepare(ctx context.Context, cfg *config.Config, dataDir string, log *slog.Logger, start func(catalog.Backend) error) (*Sealed, error) {
	b, err := Open(ctx, cfg, dataDir)
	if err != nil {
		return nil, err
	}
	if n, err := b.Reseal(ctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("catalog: sealing stored secrets: %w", err)
	} else if n > 0 {
		log.Info("stored secrets sealed with the current secret key", "count", n)
	}
	if err := start(b); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// waitUnavailable calls try, and again every interval while it fails
// because the database is unreachable (pgstore.Unavailable), starting no
// wait that would end more than wait after the first try, until ctx
// ends; it returns try's last error. Unlike a sleep, the wait between
// tries ends when ctx does.
func waitUnavailable(ctx context.Context, wait, every time.Duration, log *slog.Logger, try func() error) error {
	var last error
	return retry.Policy{Base: every, Max: every, Within: wait}.Do(ctx, pgstore.Unavailable, func() error {
		if last != nil {
			log.Warn("database not reachable yet; trying again", "error", last)
		}
		last = try()
		return last
	})
}
