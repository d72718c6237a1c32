package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// marksSchema is migration 3: the records of incremental resyncs (see
// catalog.Marks).
const marksSchema = `CREATE TABLE IF NOT EXISTS project_marks (
	kind        TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	project     INTEGER NOT NULL,
	read_ns     INTEGER NOT NULL,
	ref_hash    TEXT NOT NULL,
	run         INTEGER NOT NULL,
	seen_run    INTEGER NOT NULL,
	PRIMARY KEY (kind, fingerprint, project)
);
CREATE TABLE IF NOT EXISTS kind_passes (
	kind        TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	run         INTEGER NOT NULL,
	full        INTEGER NOT NULL,
	started_ns  INTEGER NOT NULL,
	PRIMARY KEY (kind, fingerprint, run)
);`

// marksChunk bounds the ids in one IN list (SQLite's variable limit is
// 32,766; pages are 100 projects anyway).
const marksChunk = 500

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// ProjectMarks returns the valid marks of kind for projects.
func (s *Store) ProjectMarks(ctx context.Context, kind, fingerprint string, projects []int64) (map[int64]catalog.ProjectMark, error) {
	out := map[int64]catalog.ProjectMark{}
	for len(projects) > 0 {
		chunk := projects[:min(marksChunk, len(projects))]
		projects = projects[len(chunk):]
		args := []any{kind, fingerprint}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := s.db.QueryContext(ctx, `SELECT m.project, m.read_ns, m.ref_hash FROM project_marks m
			JOIN kind_passes p ON p.kind = m.kind AND p.fingerprint = m.fingerprint AND p.run = m.run
			WHERE m.kind = ? AND m.fingerprint = ? AND m.project IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("catalog: marks of %s: %w", kind, err)
		}
		for rows.Next() {
			var m catalog.ProjectMark
			var ns int64
			if err := rows.Scan(&m.Project, &ns, &m.RefHash); err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog: marks of %s: %w", kind, err)
			}
			m.ReadAt = time.Unix(0, ns)
			out[m.Project] = m
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("catalog: marks of %s: %w", kind, err)
		}
	}
	return out, nil
}

// PutProjectMarks records projects read completely in run.
func (s *Store) PutProjectMarks(ctx context.Context, run catalog.RunID, kind, fingerprint string, marks []catalog.ProjectMark) error {
	return s.inTx(ctx, "catalog: marks of "+kind, func(tx *sql.Tx) error {
		for _, m := range marks {
			if _, err := tx.ExecContext(ctx, `INSERT INTO project_marks (kind, fingerprint, project, read_ns, ref_hash, run, seen_run)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (kind, fingerprint, project) DO UPDATE SET
					read_ns = CASE WHEN project_marks.run = excluded.run THEN MIN(project_marks.read_ns, excluded.read_ns) ELSE excluded.read_ns END,
					ref_hash = excluded.ref_hash, run = excluded.run, seen_run = excluded.run`,
				kind, fingerprint, m.Project, m.ReadAt.UnixNano(), m.RefHash, int64(run), int64(run)); err != nil {
				return err
			}
		}
		return nil
	})
}

// TouchProjects counts the entities of kind in projects as seen by run.
func (s *Store) TouchProjects(ctx context.Context, run catalog.RunID, kind string, projects []int64) error {
	return s.inTx(ctx, "catalog: touch "+kind, func(tx *sql.Tx) error {
		for len(projects) > 0 {
			chunk := projects[:min(marksChunk, len(projects))]
			projects = projects[len(chunk):]
			args := []any{int64(run), kind}
			for _, id := range chunk {
				args = append(args, id)
			}
			in := placeholders(len(chunk))
			if _, err := tx.ExecContext(ctx, `UPDATE entities SET last_run = MAX(last_run, ?) WHERE kind = ? AND project IN (`+in+`)`, args...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE project_marks SET seen_run = MAX(seen_run, ?) WHERE kind = ? AND project IN (`+in+`)`, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// CompleteKind makes run's marks of kind valid and drops the marks of
// projects run neither read nor skipped.
func (s *Store) CompleteKind(ctx context.Context, run catalog.RunID, kind, fingerprint string, full bool) error {
	return s.inTx(ctx, "catalog: complete "+kind, func(tx *sql.Tx) error {
		f := 0
		if full {
			f = 1
		}
		stmts := []struct {
			q    string
			args []any
		}{
			{`INSERT OR REPLACE INTO kind_passes (kind, fingerprint, run, full, started_ns)
				SELECT ?, ?, id, ?, started_ns FROM runs WHERE id = ?`, []any{kind, fingerprint, f, int64(run)}},
			{`DELETE FROM project_marks WHERE kind = ? AND (fingerprint != ? OR seen_run < ?)`, []any{kind, fingerprint, int64(run)}},
			// Passes no mark refers to are history, except the last full
			// one (LastFullPass) and this one.
			{`DELETE FROM kind_passes WHERE kind = ? AND (fingerprint != ? OR (run != ?
				AND run NOT IN (SELECT DISTINCT run FROM project_marks WHERE kind = ?)
				AND run != (SELECT COALESCE(MAX(run), 0) FROM kind_passes WHERE kind = ? AND fingerprint = ? AND full = 1)))`,
				[]any{kind, fingerprint, int64(run), kind, kind, fingerprint}},
		}
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// LastFullPass is when the last completed full pass of kind started.
func (s *Store) LastFullPass(ctx context.Context, kind, fingerprint string) (time.Time, bool, error) {
	var ns sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(started_ns) FROM kind_passes WHERE kind = ? AND fingerprint = ? AND full = 1`, kind, fingerprint).Scan(&ns)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("catalog: last full pass of %s: %w", kind, err)
	}
	if !ns.Valid {
		return time.Time{}, false, nil
	}
	return time.Unix(0, ns.Int64), true, nil
}

// inTx runs fn in one (immediate) transaction.
func (s *Store) inTx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if err := fn(tx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}
