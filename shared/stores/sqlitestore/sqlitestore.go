// Package sqlitestore is the embedded catalog: a catalog.Store in one
// SQLite file, through a pure-Go driver (modernc.org/sqlite), so glsync
// needs no other software and no cgo.
//
// Like every store under shared/stores, it knows the domain types
// (shared/catalog) and no source: nothing of crawl, mapping or config.
// The factory (shared/stores) opens it as a configuration says.
package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/stores/internal/rowscan"
)

// FileName is the database file inside the data directory.
const FileName = "catalog.db"

// pendingPrefix marks rows written to the mirror but not yet confirmed by
// the remote sink.
const pendingPrefix = "pending:"

// Store is a catalog.Store backed by SQLite.
type Store struct {
	db *sql.DB
	// replica names this process in status and logs.
	replica string
}

var _ catalog.Store = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS runs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	started_at  TEXT NOT NULL,
	started_ns  INTEGER NOT NULL DEFAULT 0,
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
	version    INTEGER NOT NULL DEFAULT 0,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (blueprint, identifier)
);
CREATE INDEX IF NOT EXISTS entities_kind_run ON entities(kind, last_run);
CREATE TABLE IF NOT EXISTS tombstones (
	blueprint  TEXT NOT NULL,
	identifier TEXT NOT NULL,
	version    INTEGER NOT NULL,
	PRIMARY KEY (blueprint, identifier)
);
CREATE TABLE IF NOT EXISTS events (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery    TEXT NOT NULL,
	source      TEXT NOT NULL,
	scope       TEXT NOT NULL,
	type        TEXT NOT NULL,
	body        BLOB NOT NULL,
	received_ns INTEGER NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_ns     INTEGER NOT NULL DEFAULT 0,
	lease_ns    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS dead_events (
	id          INTEGER PRIMARY KEY,
	delivery    TEXT NOT NULL,
	source      TEXT NOT NULL,
	scope       TEXT NOT NULL,
	type        TEXT NOT NULL,
	body        BLOB NOT NULL,
	received_ns INTEGER NOT NULL,
	attempts    INTEGER NOT NULL,
	last_error  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
	delivery    TEXT PRIMARY KEY,
	received_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS examples (
	kind  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS token_mappings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hook_secrets (
	scope   TEXT PRIMARY KEY,
	hook_id INTEGER NOT NULL,
	url     TEXT NOT NULL,
	secret  TEXT NOT NULL
);
`

// migrations upgrade a catalog written by an earlier glsyncd, in order;
// PRAGMA user_version records how many have run. Each runs in one
// immediate transaction, so two processes opening an old file at once
// upgrade it once.
var migrations = []string{
	// 1: entities gained the project their object lives in.
	`ALTER TABLE entities ADD COLUMN project INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX IF NOT EXISTS entities_project ON entities(project) WHERE project != 0;`,
	// 2: per-object event order, applied-once accounting, settings and
	// resync requests shared by every process on the file.
	`ALTER TABLE events ADD COLUMN object TEXT NOT NULL DEFAULT '';
	CREATE INDEX IF NOT EXISTS events_object ON events(object, id);
	ALTER TABLE dead_events ADD COLUMN object TEXT NOT NULL DEFAULT '';
	ALTER TABLE deliveries ADD COLUMN applied INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value BLOB NOT NULL);
	CREATE TABLE IF NOT EXISTS resync_requests (id INTEGER PRIMARY KEY AUTOINCREMENT, why TEXT NOT NULL, requested_ns INTEGER NOT NULL);`,
	// 3: incremental resyncs' marks (marks.go).
	marksSchema,
	// 4: the console's provenance and delivery log (browse.go).
	browseSchema,
}

// Open opens (creating if needed) the catalog in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, &DirError{Dir: dir, Path: dir, Op: "creating", Err: err}
	}
	path := filepath.Join(dir, FileName)
	// Immediate transactions take the write lock when they begin, so a
	// writer in another process (glsyncd resync beside glsyncd run) waits
	// for it under the busy timeout instead of failing with SQLITE_BUSY
	// when a read inside a deferred transaction turns into a write.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(30000)&_pragma=synchronous(NORMAL)&_pragma=auto_vacuum(INCREMENTAL)&_pragma=journal_size_limit(" + strconv.Itoa(walLimit) + ")&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog: opening %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and this keeps
	// transactions from ever meeting SQLITE_BUSY inside the process.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		if cause := diagnose(dir); cause != nil {
			return nil, cause
		}
		return nil, fmt.Errorf("catalog: creating schema in %s: %w", path, err)
	}
	if err := migrate(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog: upgrading the schema of %s: %w", path, err)
	}
	if err := ensureIncrementalVacuum(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog: enabling incremental vacuum in %s: %w", path, err)
	}
	// The database holds hook secrets and API-managed tokens.
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(f, 0o600); err != nil && !os.IsNotExist(err) {
			db.Close()
			return nil, fmt.Errorf("catalog: %w", err)
		}
	}
	host, _ := os.Hostname()
	return &Store{db: db, replica: host}, nil
}

// migrate runs the migrations the file has not seen. A file from before
// versioning (user_version 0) may already have the project column.
func migrate(db *sql.DB) error {
	for {
		done, err := migrateOne(db)
		if err != nil || done {
			return err
		}
	}
}

func migrateOne(db *sql.DB) (bool, error) {
	tx, err := db.Begin()
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var v int
	if err := tx.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return false, err
	}
	if v >= len(migrations) {
		return true, nil
	}
	stmt := migrations[v]
	if v == 0 {
		if _, err := tx.Exec(`SELECT project FROM entities LIMIT 0`); err == nil {
			stmt = `CREATE INDEX IF NOT EXISTS entities_project ON entities(project) WHERE project != 0;`
		}
	}
	if _, err := tx.Exec(stmt); err != nil {
		return false, fmt.Errorf("migration %d: %w", v+1, err)
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// SchemaVersion is the number of migrations the file has run.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v)
	return v, err
}

// ProjectKeys lists the entities whose objects live in GitLab project id.
func (s *Store) ProjectKeys(ctx context.Context, id int64) ([]catalog.Key, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT blueprint, identifier FROM entities WHERE project = ? ORDER BY blueprint, identifier`, id)
	if err != nil {
		return nil, fmt.Errorf("catalog: entities of project %d: %w", id, err)
	}
	defer rows.Close()
	var out []catalog.Key
	for rows.Next() {
		var k catalog.Key
		if err := rows.Scan(&k.Blueprint, &k.Identifier); err != nil {
			return nil, fmt.Errorf("catalog: entities of project %d: %w", id, err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Owners returns the kind and project of the stored keys (catalog.Owners).
func (s *Store) Owners(ctx context.Context, keys []catalog.Key) (map[catalog.Key]catalog.Owner, error) {
	out := map[catalog.Key]catalog.Owner{}
	for _, k := range keys {
		var o catalog.Owner
		err := s.db.QueryRowContext(ctx, `SELECT kind, project FROM entities WHERE blueprint = ? AND identifier = ?`, k.Blueprint, k.Identifier).Scan(&o.Kind, &o.Project)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("catalog: owner of %s/%s: %w", k.Blueprint, k.Identifier, err)
		}
		out[k] = o
	}
	return out, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// BeginRun records a new resync.
func (s *Store) BeginRun(ctx context.Context) (catalog.RunID, error) {
	now := time.Now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO runs(started_at, started_ns) VALUES(?, ?)`, now.UTC().Format(time.RFC3339Nano), now.UnixNano())
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
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return catalog.UpsertStats{}, fmt.Errorf("catalog: upsert %s: %w", kind, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	st, err := upsertTx(ctx, tx, int64(run), kind, catalog.ChangedByResync(run), entities)
	if err != nil {
		return catalog.UpsertStats{}, err
	}
	if err := tx.Commit(); err != nil {
		return catalog.UpsertStats{}, fmt.Errorf("catalog: upsert %s: commit: %w", kind, err)
	}
	return st, nil
}

// upsertTx writes entities inside tx. run 0 (a webhook write) keeps an
// existing entity's last_run and gives a new one the latest run's id.
// An entity is not rewritten when the stored version is newer, and not
// recreated when a newer deletion (tombstone) exists.
// by is the ChangedBy recorded on the entities it changes.
func upsertTx(ctx context.Context, tx *sql.Tx, run int64, kind, by string, entities []*catalog.Entity) (catalog.UpsertStats, error) {
	st, _, err := upsertChangedTx(ctx, tx, run, kind, by, entities, false)
	return st, err
}

// upsertChangedTx is upsertTx that also returns the entities it created or
// updated (for a sink that forwards only changes).
// With pending, changed rows get a hash that matches nothing until
// Confirm: a remote write that never happened is retried next time.
// Provenance: source follows kind (the last writer's), while updated_at
// and changed_by move only when the stored entity changes.
func upsertChangedTx(ctx context.Context, tx *sql.Tx, run int64, kind, by string, entities []*catalog.Entity, pending bool) (catalog.UpsertStats, []*catalog.Entity, error) {
	var st catalog.UpsertStats
	var changed []*catalog.Entity
	fail := func(e *catalog.Entity, err error) (catalog.UpsertStats, []*catalog.Entity, error) {
		return st, nil, fmt.Errorf("catalog: upsert %s %s/%s: %w", kind, e.Blueprint, e.Identifier, err)
	}
	if run == 0 {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM runs`).Scan(&run); err != nil {
			return st, nil, fmt.Errorf("catalog: upsert %s: %w", kind, err)
		}
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, e := range entities {
		var tomb int64
		switch err := tx.QueryRowContext(ctx, `SELECT version FROM tombstones WHERE blueprint = ? AND identifier = ?`, e.Blueprint, e.Identifier).Scan(&tomb); {
		case err == sql.ErrNoRows:
		case err != nil:
			return fail(e, err)
		case tomb > e.Version:
			st.Unchanged++ // deleted after this copy was fetched: stay deleted
			continue
		default:
			if _, err := tx.ExecContext(ctx, `DELETE FROM tombstones WHERE blueprint = ? AND identifier = ?`, e.Blueprint, e.Identifier); err != nil {
				return fail(e, err)
			}
		}

		var old string
		var oldVersion int64
		err := tx.QueryRowContext(ctx, `SELECT hash, version FROM entities WHERE blueprint = ? AND identifier = ?`, e.Blueprint, e.Identifier).Scan(&old, &oldVersion)
		enc, encErr := catalog.Encode(e)
		if encErr != nil {
			return fail(e, encErr)
		}
		if err == nil && !e.Replace && old != enc.Hash {
			// Merged with the stored entity, as Port does (catalog.MergeVersions).
			prev := &catalog.Entity{Blueprint: e.Blueprint, Identifier: e.Identifier, Version: oldVersion}
			var props, rels []byte
			if err := tx.QueryRowContext(ctx, `SELECT title, team, icon, properties, relations FROM entities WHERE blueprint = ? AND identifier = ?`,
				e.Blueprint, e.Identifier).Scan(&prev.Title, &prev.Team, &prev.Icon, &props, &rels); err != nil {
				return fail(e, err)
			}
			if err := catalog.Decode(prev, props, rels); err != nil {
				return fail(e, err)
			}
			e = catalog.MergeVersions(prev, e)
			if enc, encErr = catalog.Encode(e); encErr != nil {
				return fail(e, encErr)
			}
		}
		stored := enc.Hash
		if pending {
			stored = pendingPrefix + enc.Hash
		}
		switch {
		case err == sql.ErrNoRows:
			st.Created++
		case err != nil:
			return fail(e, err)
		case old == enc.Hash || oldVersion > e.Version:
			// Same content, or a newer copy is stored and this write
			// replaces (a merged write carries the newer version): only
			// mark it seen.
			if _, err := tx.ExecContext(ctx, `UPDATE entities SET last_run = MAX(last_run, ?), kind = ?, version = MAX(version, ?), project = ?, source = ? WHERE blueprint = ? AND identifier = ?`,
				run, kind, e.Version, e.Project, e.Origin, e.Blueprint, e.Identifier); err != nil {
				return fail(e, err)
			}
			st.Unchanged++
			continue
		default:
			st.Updated++
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO entities(blueprint, identifier, kind, title, team, icon, properties, relations, hash, last_run, version, updated_at, project, source, changed_by)
			VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(blueprint, identifier) DO UPDATE SET kind=excluded.kind, title=excluded.title, team=excluded.team, icon=excluded.icon,
				properties=excluded.properties, relations=excluded.relations, hash=excluded.hash,
				last_run=MAX(entities.last_run, excluded.last_run), version=excluded.version, updated_at=excluded.updated_at, project=excluded.project,
				source=excluded.source, changed_by=excluded.changed_by`,
			e.Blueprint, e.Identifier, kind, e.Title, e.Team, e.Icon, string(enc.Properties), string(enc.Relations), stored, run, e.Version, now, e.Project, e.Origin, by); err != nil {
			return fail(e, err)
		}
		changed = append(changed, e)
	}
	return st, changed, nil
}

// DeleteStale deletes entities of kind that run did not see, except those
// a webhook wrote after the run started.
func (s *Store) DeleteStale(ctx context.Context, run catalog.RunID, kind string) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM entities WHERE kind = ? AND last_run < ?
		AND version < (SELECT started_ns FROM runs WHERE id = ?)`, kind, int64(run), int64(run))
	if err != nil {
		return 0, fmt.Errorf("catalog: delete stale %s: %w", kind, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// List returns entities ordered by blueprint and identifier.
func (s *Store) List(ctx context.Context, f catalog.Filter) ([]*catalog.Entity, error) {
	return rowscan.List(ctx, f, s.Each)
}

// Each calls fn with each entity, ordered by blueprint and identifier,
// as SQLite steps through the rows.
func (s *Store) Each(ctx context.Context, f catalog.Filter, fn func(*catalog.Entity) error) error {
	q := `SELECT ` + rowscan.EntityColumns + ` FROM entities`
	var args []any
	if f.Blueprint != "" {
		q += ` WHERE blueprint = ?`
		args = append(args, f.Blueprint)
	}
	q += ` ORDER BY blueprint, identifier`
	rows, err := s.db.QueryContext(ctx, q, args...)
	return rowscan.Each(rows, err, fn)
}
