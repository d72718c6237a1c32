package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/redact"
)

var (
	_ catalog.Queue   = (*Store)(nil)
	_ catalog.Secrets = (*Store)(nil)
)

// Enqueue stores an event unless its delivery id was seen before.
func (s *Store) Enqueue(ctx context.Context, e *catalog.Event) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("queue: enqueue: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if e.Delivery != "" {
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO deliveries(delivery, received_ns) VALUES(?, ?)`, e.Delivery, e.ReceivedAt.UnixNano())
		if err != nil {
			return false, fmt.Errorf("queue: enqueue: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return true, nil
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO events(delivery, source, scope, type, object, body, received_ns) VALUES(?,?,?,?,?,?,?)`,
		e.Delivery, e.Source, e.Scope, e.Type, e.Object, e.Body, e.ReceivedAt.UnixNano())
	if err != nil {
		return false, fmt.Errorf("queue: enqueue: %w", err)
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return false, fmt.Errorf("queue: enqueue: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("queue: enqueue: commit: %w", err)
	}
	return false, nil
}

// Claim leases up to n due events, oldest first, never one whose object
// has an older event still queued (see catalog.Queue).
func (s *Store) Claim(ctx context.Context, n int, maxBytes int64, lease time.Duration) ([]*catalog.Event, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("queue: claim: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	now := time.Now().UnixNano()
	if maxBytes <= 0 {
		maxBytes = math.MaxInt64
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, delivery, source, scope, type, object, body, received_ns, attempts FROM events WHERE id IN (
		SELECT id FROM (
			SELECT id, SUM(length(body)) OVER (ORDER BY id) AS run, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM (
				SELECT id, body FROM events e
				WHERE next_ns <= ? AND lease_ns <= ?
				AND (object = '' OR NOT EXISTS (SELECT 1 FROM events p WHERE p.object = e.object AND p.id < e.id))
				ORDER BY id LIMIT ?))
		WHERE rn = 1 OR run <= ?)
		ORDER BY id`, now, now, n, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("queue: claim: %w", err)
	}
	var out []*catalog.Event
	for rows.Next() {
		e := &catalog.Event{}
		var rec int64
		if err := rows.Scan(&e.ID, &e.Delivery, &e.Source, &e.Scope, &e.Type, &e.Object, &e.Body, &rec, &e.Attempts); err != nil {
			rows.Close()
			return nil, fmt.Errorf("queue: claim: %w", err)
		}
		e.ReceivedAt = time.Unix(0, rec)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queue: claim: %w", err)
	}
	until := now + int64(lease)
	for i, e := range out {
		// Distinct tokens, so a lease can be told from the one before it.
		e.Lease = until + int64(i)
		if _, err := tx.ExecContext(ctx, `UPDATE events SET lease_ns = ? WHERE id = ?`, e.Lease, e.ID); err != nil {
			return nil, fmt.Errorf("queue: claim: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("queue: claim: commit: %w", err)
	}
	return out, nil
}

// Complete applies the event's changes and deletes it in one transaction.
func (s *Store) Complete(ctx context.Context, ev *catalog.Event, c catalog.Changes) error {
	id := ev.ID
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("queue: complete %d: %w", id, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id = ? AND lease_ns = ?`, id, ev.Lease)
	if err != nil {
		return fmt.Errorf("queue: complete %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("queue: complete %d: %w", id, catalog.ErrLeaseLost)
	}
	if ev.Delivery != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET applied = applied + 1 WHERE delivery = ?`, ev.Delivery); err != nil {
			return fmt.Errorf("queue: complete %d: %w", id, err)
		}
	}
	if err := applyTx(ctx, tx, c, catalog.ChangedByEvent(ev)); err != nil {
		return fmt.Errorf("queue: complete %d: %w", id, err)
	}
	if err := s.logDeliveryTx(ctx, tx, ev, catalog.OutcomeApplied, ""); err != nil {
		return fmt.Errorf("queue: complete %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("queue: complete %d: commit: %w", id, err)
	}
	return nil
}

// applyTx writes an event's changes: upserts, then deletions unless the
// entity was re-created after the deletion was reported. by is the
// event's catalog.ChangedByEvent.
func applyTx(ctx context.Context, tx *sql.Tx, c catalog.Changes, by string) error {
	for kind, ents := range c.Upserts {
		if _, err := upsertTx(ctx, tx, 0, kind, by, ents); err != nil {
			return err
		}
	}
	for _, d := range c.Deletes {
		var v int64
		err := tx.QueryRowContext(ctx, `SELECT version FROM entities WHERE blueprint = ? AND identifier = ?`, d.Blueprint, d.Identifier).Scan(&v)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		if err == nil && v > d.Version {
			continue // re-created after the deletion was reported
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM entities WHERE blueprint = ? AND identifier = ?`, d.Blueprint, d.Identifier); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tombstones(blueprint, identifier, version) VALUES(?,?,?)
			ON CONFLICT(blueprint, identifier) DO UPDATE SET version = MAX(version, excluded.version)`, d.Blueprint, d.Identifier, d.Version); err != nil {
			return err
		}
	}
	return nil
}

// Retry schedules the event again, or moves it to dead_events after
// maxAttempts.
func (s *Store) Retry(ctx context.Context, ev *catalog.Event, reason string, at time.Time, maxAttempts int) (bool, error) {
	return s.reschedule(ctx, "retry", ev, nil, nil, reason, at, maxAttempts)
}

// CompletePart applies the changes of the parts of the event that
// succeeded and reschedules the rest (body rest) as Retry does, in one
// transaction.
func (s *Store) CompletePart(ctx context.Context, ev *catalog.Event, c catalog.Changes, rest []byte, reason string, at time.Time, maxAttempts int) (bool, error) {
	return s.reschedule(ctx, "complete part", ev, &c, rest, reason, at, maxAttempts)
}

// reschedule is Retry, and CompletePart when c is set: the event keeps
// its place in its object's order with body rest. The reason is stored
// redacted (it may quote a URL with credentials), in last_error and in
// the delivery log alike.
func (s *Store) reschedule(ctx context.Context, what string, ev *catalog.Event, c *catalog.Changes, rest []byte, reason string, at time.Time, maxAttempts int) (bool, error) {
	id := ev.ID
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("queue: %s %d: %w", what, id, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	res, err := tx.ExecContext(ctx, `UPDATE events SET attempts = attempts + 1, next_ns = ?, lease_ns = 0, last_error = ? WHERE id = ? AND lease_ns = ?`,
		at.UnixNano(), redact.Text(reason), id, ev.Lease)
	if err != nil {
		return false, fmt.Errorf("queue: %s %d: %w", what, id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, fmt.Errorf("queue: %s %d: %w", what, id, catalog.ErrLeaseLost)
	}
	if c != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE events SET body = ? WHERE id = ?`, rest, id); err != nil {
			return false, fmt.Errorf("queue: %s %d: %w", what, id, err)
		}
		if err := applyTx(ctx, tx, *c, catalog.ChangedByEvent(ev)); err != nil {
			return false, fmt.Errorf("queue: %s %d: %w", what, id, err)
		}
	}
	var attempts int
	if err := tx.QueryRowContext(ctx, `SELECT attempts FROM events WHERE id = ?`, id).Scan(&attempts); err != nil {
		return false, fmt.Errorf("queue: %s %d: %w", what, id, err)
	}
	dead := attempts >= maxAttempts
	outcome := catalog.OutcomeRetrying
	if dead {
		outcome = catalog.OutcomeDead
	}
	if err := s.logDeliveryTx(ctx, tx, ev, outcome, reason); err != nil {
		return false, fmt.Errorf("queue: %s %d: %w", what, id, err)
	}
	if dead {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dead_events(id, delivery, source, scope, type, object, body, received_ns, attempts, last_error)
			SELECT id, delivery, source, scope, type, object, body, received_ns, attempts, last_error FROM events WHERE id = ?`, id); err != nil {
			return false, fmt.Errorf("queue: %s %d: %w", what, id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id = ?`, id); err != nil {
			return false, fmt.Errorf("queue: %s %d: %w", what, id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("queue: %s %d: commit: %w", what, id, err)
	}
	return dead, nil
}

// Depth counts queued events.
func (s *Store) Depth(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("queue: depth: %w", err)
	}
	return n, nil
}

// PruneDeliveries forgets delivery ids older than cutoff; GitLab stops
// retrying a delivery long before.
func (s *Store) PruneDeliveries(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM deliveries WHERE received_ns < ?`, cutoff.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("queue: prune deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// PutHookSecret stores (or replaces) the secret of a hook.
func (s *Store) PutHookSecret(ctx context.Context, h catalog.HookSecret) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO hook_secrets(scope, hook_id, url, secret) VALUES(?,?,?,?)
		ON CONFLICT(scope) DO UPDATE SET hook_id = excluded.hook_id, url = excluded.url, secret = excluded.secret`,
		h.Scope, h.HookID, h.URL, h.Secret)
	if err != nil {
		return fmt.Errorf("secrets: put %s: %w", h.Scope, err)
	}
	return nil
}

// HookSecret returns the secret stored for scope.
func (s *Store) HookSecret(ctx context.Context, scope string) (catalog.HookSecret, bool, error) {
	h := catalog.HookSecret{Scope: scope}
	err := s.db.QueryRowContext(ctx, `SELECT hook_id, url, secret FROM hook_secrets WHERE scope = ?`, scope).Scan(&h.HookID, &h.URL, &h.Secret)
	if err == sql.ErrNoRows {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("secrets: get %s: %w", scope, err)
	}
	return h, true, nil
}

// HookScopes lists the scopes of the hooks glsync holds a record of.
func (s *Store) HookScopes(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT scope FROM hook_secrets ORDER BY scope`)
	if err != nil {
		return nil, fmt.Errorf("secrets: list: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sc string
		if err := rows.Scan(&sc); err != nil {
			return nil, fmt.Errorf("secrets: list: %w", err)
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// DeleteHookSecret forgets a hook's secret.
func (s *Store) DeleteHookSecret(ctx context.Context, scope string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM hook_secrets WHERE scope = ?`, scope); err != nil {
		return fmt.Errorf("secrets: delete %s: %w", scope, err)
	}
	return nil
}

// Applied returns how many times the delivery's event was applied.
func (s *Store) Applied(ctx context.Context, delivery string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT applied FROM deliveries WHERE delivery = ?`, delivery).Scan(&n)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return n, err
}

// OldestQueued is when the earliest received queued event was received
// (zero when none is queued).
func (s *Store) OldestQueued(ctx context.Context) (time.Time, error) {
	var ns *int64 // NULL on an empty queue
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(received_ns) FROM events`).Scan(&ns); err != nil {
		return time.Time{}, fmt.Errorf("queue: oldest event: %w", err)
	}
	if ns == nil {
		return time.Time{}, nil
	}
	return time.Unix(0, *ns), nil
}

// DeadLetters counts events moved to the dead-letter table.
func (s *Store) DeadLetters(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM dead_events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("queue: dead letters: %w", err)
	}
	return n, nil
}
