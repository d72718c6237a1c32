package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// ListDeadLetters lists dead letters, oldest first.
func (s *Store) ListDeadLetters(ctx context.Context, limit int) ([]catalog.DeadLetter, error) {
	q := `SELECT id, delivery, type, object, received_ns, attempts, last_error, length(body) FROM dead_events ORDER BY id`
	args := []any{}
	if limit > 0 {
		q += ` LIMIT $1`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("queue: dead letters: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalog.DeadLetter, error) {
		var d catalog.DeadLetter
		var rec int64
		err := r.Scan(&d.ID, &d.Delivery, &d.Type, &d.Object, &rec, &d.Attempts, &d.LastError, &d.Bytes)
		d.ReceivedAt = time.Unix(0, rec)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: dead letters: %w", err)
	}
	return out, nil
}

// RequeueDeadLetters moves dead letters back into the queue, due now.
func (s *Store) RequeueDeadLetters(ctx context.Context, ids []int64) (int, error) {
	var n int64
	err := s.tx(ctx, "queue: requeue", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `WITH d AS (DELETE FROM dead_events WHERE COALESCE(cardinality($1::bigint[]), 0) = 0 OR id = ANY($1) RETURNING *)
			INSERT INTO events(id, delivery, source, scope, type, object, body, received_ns, last_error)
			SELECT id, delivery, source, scope, type, object, body, received_ns, last_error FROM d`, ids)
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// DropDeadLetters deletes dead letters.
func (s *Store) DropDeadLetters(ctx context.Context, ids []int64) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM dead_events WHERE COALESCE(cardinality($1::bigint[]), 0) = 0 OR id = ANY($1)`, ids)
	if err != nil {
		return 0, fmt.Errorf("queue: drop dead letters: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Maintain prunes delivery ids and dead letters past their retention;
// PostgreSQL's autovacuum gives the space back.
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
		tag, err := s.pool.Exec(ctx, `DELETE FROM dead_events WHERE received_ns < $1`, now.Add(-o.DeadLetters).UnixNano())
		if err != nil {
			return m, fmt.Errorf("queue: prune dead letters: %w", err)
		}
		m.DeadLettersPruned = int(tag.RowsAffected())
	}
	return m, nil
}
