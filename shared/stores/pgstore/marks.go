package pgstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// marksSchema is migration 2: the records of incremental resyncs (see
// catalog.Marks; the SQLite store's tables, same names and meanings).
const marksSchema = `CREATE TABLE project_marks (
	kind        TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	project     BIGINT NOT NULL,
	read_ns     BIGINT NOT NULL,
	ref_hash    TEXT NOT NULL,
	run         BIGINT NOT NULL,
	seen_run    BIGINT NOT NULL,
	PRIMARY KEY (kind, fingerprint, project)
);
CREATE INDEX project_marks_project ON project_marks(kind, project);
CREATE TABLE kind_passes (
	kind        TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	run         BIGINT NOT NULL,
	full_pass   BOOLEAN NOT NULL,
	started_ns  BIGINT NOT NULL,
	PRIMARY KEY (kind, fingerprint, run)
);
CREATE INDEX entities_kind_project ON entities(kind, project) WHERE project <> 0;`

// ProjectMarks returns the valid marks of kind for projects.
func (s *Store) ProjectMarks(ctx context.Context, kind, fingerprint string, projects []int64) (map[int64]catalog.ProjectMark, error) {
	out := map[int64]catalog.ProjectMark{}
	rows, err := s.pool.Query(ctx, `SELECT m.project, m.read_ns, m.ref_hash FROM project_marks m
		JOIN kind_passes p ON p.kind = m.kind AND p.fingerprint = m.fingerprint AND p.run = m.run
		WHERE m.kind = $1 AND m.fingerprint = $2 AND m.project = ANY($3::bigint[])`, kind, fingerprint, projects)
	if err != nil {
		return nil, fmt.Errorf("catalog: marks of %s: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m catalog.ProjectMark
		var ns int64
		if err := rows.Scan(&m.Project, &ns, &m.RefHash); err != nil {
			return nil, fmt.Errorf("catalog: marks of %s: %w", kind, err)
		}
		m.ReadAt = time.Unix(0, ns)
		out[m.Project] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: marks of %s: %w", kind, err)
	}
	return out, nil
}

// PutProjectMarks records projects read completely in run.
func (s *Store) PutProjectMarks(ctx context.Context, run catalog.RunID, kind, fingerprint string, marks []catalog.ProjectMark) error {
	if len(marks) == 0 {
		return nil
	}
	ids, reads, hashes := make([]int64, len(marks)), make([]int64, len(marks)), make([]string, len(marks))
	for i, m := range marks {
		ids[i], reads[i], hashes[i] = m.Project, m.ReadAt.UnixNano(), m.RefHash
	}
	return s.tx(ctx, "catalog: marks of "+kind, func(tx pgx.Tx) error {
		// One statement per batch; a project twice in a batch keeps its
		// earliest read.
		_, err := tx.Exec(ctx, `INSERT INTO project_marks (kind, fingerprint, project, read_ns, ref_hash, run, seen_run)
			SELECT $1, $2, project, MIN(read_ns), MIN(ref_hash), $3, $3 FROM unnest($4::bigint[], $5::bigint[], $6::text[]) AS t(project, read_ns, ref_hash)
			GROUP BY project
			ON CONFLICT (kind, fingerprint, project) DO UPDATE SET
				read_ns = CASE WHEN project_marks.run = excluded.run THEN LEAST(project_marks.read_ns, excluded.read_ns) ELSE excluded.read_ns END,
				ref_hash = excluded.ref_hash, run = excluded.run, seen_run = excluded.run`,
			kind, fingerprint, int64(run), ids, reads, hashes)
		return err
	})
}

// TouchProjects counts the entities of kind in projects as seen by run;
// only while run's replica leads.
func (s *Store) TouchProjects(ctx context.Context, run catalog.RunID, kind string, projects []int64) error {
	if len(projects) == 0 {
		return nil
	}
	return s.tx(ctx, "catalog: touch "+kind, func(tx pgx.Tx) error {
		if err := fenced(ctx, tx, run); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE entities SET last_run = GREATEST(last_run, $1) WHERE kind = $2 AND project = ANY($3::bigint[])`, int64(run), kind, projects); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE project_marks SET seen_run = GREATEST(seen_run, $1) WHERE kind = $2 AND project = ANY($3::bigint[])`, int64(run), kind, projects)
		return err
	})
}

// CompleteKind makes run's marks of kind valid and drops the marks of
// projects run neither read nor skipped; only while run's replica leads.
func (s *Store) CompleteKind(ctx context.Context, run catalog.RunID, kind, fingerprint string, full bool) error {
	return s.tx(ctx, "catalog: complete "+kind, func(tx pgx.Tx) error {
		if err := fenced(ctx, tx, run); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kind_passes (kind, fingerprint, run, full_pass, started_ns)
			SELECT $1, $2, id, $3, started_ns FROM runs WHERE id = $4
			ON CONFLICT (kind, fingerprint, run) DO UPDATE SET full_pass = excluded.full_pass`, kind, fingerprint, full, int64(run)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM project_marks WHERE kind = $1 AND (fingerprint <> $2 OR seen_run < $3)`, kind, fingerprint, int64(run)); err != nil {
			return err
		}
		// Passes no mark refers to are history, except the last full one
		// (LastFullPass) and this one.
		_, err := tx.Exec(ctx, `DELETE FROM kind_passes WHERE kind = $1 AND (fingerprint <> $2 OR (run <> $3
			AND run NOT IN (SELECT DISTINCT run FROM project_marks WHERE kind = $1)
			AND run <> (SELECT COALESCE(MAX(run), 0) FROM kind_passes WHERE kind = $1 AND fingerprint = $2 AND full_pass)))`,
			kind, fingerprint, int64(run))
		return err
	})
}

// LastFullPass is when the last completed full pass of kind started.
func (s *Store) LastFullPass(ctx context.Context, kind, fingerprint string) (time.Time, bool, error) {
	var ns sql.NullInt64
	err := s.pool.QueryRow(ctx, `SELECT MAX(started_ns) FROM kind_passes WHERE kind = $1 AND fingerprint = $2 AND full_pass`, kind, fingerprint).Scan(&ns)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("catalog: last full pass of %s: %w", kind, err)
	}
	if !ns.Valid {
		return time.Time{}, false, nil
	}
	return time.Unix(0, ns.Int64), true, nil
}
