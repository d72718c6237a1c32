package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Source streams the rows of a table (the SQLite store is one).
type Source interface {
	Rows(ctx context.Context, table string, cols []string, fn func([]any) error) error
}

// importTables are the tables `glsyncd catalog migrate` copies, with the
// columns both stores have. Events keep their ids (and so their order)
// and lose their leases: the process that held them is gone.
var importTables = []struct {
	name string
	cols []string
	// binary columns arrive from SQLite as text or blob.
	binary map[string]bool
	// integer columns are narrowed to int32.
	int32s map[string]bool
}{
	{name: "runs", cols: []string{"id", "started_at", "started_ns", "finished_at", "ok"}, int32s: map[string]bool{"ok": true}},
	{name: "entities", cols: []string{"blueprint", "identifier", "kind", "title", "team", "icon", "properties", "relations", "hash", "last_run", "version", "updated_at", "project", "source", "changed_by"}},
	{name: "tombstones", cols: []string{"blueprint", "identifier", "version"}},
	{name: "events", cols: []string{"id", "delivery", "source", "scope", "type", "object", "body", "received_ns", "attempts", "next_ns", "last_error"},
		binary: map[string]bool{"body": true}, int32s: map[string]bool{"attempts": true}},
	{name: "dead_events", cols: []string{"id", "delivery", "source", "scope", "type", "object", "body", "received_ns", "attempts", "last_error"},
		binary: map[string]bool{"body": true}, int32s: map[string]bool{"attempts": true}},
	{name: "deliveries", cols: []string{"delivery", "received_ns", "applied"}, int32s: map[string]bool{"applied": true}},
	{name: "examples", cols: []string{"kind", "value"}},
	{name: "token_mappings", cols: []string{"name", "value"}},
	{name: "hook_secrets", cols: []string{"scope", "hook_id", "url", "secret"}},
	{name: "settings", cols: []string{"key", "value"}, binary: map[string]bool{"value": true}},
	// The console's recent deliveries, oldest first (rowid order), so the
	// new ids keep their order.
	{name: "delivery_log", cols: []string{"delivery", "type", "object", "outcome", "error", "latency_ns", "at_ns", "replica"}},
}

// Import copies everything src holds into this database, in one
// transaction: all or nothing. The database must hold no catalog yet.
// It returns the rows copied per table.
func (s *Store) Import(ctx context.Context, src Source) (map[string]int, error) {
	counts := map[string]int{}
	err := s.tx(ctx, "catalog: import", func(tx pgx.Tx) error {
		var used int
		if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM entities) + (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM runs)
			+ (SELECT COUNT(*) FROM hook_secrets)`).Scan(&used); err != nil {
			return err
		}
		if used > 0 {
			return fmt.Errorf("the PostgreSQL database already holds a catalog (%d rows of entities, events, runs and hook secrets): migrate into an empty database", used)
		}
		for _, t := range importTables {
			n, err := copyTable(ctx, tx, src, t.name, t.cols, t.binary, t.int32s)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			counts[t.name] = int(n)
		}
		// New runs and events continue the old numbering (dead events keep
		// the ids they had in the queue).
		_, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('runs', 'id'), GREATEST((SELECT MAX(id) FROM runs), 1)),
			setval(pg_get_serial_sequence('events', 'id'), GREATEST((SELECT MAX(id) FROM events), (SELECT MAX(id) FROM dead_events), 1))`)
		return err
	})
	return counts, err
}

// copyTable streams one table from src into tx with COPY, so a large
// queue is never held in memory whole.
func copyTable(ctx context.Context, tx pgx.Tx, src Source, table string, cols []string, binary, int32s map[string]bool) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []any, 64)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		errc <- src.Rows(ctx, table, cols, func(vals []any) error {
			for i, c := range cols {
				switch v := vals[i].(type) {
				case string:
					if binary[c] {
						vals[i] = []byte(v)
					}
				case int64:
					if int32s[c] {
						vals[i] = int32(v)
					}
				}
			}
			select {
			case ch <- vals:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if v, ok := <-ch; ok {
			return v, nil
		}
		return nil, nil
	}))
	if err != nil {
		return n, err // the deferred cancel stops the source
	}
	// The source closed the channel: it is done, maybe with an error
	// that cut the table short.
	if err := <-errc; err != nil {
		return n, err
	}
	return n, nil
}
