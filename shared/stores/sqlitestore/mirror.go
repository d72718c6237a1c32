package sqlitestore

import (
	"context"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// The methods below let a remote sink (Port) use the store as its mirror:
// what was last written, at which version, seen by which run.

// UpsertPending writes entities to the mirror marked as pending and
// returns the ones created or updated: the sink forwards those, then calls
// Confirm. Pending rows count as changed in the next resync, so a crash or
// a refused write between the two is repaired by sending them again.
func (s *Store) UpsertPending(ctx context.Context, run catalog.RunID, kind string, entities []*catalog.Entity) (catalog.UpsertStats, []*catalog.Entity, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return catalog.UpsertStats{}, nil, fmt.Errorf("catalog: upsert %s: %w", kind, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	st, changed, err := upsertChangedTx(ctx, tx, int64(run), kind, catalog.ChangedByResync(run), entities, true)
	if err != nil {
		return st, nil, err
	}
	if err := tx.Commit(); err != nil {
		return st, nil, fmt.Errorf("catalog: upsert %s: commit: %w", kind, err)
	}
	return st, changed, nil
}

// Confirm marks entities as written to the remote sink.
func (s *Store) Confirm(ctx context.Context, keys []catalog.Key) error {
	for _, k := range keys {
		if _, err := s.db.ExecContext(ctx, `UPDATE entities SET hash = substr(hash, ?) WHERE blueprint = ? AND identifier = ? AND hash LIKE 'pending:%'`,
			len(pendingPrefix)+1, k.Blueprint, k.Identifier); err != nil {
			return fmt.Errorf("catalog: confirm %s/%s: %w", k.Blueprint, k.Identifier, err)
		}
	}
	return nil
}

// StaleKeys lists the entities of kind that DeleteStale would delete, and
// how many entities of kind there are in all.
func (s *Store) StaleKeys(ctx context.Context, run catalog.RunID, kind string) ([]catalog.Key, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM entities WHERE kind = ?`, kind).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("catalog: stale %s: %w", kind, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT blueprint, identifier FROM entities WHERE kind = ? AND last_run < ?
		AND version < (SELECT started_ns FROM runs WHERE id = ?) ORDER BY blueprint, identifier`, kind, int64(run), int64(run))
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: stale %s: %w", kind, err)
	}
	defer rows.Close()
	var keys []catalog.Key
	for rows.Next() {
		var k catalog.Key
		if err := rows.Scan(&k.Blueprint, &k.Identifier); err != nil {
			return nil, 0, err
		}
		keys = append(keys, k)
	}
	return keys, total, rows.Err()
}

// DeleteKeys removes entities from the mirror.
func (s *Store) DeleteKeys(ctx context.Context, keys []catalog.Key) error {
	for _, k := range keys {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM entities WHERE blueprint = ? AND identifier = ?`, k.Blueprint, k.Identifier); err != nil {
			return fmt.Errorf("catalog: delete %s/%s: %w", k.Blueprint, k.Identifier, err)
		}
	}
	return nil
}

// HasKey reports whether the mirror holds an entity.
func (s *Store) HasKey(ctx context.Context, k catalog.Key) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM entities WHERE blueprint = ? AND identifier = ?`, k.Blueprint, k.Identifier).Scan(&n)
	return n > 0, err
}

// CountEntities is the number of entities the catalog holds.
func (s *Store) CountEntities(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM entities`).Scan(&n)
	return n, err
}

// PutExamples keeps a few raw objects of a kind, for mapping tests.
func (s *Store) PutExamples(ctx context.Context, kind string, examples []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO examples(kind, value) VALUES(?, ?) ON CONFLICT(kind) DO UPDATE SET value = excluded.value`, kind, string(examples))
	if err != nil {
		return fmt.Errorf("catalog: examples %s: %w", kind, err)
	}
	return nil
}

// Examples returns the raw objects kept for a kind (JSON array), or nil.
func (s *Store) Examples(ctx context.Context, kind string) ([]byte, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM examples WHERE kind = ?`, kind).Scan(&v)
	if err != nil {
		return nil, nil //nolint:nilerr // none kept
	}
	return []byte(v), nil
}
