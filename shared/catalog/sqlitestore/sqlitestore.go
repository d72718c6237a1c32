// Package sqlitestore is the embedded catalog: a catalog.Store in one
// SQLite file, through a pure-Go driver (modernc.org/sqlite), so glsync
// needs no other software and no cgo.
package sqlitestore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// FileName is the database file inside the data directory.
const FileName = "catalog.db"

// Store is a catalog.Store backed by SQLite.
type Store struct {
	db *sql.DB
}

var _ catalog.Store = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS runs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	started_at  TEXT NOT NULL,
	finished_at TEXT,
	ok          INTEGER
);
CREATE TABLE IF NOT EXISTS entities (
	blueprint  TEXT NOT NULL,
	identifier TEXT NOT NULL,
	kind       TEXT NOT NULL,
	title      TEXT NOT NULL,
	team       TEXT NOT NULL,
	icon       TEXT NOT NULL,
	properties TEXT NOT NULL,
	relations  TEXT NOT NULL,
	hash       TEXT NOT NULL,
	last_run   INTEGER NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (blueprint, identifier)
);
CREATE INDEX IF NOT EXISTS entities_kind_run ON entities(kind, last_run);
`

// Open opens (creating if needed) the catalog in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("catalog: creating data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog: opening %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and this keeps
	// transactions from ever meeting SQLITE_BUSY inside the process.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog: creating schema in %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// BeginRun records a new resync.
func (s *Store) BeginRun(ctx context.Context) (catalog.RunID, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO runs(started_at) VALUES(?)`, time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return 0, fmt.Errorf("catalog: begin run: %w", err)
	}
	id, err := res.LastInsertId()
	return catalog.RunID(id), err
}

// FinishRun records the end of a resync.
func (s *Store) FinishRun(ctx context.Context, run catalog.RunID, ok bool, finished time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE runs SET finished_at = ?, ok = ? WHERE id = ?`, finished.UTC().Format(time.RFC3339Nano), ok, int64(run))
	if err != nil {
		return fmt.Errorf("catalog: finish run %d: %w", run, err)
	}
	return nil
}

// Upsert writes a batch in one transaction: all or nothing.
func (s *Store) Upsert(ctx context.Context, run catalog.RunID, kind string, entities []*catalog.Entity) (catalog.UpsertStats, error) {
	var st catalog.UpsertStats
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("catalog: upsert %s: %w", kind, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	sel, err := tx.PrepareContext(ctx, `SELECT hash FROM entities WHERE blueprint = ? AND identifier = ?`)
	if err != nil {
		return st, fmt.Errorf("catalog: upsert %s: %w", kind, err)
	}
	defer sel.Close()
	touch, err := tx.PrepareContext(ctx, `UPDATE entities SET last_run = ?, kind = ? WHERE blueprint = ? AND identifier = ?`)
	if err != nil {
		return st, fmt.Errorf("catalog: upsert %s: %w", kind, err)
	}
	defer touch.Close()
	write, err := tx.PrepareContext(ctx, `INSERT INTO entities(blueprint, identifier, kind, title, team, icon, properties, relations, hash, last_run, updated_at)
		VALUES(?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(blueprint, identifier) DO UPDATE SET kind=excluded.kind, title=excluded.title, team=excluded.team, icon=excluded.icon,
			properties=excluded.properties, relations=excluded.relations, hash=excluded.hash, last_run=excluded.last_run, updated_at=excluded.updated_at`)
	if err != nil {
		return st, fmt.Errorf("catalog: upsert %s: %w", kind, err)
	}
	defer write.Close()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, e := range entities {
		props, err := json.Marshal(orEmpty(e.Properties))
		if err != nil {
			return st, fmt.Errorf("catalog: upsert %s %s/%s: properties: %w", kind, e.Blueprint, e.Identifier, err)
		}
		rels, err := json.Marshal(orEmpty(e.Relations))
		if err != nil {
			return st, fmt.Errorf("catalog: upsert %s %s/%s: relations: %w", kind, e.Blueprint, e.Identifier, err)
		}
		h := sha256.New()
		for _, part := range [][]byte{[]byte(e.Title), {0}, []byte(e.Team), {0}, []byte(e.Icon), {0}, props, {0}, rels} {
			h.Write(part)
		}
		hash := hex.EncodeToString(h.Sum(nil))
		var old string
		switch err := sel.QueryRowContext(ctx, e.Blueprint, e.Identifier).Scan(&old); {
		case err == sql.ErrNoRows:
			st.Created++
		case err != nil:
			return st, fmt.Errorf("catalog: upsert %s %s/%s: %w", kind, e.Blueprint, e.Identifier, err)
		case old == hash:
			if _, err := touch.ExecContext(ctx, int64(run), kind, e.Blueprint, e.Identifier); err != nil {
				return st, fmt.Errorf("catalog: upsert %s %s/%s: %w", kind, e.Blueprint, e.Identifier, err)
			}
			st.Unchanged++
			continue
		default:
			st.Updated++
		}
		if _, err := write.ExecContext(ctx, e.Blueprint, e.Identifier, kind, e.Title, e.Team, e.Icon, string(props), string(rels), hash, int64(run), now); err != nil {
			return st, fmt.Errorf("catalog: upsert %s %s/%s: %w", kind, e.Blueprint, e.Identifier, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return catalog.UpsertStats{}, fmt.Errorf("catalog: upsert %s: commit: %w", kind, err)
	}
	return st, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// DeleteStale deletes entities of kind that run did not see.
func (s *Store) DeleteStale(ctx context.Context, run catalog.RunID, kind string) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM entities WHERE kind = ? AND last_run < ?`, kind, int64(run))
	if err != nil {
		return 0, fmt.Errorf("catalog: delete stale %s: %w", kind, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// List returns entities ordered by blueprint and identifier.
func (s *Store) List(ctx context.Context, f catalog.Filter) ([]*catalog.Entity, error) {
	q := `SELECT blueprint, identifier, title, team, icon, properties, relations FROM entities`
	var args []any
	if f.Blueprint != "" {
		q += ` WHERE blueprint = ?`
		args = append(args, f.Blueprint)
	}
	q += ` ORDER BY blueprint, identifier`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: list: %w", err)
	}
	defer rows.Close()
	var out []*catalog.Entity
	for rows.Next() {
		e := &catalog.Entity{}
		var props, rels string
		if err := rows.Scan(&e.Blueprint, &e.Identifier, &e.Title, &e.Team, &e.Icon, &props, &rels); err != nil {
			return nil, fmt.Errorf("catalog: list: %w", err)
		}
		if err := json.Unmarshal([]byte(props), &e.Properties); err != nil {
			return nil, fmt.Errorf("catalog: list %s/%s: properties: %w", e.Blueprint, e.Identifier, err)
		}
		if err := json.Unmarshal([]byte(rels), &e.Relations); err != nil {
			return nil, fmt.Errorf("catalog: list %s/%s: relations: %w", e.Blueprint, e.Identifier, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
