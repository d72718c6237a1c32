package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// walLimit bounds the write-ahead log kept after a checkpoint.
const walLimit = 64 << 20

// ListDeadLetters lists dead letters, oldest first.
func (s *Store) ListDeadLetters(ctx context.Context, limit int) ([]catalog.DeadLetter, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, delivery, type, object, received_ns, attempts, last_error, length(body) FROM dead_events ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("queue: dead letters: %w", err)
	}
	defer rows.Close()
	var out []catalog.DeadLetter
	for rows.Next() {
		var d catalog.DeadLetter
		var rec int64
		if err := rows.Scan(&d.ID, &d.Delivery, &d.Type, &d.Object, &rec, &d.Attempts, &d.LastError, &d.Bytes); err != nil {
			return nil, fmt.Errorf("queue: dead letters: %w", err)
		}
		d.ReceivedAt = time.Unix(0, rec)
		out = append(out, d)
	}
	return out, rows.Err()
}

// idFilter is " WHERE id IN (...)" for ids, or "" for all.
func idFilter(ids []int64) (string, []any) {
	if len(ids) == 0 {
		return "", nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return " WHERE id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")", args
}

// RequeueDeadLetters moves dead letters back into the queue, due now.
func (s *Store) RequeueDeadLetters(ctx context.Context, ids []int64) (int, error) {
	where, args := idFilter(ids)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("queue: requeue: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	res, err := tx.ExecContext(ctx, `INSERT INTO events(id, delivery, source, scope, type, object, body, received_ns, last_error)
		SELECT id, delivery, source, scope, type, object, body, received_ns, last_error FROM dead_events`+where, args...)
	if err != nil {
		return 0, fmt.Errorf("queue: requeue: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `DELETE FROM dead_events`+where, args...); err != nil {
		return 0, fmt.Errorf("queue: requeue: %w", err)
	}
	return int(n), tx.Commit()
}

// DropDeadLetters deletes dead letters.
func (s *Store) DropDeadLetters(ctx context.Context, ids []int64) (int, error) {
	where, args := idFilter(ids)
	res, err := s.db.ExecContext(ctx, `DELETE FROM dead_events`+where, args...)
	if err != nil {
		return 0, fmt.Errorf("queue: drop dead letters: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Maintain prunes delivery ids and dead letters past their retention,
// then gives freed pages back to the file system (incremental vacuum) and
// truncates the write-ahead log, so the file shrinks after a backlog of
// large deliveries drains.
func (s *Store) Maintain(ctx context.Context, o catalog.Retention) (catalog.Maintenance, error) {
	var m catalog.Maintenance
	now := time.Now()
	if o.Deliveries > 0 {
		n, err := s.PruneDeliveries(ctx, now.Add(-o.Deliveries))
		if err != nil {
			return m, err
		}
		m.DeliveriesPruned = n
	}
	if o.DeadLetters > 0 {
		res, err := s.db.ExecContext(ctx, `DELETE FROM dead_events WHERE received_ns < ?`, now.Add(-o.DeadLetters).UnixNano())
		if err != nil {
			return m, fmt.Errorf("queue: prune dead letters: %w", err)
		}
		n, _ := res.RowsAffected()
		m.DeadLettersPruned = int(n)
	}
	before := s.fileBytes(ctx)
	if _, err := s.db.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
		return m, fmt.Errorf("catalog: vacuum: %w", err)
	}
	var busy, logged, done int
	if err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &done); err != nil {
		return m, fmt.Errorf("catalog: checkpoint: %w", err)
	}
	m.BytesReclaimed = before - s.fileBytes(ctx)
	return m, nil
}

// fileBytes is the database's size in pages times the page size.
func (s *Store) fileBytes(ctx context.Context) int64 {
	var pages, size int64
	_ = s.db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages)
	_ = s.db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&size)
	return pages * size
}

// ensureIncrementalVacuum switches a file created before it to
// incremental auto-vacuum (one full VACUUM, once), so Maintain can give
// space back.
func ensureIncrementalVacuum(db *sql.DB) error {
	var mode int
	if err := db.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return err
	}
	if mode == 2 {
		return nil
	}
	if _, err := db.Exec(`PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return err
	}
	_, err := db.Exec(`VACUUM`)
	return err
}
