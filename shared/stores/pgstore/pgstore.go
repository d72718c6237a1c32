// Package pgstore keeps glsyncd's catalog, webhook queue, hook secrets and
// settings in PostgreSQL (through pgx), so several glsyncd replicas can
// share them: any replica accepts a delivery, workers on every replica
// claim events with FOR UPDATE SKIP LOCKED, and one replica, the holder of
// an advisory lock, runs resyncs and hook reconciliation.
//
// It implements the same catalog.Backend as the embedded SQLite store; the
// two share their contract tests (shared/stores/storetest). Like every
// store under shared/stores, it knows the domain types (shared/catalog)
// and no source: nothing of crawl, mapping or config. The factory
// (shared/stores) opens it as a configuration says.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/glsync/terraform-provider-glsync/shared/retry"
)

// Advisory lock keys (the two-int form). lockClass scopes glsync's locks;
// replicaClass holds one lock per running replica (its instance id), so
// the events a dead replica claimed are known at once.
const (
	lockClass    = 0x676c7379 // "glsy"
	replicaClass = 0x676c7372 // "glsr"
	keyClass     = 0x676c736b // "glsk": per-entity write locks
	lockMigrate  = 1
	lockLeader   = 2
)

// Options configure Open.
type Options struct {
	// Replica names this process in status, metrics and logs (default:
	// the host name, which is the pod name under Kubernetes).
	Replica string
	// MaxConns bounds the connection pool (default pgx's: 4 per CPU, at
	// least 4).
	MaxConns int32
}

// Store is a catalog.Backend in PostgreSQL.
type Store struct {
	pool     *pgxpool.Pool
	connCfg  *pgx.ConnConfig
	replica  string
	instance int64
	sess     *session
}

// Open connects to the database at url (a postgres:// URL or libpq
// key=value string; empty uses libpq's PG* environment variables) and
// brings its schema up to date.
func Open(ctx context.Context, url string, o Options) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("catalog: databaseUrl: %w", redact(err))
	}
	if o.MaxConns > 0 {
		pcfg.MaxConns = o.MaxConns
	}
	pcfg.ConnConfig.RuntimeParams["application_name"] = "glsyncd"
	if o.Replica == "" {
		o.Replica, _ = os.Hostname()
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("catalog: connecting to PostgreSQL: %w", redact(err))
	}
	s := &Store{pool: pool, connCfg: pcfg.ConnConfig, replica: o.Replica, instance: rand.Int64N(1<<31-2) + 1}
	s.sess = &session{s: s}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close ends the session (giving up leadership) and closes the pool.
func (s *Store) Close() error {
	s.sess.close()
	s.pool.Close()
	return nil
}

// Replica is the name this store's process goes by.
func (s *Store) Replica() string { return s.replica }

// redact keeps a password in a connection string out of errors.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("cannot parse the connection string (not shown: it may hold a password)")
	}
	return err
}

// migrations are applied in order, each once, under an advisory lock so
// replicas starting together do not race; glsync_schema records them.
var migrations = []string{
	// 1: the first schema (the SQLite store's, same names and meanings).
	`CREATE TABLE runs (
		id          BIGSERIAL PRIMARY KEY,
		started_at  TEXT NOT NULL,
		started_ns  BIGINT NOT NULL DEFAULT 0,
		finished_at TEXT,
		ok          INTEGER,
		leader_pid  INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE entities (
		blueprint  TEXT NOT NULL,
		identifier TEXT NOT NULL,
		kind       TEXT NOT NULL,
		title      TEXT NOT NULL,
		team       TEXT NOT NULL,
		icon       TEXT NOT NULL,
		properties TEXT NOT NULL,
		relations  TEXT NOT NULL,
		hash       TEXT NOT NULL,
		last_run   BIGINT NOT NULL,
		version    BIGINT NOT NULL DEFAULT 0,
		updated_at TEXT NOT NULL,
		project    BIGINT NOT NULL DEFAULT 0,
		PRIMARY KEY (blueprint, identifier)
	);
	CREATE INDEX entities_kind_run ON entities(kind, last_run);
	CREATE INDEX entities_project ON entities(project) WHERE project <> 0;
	CREATE TABLE tombstones (
		blueprint  TEXT NOT NULL,
		identifier TEXT NOT NULL,
		version    BIGINT NOT NULL,
		PRIMARY KEY (blueprint, identifier)
	);
	CREATE TABLE events (
		id          BIGSERIAL PRIMARY KEY,
		delivery    TEXT NOT NULL,
		source      TEXT NOT NULL,
		scope       TEXT NOT NULL,
		type        TEXT NOT NULL,
		object      TEXT NOT NULL DEFAULT '',
		body        BYTEA NOT NULL,
		received_ns BIGINT NOT NULL,
		attempts    INTEGER NOT NULL DEFAULT 0,
		next_ns     BIGINT NOT NULL DEFAULT 0,
		lease_ns    BIGINT NOT NULL DEFAULT 0,
		lease_owner BIGINT NOT NULL DEFAULT 0,
		last_error  TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX events_object ON events(object, id);
	CREATE TABLE dead_events (
		id          BIGINT PRIMARY KEY,
		delivery    TEXT NOT NULL,
		source      TEXT NOT NULL,
		scope       TEXT NOT NULL,
		type        TEXT NOT NULL,
		object      TEXT NOT NULL DEFAULT '',
		body        BYTEA NOT NULL,
		received_ns BIGINT NOT NULL,
		attempts    INTEGER NOT NULL,
		last_error  TEXT NOT NULL
	);
	CREATE TABLE deliveries (
		delivery    TEXT PRIMARY KEY,
		received_ns BIGINT NOT NULL,
		applied     INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE examples (kind TEXT PRIMARY KEY, value TEXT NOT NULL);
	CREATE TABLE token_mappings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
	CREATE TABLE hook_secrets (
		scope   TEXT PRIMARY KEY,
		hook_id BIGINT NOT NULL,
		url     TEXT NOT NULL,
		secret  TEXT NOT NULL
	);
	CREATE TABLE settings (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
	CREATE TABLE resync_requests (id BIGSERIAL PRIMARY KEY, why TEXT NOT NULL, requested_ns BIGINT NOT NULL);
	CREATE TABLE replicas (
		instance   BIGINT PRIMARY KEY,
		name       TEXT NOT NULL,
		pid        INTEGER NOT NULL,
		started_ns BIGINT NOT NULL
	);`,
	// 2: incremental resyncs' marks (marks.go).
	marksSchema,
	// 3: the console's provenance and delivery log (browse.go).
	browseSchema,
}

func (s *Store) migrate(ctx context.Context) error {
	return s.tx(ctx, "migrate", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockClass, lockMigrate); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS glsync_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var v int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM glsync_schema`).Scan(&v); err != nil {
			return err
		}
		if v > len(migrations) {
			return fmt.Errorf("the database's schema is version %d, newer than this glsyncd knows (%d): upgrade glsyncd", v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO glsync_schema(version) VALUES($1)`, i+1); err != nil {
				return err
			}
		}
		return nil
	})
}

// SchemaVersion is the number of migrations the database has run.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM glsync_schema`).Scan(&v)
	return v, err
}

// txRetry spaces the attempts of a transaction PostgreSQL aborted: 5 in
// all, 5 ms doubling, each with up to as much again at random, so the
// writers that met do not meet again.
var txRetry = retry.Policy{Base: 5 * time.Millisecond, Max: 40 * time.Millisecond, Jitter: 1, Attempts: 5}

// tx runs fn in a transaction, again (txRetry) when PostgreSQL aborted it
// for a deadlock or a serialization failure: writers of overlapping
// entities may meet, and the retry is what makes that safe. The wait ends
// with ctx.
func (s *Store) tx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	err := txRetry.Do(ctx, conflict, func() error { return pgx.BeginFunc(ctx, s.pool, fn) })
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// conflict reports a transaction PostgreSQL aborted for a deadlock
// (40P01) or a serialization failure (40001): trying it again may pass.
func conflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// Unavailable reports errors of a database that is unreachable, starting
// or shutting down (connection failures, SQLSTATE classes 08 and 57), as
// opposed to errors that waiting does not mend: a caller may wait for the
// database and try again.
func Unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57")
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

func nowRFC() string { return time.Now().UTC().Format(time.RFC3339Nano) }
