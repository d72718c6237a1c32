package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	redactmsg "github.com/glsync/terraform-provider-glsync/shared/redact"
	"github.com/glsync/terraform-provider-glsync/shared/stores/internal/rowscan"
)

var (
	_ catalog.Backend = (*Store)(nil)
)

// Enqueue stores an event unless its delivery id was seen before. Two
// replicas given the same delivery at once: the second waits on the
// deliveries key and finds it taken.
func (s *Store) Enqueue(ctx context.Context, e *catalog.Event) (bool, error) {
	dup := false
	err := s.tx(ctx, "queue: enqueue", func(tx pgx.Tx) error {
		dup = false
		if e.Delivery != "" {
			tag, err := tx.Exec(ctx, `INSERT INTO deliveries(delivery, received_ns) VALUES($1, $2) ON CONFLICT DO NOTHING`, e.Delivery, e.ReceivedAt.UnixNano())
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				dup = true
				return nil
			}
		}
		return tx.QueryRow(ctx, `INSERT INTO events(delivery, source, scope, type, object, body, received_ns) VALUES($1,$2,$3,$4,$5,$6,$7) RETURNING id`,
			e.Delivery, e.Source, e.Scope, e.Type, e.Object, e.Body, e.ReceivedAt.UnixNano()).Scan(&e.ID)
	})
	return dup, err
}

// Claim leases up to n due events, oldest first, skipping rows another
// replica is claiming (FOR UPDATE SKIP LOCKED) and any event whose object
// has an older event still queued. An event leased by a replica that is
// gone (its presence lock is free) is due at once.
func (s *Store) Claim(ctx context.Context, n int, maxBytes int64, lease time.Duration) ([]*catalog.Event, error) {
	if err := s.sess.present(ctx); err != nil {
		return nil, fmt.Errorf("queue: claim: %w", err)
	}
	now := time.Now().UnixNano()
	if maxBytes <= 0 {
		maxBytes = math.MaxInt64
	}
	rows, err := s.pool.Query(ctx, `WITH live AS (
			SELECT objid::bigint AS instance FROM pg_locks
			WHERE locktype = 'advisory' AND classid = $4::bigint::oid AND objsubid = 2 AND granted),
		c AS (
			SELECT id, length(body) AS len FROM events e
			WHERE next_ns <= $1 AND (lease_ns <= $1 OR lease_owner NOT IN (SELECT instance FROM live))
			AND (object = '' OR NOT EXISTS (SELECT 1 FROM events p WHERE p.object = e.object AND p.id < e.id))
			ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED),
		k AS (
			SELECT id FROM (SELECT id, SUM(len) OVER (ORDER BY id) AS run, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM c) x
			WHERE rn = 1 OR run <= $6)
		UPDATE events SET lease_ns = $3, lease_owner = $5 FROM k WHERE events.id = k.id
		RETURNING events.id, delivery, source, scope, type, object, body, received_ns, attempts, lease_ns`,
		now, n, now+int64(lease), replicaClass, s.instance, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("queue: claim: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*catalog.Event, error) {
		e := &catalog.Event{}
		var rec int64
		err := r.Scan(&e.ID, &e.Delivery, &e.Source, &e.Scope, &e.Type, &e.Object, &e.Body, &rec, &e.Attempts, &e.Lease)
		e.ReceivedAt = time.Unix(0, rec)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: claim: %w", err)
	}
	// RETURNING does not keep the CTE's order.
	slices.SortFunc(out, func(a, b *catalog.Event) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Complete applies the event's changes, counts its delivery as applied
// and deletes it, in one transaction, only while the claim's lease holds.
func (s *Store) Complete(ctx context.Context, ev *catalog.Event, c catalog.Changes) error {
	return s.tx(ctx, fmt.Sprintf("queue: complete %d", ev.ID), func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM events WHERE id = $1 AND lease_ns = $2 AND lease_owner = $3`, ev.ID, ev.Lease, s.instance)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return catalog.ErrLeaseLost
		}
		if ev.Delivery != "" {
			if _, err := tx.Exec(ctx, `UPDATE deliveries SET applied = applied + 1 WHERE delivery = $1`, ev.Delivery); err != nil {
				return err
			}
		}
		if err := applyTx(ctx, tx, c, catalog.ChangedByEvent(ev)); err != nil {
			return err
		}
		return s.logDeliveryTx(ctx, tx, ev, catalog.OutcomeApplied, "")
	})
}

// applyTx writes an event's changes: upserts, then deletions unless the
// entity was re-created after the deletion was reported. by is the
// event's catalog.ChangedByEvent.
func applyTx(ctx context.Context, tx pgx.Tx, c catalog.Changes, by string) error {
	for kind, ents := range c.Upserts {
		if _, _, err := upsertTx(ctx, tx, 0, kind, by, ents, false); err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
	}
	if len(c.Deletes) == 0 {
		return nil
	}
	keys := make([]catalog.Key, len(c.Deletes))
	for i, d := range c.Deletes {
		keys[i] = d.Key
	}
	if err := lockKeys(ctx, tx, keys); err != nil {
		return err
	}
	for _, d := range c.Deletes {
		// Not when re-created after the deletion was reported.
		if _, err := tx.Exec(ctx, `DELETE FROM entities WHERE blueprint = $1 AND identifier = $2 AND version <= $3`, d.Blueprint, d.Identifier, d.Version); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tombstones(blueprint, identifier, version) VALUES($1,$2,$3)
			ON CONFLICT(blueprint, identifier) DO UPDATE SET version = GREATEST(tombstones.version, excluded.version)`, d.Blueprint, d.Identifier, d.Version); err != nil {
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
// transaction, only while the claim's lease holds.
func (s *Store) CompletePart(ctx context.Context, ev *catalog.Event, c catalog.Changes, rest []byte, reason string, at time.Time, maxAttempts int) (bool, error) {
	return s.reschedule(ctx, "complete part", ev, &c, rest, reason, at, maxAttempts)
}

// reschedule is Retry, and CompletePart when c is set: the event keeps
// its place in its object's order with body rest. The reason is stored
// redacted (it may quote a URL with credentials), in last_error and in
// the delivery log alike.
func (s *Store) reschedule(ctx context.Context, what string, ev *catalog.Event, c *catalog.Changes, rest []byte, reason string, at time.Time, maxAttempts int) (bool, error) {
	dead := false
	err := s.tx(ctx, fmt.Sprintf("queue: %s %d", what, ev.ID), func(tx pgx.Tx) error {
		var attempts int
		err := tx.QueryRow(ctx, `UPDATE events SET attempts = attempts + 1, next_ns = $1, lease_ns = 0, lease_owner = 0, last_error = $2
			WHERE id = $3 AND lease_ns = $4 AND lease_owner = $5 RETURNING attempts`, at.UnixNano(), redactmsg.Text(reason), ev.ID, ev.Lease, s.instance).Scan(&attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return catalog.ErrLeaseLost
		}
		if err != nil {
			return err
		}
		if c != nil {
			if _, err := tx.Exec(ctx, `UPDATE events SET body = $1 WHERE id = $2`, rest, ev.ID); err != nil {
				return err
			}
			if err := applyTx(ctx, tx, *c, catalog.ChangedByEvent(ev)); err != nil {
				return err
			}
		}
		dead = attempts >= maxAttempts
		outcome := catalog.OutcomeRetrying
		if dead {
			outcome = catalog.OutcomeDead
		}
		if err := s.logDeliveryTx(ctx, tx, ev, outcome, reason); err != nil {
			return err
		}
		if !dead {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO dead_events(id, delivery, source, scope, type, object, body, received_ns, attempts, last_error)
			SELECT id, delivery, source, scope, type, object, body, received_ns, attempts, last_error FROM events WHERE id = $1`, ev.ID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM events WHERE id = $1`, ev.ID)
		return err
	})
	return dead, err
}

// Depth counts queued events, whichever replica accepted them.
func (s *Store) Depth(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("queue: depth: %w", err)
	}
	return n, nil
}

// PruneDeliveries forgets delivery ids older than cutoff.
func (s *Store) PruneDeliveries(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM deliveries WHERE received_ns < $1`, cutoff.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("queue: prune deliveries: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Applied returns how many times the delivery's event was applied (0 if
// unknown or not yet): tests check every accepted delivery reads 1.
func (s *Store) Applied(ctx context.Context, delivery string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT applied FROM deliveries WHERE delivery = $1`, delivery).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// PutHookSecret stores (or replaces) the secret of a hook.
func (s *Store) PutHookSecret(ctx context.Context, h catalog.HookSecret) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO hook_secrets(scope, hook_id, url, secret) VALUES($1,$2,$3,$4)
		ON CONFLICT(scope) DO UPDATE SET hook_id = excluded.hook_id, url = excluded.url, secret = excluded.secret`,
		h.Scope, h.HookID, h.URL, h.Secret); err != nil {
		return fmt.Errorf("secrets: put %s: %w", h.Scope, err)
	}
	return nil
}

// HookSecret returns the secret stored for scope.
func (s *Store) HookSecret(ctx context.Context, scope string) (catalog.HookSecret, bool, error) {
	h := catalog.HookSecret{Scope: scope}
	err := s.pool.QueryRow(ctx, `SELECT hook_id, url, secret FROM hook_secrets WHERE scope = $1`, scope).Scan(&h.HookID, &h.URL, &h.Secret)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("secrets: get %s: %w", scope, err)
	}
	return h, true, nil
}

// HookScopes lists the scopes of the hooks glsync holds a record of.
func (s *Store) HookScopes(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT scope FROM hook_secrets ORDER BY scope COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("secrets: list: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("secrets: list: %w", err)
	}
	return out, nil
}

// DeleteHookSecret forgets a hook's secret.
func (s *Store) DeleteHookSecret(ctx context.Context, scope string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM hook_secrets WHERE scope = $1`, scope); err != nil {
		return fmt.Errorf("secrets: delete %s: %w", scope, err)
	}
	return nil
}

// PutTokenMapping stores a token mapping added through the admin API.
func (s *Store) PutTokenMapping(ctx context.Context, name string, value []byte) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO token_mappings(name, value) VALUES($1, $2)
		ON CONFLICT(name) DO UPDATE SET value = excluded.value`, name, string(value)); err != nil {
		return fmt.Errorf("settings: put token mapping %q: %w", name, err)
	}
	return nil
}

// DeleteTokenMapping removes a stored mapping; found is false if absent.
func (s *Store) DeleteTokenMapping(ctx context.Context, name string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM token_mappings WHERE name = $1`, name)
	if err != nil {
		return false, fmt.Errorf("settings: delete token mapping %q: %w", name, err)
	}
	return tag.RowsAffected() > 0, nil
}

// TokenMappings returns the stored mappings by name, ordered by name.
func (s *Store) TokenMappings(ctx context.Context) ([]string, [][]byte, error) {
	return rowscan.TokenMappings(s.pool.Query(ctx, `SELECT name, value FROM token_mappings ORDER BY name COLLATE "C"`))
}

// PutSetting stores a small named value.
func (s *Store) PutSetting(ctx context.Context, key string, value []byte) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO settings(key, value) VALUES($1, $2)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("settings: put %q: %w", key, err)
	}
	return nil
}

// Setting returns a value stored by PutSetting.
func (s *Store) Setting(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("settings: get %q: %w", key, err)
	}
	return v, true, nil
}

// OldestQueued is when the earliest received queued event was received
// (zero when none is queued).
func (s *Store) OldestQueued(ctx context.Context) (time.Time, error) {
	var ns *int64 // NULL on an empty queue
	if err := s.pool.QueryRow(ctx, `SELECT MIN(received_ns) FROM events`).Scan(&ns); err != nil {
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
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM dead_events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("queue: dead letters: %w", err)
	}
	return n, nil
}

// DebugQueue describes the queued events (id, object, attempts, when due,
// lease, owner, last error), for failing tests and operators.
func (s *Store) DebugQueue(ctx context.Context) string {
	rows, err := s.pool.Query(ctx, `SELECT id, object, attempts, next_ns, lease_ns, lease_owner, last_error FROM events ORDER BY id LIMIT 50`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	now := time.Now().UnixNano()
	for rows.Next() {
		var id, next, lease, owner int64
		var attempts int
		var obj, lastErr string
		if err := rows.Scan(&id, &obj, &attempts, &next, &lease, &owner, &lastErr); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "event %d object=%q attempts=%d due_in=%s lease_left=%s owner=%d last_error=%q\n",
			id, obj, attempts, time.Duration(next-now), time.Duration(lease-now), owner, lastErr)
	}
	return b.String()
}
