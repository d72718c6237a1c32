package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// coordination is the embedded store's catalog.Coordination: one glsyncd
// run per file (the data directory's run lock sees to that), so it always
// leads. A glsyncd resync beside it shares the file; SQLite serialises
// their writes.
type coordination struct {
	s *Store
}

var _ catalog.Backend = (*Store)(nil)

// Coordination returns the store's coordination.
func (s *Store) Coordination() catalog.Coordination { return coordination{s} }

func (c coordination) Replica() string { return c.s.replica }

func (c coordination) Lead(ctx context.Context) (context.Context, func(), error) {
	lead, cancel := context.WithCancel(ctx)
	return lead, cancel, ctx.Err()
}

func (c coordination) TryLead(ctx context.Context) (context.Context, func(), string, bool, error) {
	lead, cancel := context.WithCancel(ctx)
	return lead, cancel, c.s.replica, true, ctx.Err()
}

func (c coordination) Leader(context.Context) (string, error) { return c.s.replica, nil }

func (c coordination) Replicas(context.Context) ([]string, error) {
	return []string{c.s.replica}, nil
}

func (c coordination) RequestResync(ctx context.Context, why string) (bool, error) {
	res, err := c.s.db.ExecContext(ctx, `INSERT INTO resync_requests(why, requested_ns)
		SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM resync_requests)`, why, time.Now().UnixNano())
	if err != nil {
		return false, fmt.Errorf("resync request: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (c coordination) TakeResyncRequest(ctx context.Context) (string, bool, error) {
	tx, err := c.s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", false, fmt.Errorf("resync request: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var why string
	if err := tx.QueryRowContext(ctx, `SELECT why FROM resync_requests ORDER BY id LIMIT 1`).Scan(&why); err != nil {
		return "", false, nil //nolint:nilerr // none waiting
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM resync_requests`); err != nil {
		return "", false, fmt.Errorf("resync request: %w", err)
	}
	return why, true, tx.Commit()
}

// ReleaseOrphanedLeases makes every queued event due now: it is called by
// glsyncd run at start-up, and the process that held the leases is gone.
func (c coordination) ReleaseOrphanedLeases(ctx context.Context) error {
	if _, err := c.s.db.ExecContext(ctx, `UPDATE events SET lease_ns = 0`); err != nil {
		return fmt.Errorf("queue: release leases: %w", err)
	}
	return nil
}

// SetReplica names this process in status and logs.
func (s *Store) SetReplica(name string) {
	if name != "" {
		s.replica = name
	}
}
