package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/stores/internal/rowscan"
)

// pendingPrefix marks rows written to the mirror but not yet confirmed by
// the remote sink (as in the SQLite store).
const pendingPrefix = "pending:"

// BeginRun records a new resync, with the backend pid of the connection
// that holds leadership: DeleteStale deletes only while that connection
// still holds it.
func (s *Store) BeginRun(ctx context.Context) (catalog.RunID, error) {
	now := time.Now()
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO runs(started_at, started_ns, leader_pid) VALUES($1, $2, $3) RETURNING id`,
		now.UTC().Format(time.RFC3339Nano), now.UnixNano(), s.sess.leaderPID()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("catalog: begin run: %w", err)
	}
	return catalog.RunID(id), nil
}

// FinishRun records the end of a resync.
func (s *Store) FinishRun(ctx context.Context, run catalog.RunID, ok bool, finished time.Time) error {
	okInt := 0
	if ok {
		okInt = 1
	}
	if _, err := s.pool.Exec(ctx, `UPDATE runs SET finished_at = $1, ok = $2 WHERE id = $3`, finished.UTC().Format(time.RFC3339Nano), okInt, int64(run)); err != nil {
		return fmt.Errorf("catalog: finish run %d: %w", run, err)
	}
	return nil
}

// Upsert writes a batch in one transaction: all or nothing.
func (s *Store) Upsert(ctx context.Context, run catalog.RunID, kind string, entities []*catalog.Entity) (catalog.UpsertStats, error) {
	var st catalog.UpsertStats
	err := s.tx(ctx, "catalog: upsert "+kind, func(tx pgx.Tx) error {
		var err error
		st, _, err = upsertTx(ctx, tx, int64(run), kind, catalog.ChangedByResync(run), entities, false)
		return err
	})
	return st, err
}

// UpsertPending is Upsert for a remote sink's mirror: changed rows stay
// pending until Confirm.
func (s *Store) UpsertPending(ctx context.Context, run catalog.RunID, kind string, entities []*catalog.Entity) (catalog.UpsertStats, []*catalog.Entity, error) {
	var st catalog.UpsertStats
	var changed []*catalog.Entity
	err := s.tx(ctx, "catalog: upsert "+kind, func(tx pgx.Tx) error {
		var err error
		st, changed, err = upsertTx(ctx, tx, int64(run), kind, catalog.ChangedByResync(run), entities, true)
		return err
	})
	return st, changed, err
}

type row struct {
	e           *catalog.Entity
	props, rels string
	hash        string
}

// lockKeys takes a transaction-scoped advisory lock per entity key, in
// one order for every writer, so a webhook and a resync writing the same
// entity serialise (the version and tombstone checks read what the other
// committed) instead of overwriting each other.
func lockKeys(ctx context.Context, tx pgx.Tx, keys []catalog.Key) error {
	bs, is := split(keys)
	_, err := tx.Exec(ctx, `SELECT count(pg_advisory_xact_lock($1, h)) FROM (
		SELECT DISTINCT hashtext(b || chr(31) || i) AS h FROM unnest($2::text[], $3::text[]) AS k(b, i) ORDER BY h) x`,
		keyClass, bs, is)
	return err
}

// upsertTx writes entities inside tx: run 0 (a webhook write) keeps an
// existing entity's last_run and gives a new one the latest run's id; an
// entity is not rewritten when the stored version is newer, nor recreated
// when a newer deletion (tombstone) exists. by is the ChangedBy recorded
// on the entities it changes: source follows kind (the last writer's),
// while updated_at and changed_by move only when an entity changes.
func upsertTx(ctx context.Context, tx pgx.Tx, run int64, kind, by string, entities []*catalog.Entity, pending bool) (catalog.UpsertStats, []*catalog.Entity, error) {
	var st catalog.UpsertStats
	if len(entities) == 0 {
		return st, nil, nil
	}
	rows := make([]row, 0, len(entities))
	for _, e := range entities {
		enc, err := catalog.Encode(e)
		if err != nil {
			return st, nil, fmt.Errorf("%s/%s: %w", e.Blueprint, e.Identifier, err)
		}
		rows = append(rows, row{e: e, props: string(enc.Properties), rels: string(enc.Relations), hash: enc.Hash})
	}
	keys := make([]catalog.Key, len(rows))
	for i, r := range rows {
		keys[i] = r.e.Key()
	}
	if err := lockKeys(ctx, tx, keys); err != nil {
		return st, nil, err
	}
	if run == 0 {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM runs`).Scan(&run); err != nil {
			return st, nil, err
		}
	}
	type state struct {
		hash            string
		version, tomb   int64
		exists, hasTomb bool
	}
	bs, is := split(keys)
	cur := map[catalog.Key]*state{}
	q, err := tx.Query(ctx, `SELECT k.b, k.i, e.hash, e.version, t.version
		FROM unnest($1::text[], $2::text[]) AS k(b, i)
		LEFT JOIN entities e ON e.blueprint = k.b AND e.identifier = k.i
		LEFT JOIN tombstones t ON t.blueprint = k.b AND t.identifier = k.i`, bs, is)
	if err != nil {
		return st, nil, err
	}
	for q.Next() {
		var k catalog.Key
		var hash *string
		var ver, tomb *int64
		if err := q.Scan(&k.Blueprint, &k.Identifier, &hash, &ver, &tomb); err != nil {
			q.Close()
			return st, nil, err
		}
		s := &state{}
		if hash != nil {
			s.exists, s.hash, s.version = true, *hash, *ver
		}
		if tomb != nil {
			s.hasTomb, s.tomb = true, *tomb
		}
		cur[k] = s
	}
	q.Close()
	if err := q.Err(); err != nil {
		return st, nil, err
	}
	// Writes merge with what is stored, as Port's do (catalog.MergeVersions);
	// an unchanged entity (same hash) needs no merge.
	var merge []int
	for i, r := range rows {
		if c := cur[r.e.Key()]; c != nil && c.exists && !r.e.Replace && c.hash != r.hash {
			merge = append(merge, i)
		}
	}
	if err := mergeStored(ctx, tx, rows, merge); err != nil {
		return st, nil, err
	}
	now := nowRFC()
	b := &pgx.Batch{}
	var changed []*catalog.Entity
	for _, r := range rows {
		e := r.e
		c := cur[e.Key()]
		if c == nil {
			c = &state{}
		}
		if c.hasTomb {
			if c.tomb > e.Version {
				st.Unchanged++ // deleted after this copy was fetched: stay deleted
				continue
			}
			b.Queue(`DELETE FROM tombstones WHERE blueprint = $1 AND identifier = $2`, e.Blueprint, e.Identifier)
		}
		stored := r.hash
		if pending {
			stored = pendingPrefix + r.hash
		}
		switch {
		case !c.exists:
			st.Created++
		case c.hash == r.hash || c.version > e.Version:
			b.Queue(`UPDATE entities SET last_run = GREATEST(last_run, $1), kind = $2, version = GREATEST(version, $3), project = $4, source = $7
				WHERE blueprint = $5 AND identifier = $6`, run, kind, e.Version, e.Project, e.Blueprint, e.Identifier, e.Origin)
			st.Unchanged++
			continue
		default:
			st.Updated++
		}
		b.Queue(`INSERT INTO entities(blueprint, identifier, kind, title, team, icon, properties, relations, hash, last_run, version, updated_at, project, source, changed_by)
			VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
			ON CONFLICT(blueprint, identifier) DO UPDATE SET kind = excluded.kind, title = excluded.title, team = excluded.team, icon = excluded.icon,
				properties = excluded.properties, relations = excluded.relations, hash = excluded.hash,
				last_run = GREATEST(entities.last_run, excluded.last_run), version = excluded.version, updated_at = excluded.updated_at, project = excluded.project,
				source = excluded.source, changed_by = excluded.changed_by`,
			e.Blueprint, e.Identifier, kind, e.Title, e.Team, e.Icon, r.props, r.rels, stored, run, e.Version, now, e.Project, e.Origin, by)
		changed = append(changed, e)
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return st, nil, err
		}
	}
	return st, changed, nil
}

// mergeStored merges the rows at the given indexes with the entities
// stored under their keys (see catalog.MergeVersions), re-encoding them.
func mergeStored(ctx context.Context, tx pgx.Tx, rows []row, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	keys := make([]catalog.Key, len(idx))
	for n, i := range idx {
		keys[n] = rows[i].e.Key()
	}
	bs, is := split(keys)
	q, err := tx.Query(ctx, `SELECT e.blueprint, e.identifier, e.title, e.team, e.icon, e.properties, e.relations, e.version
		FROM unnest($1::text[], $2::text[]) AS k(b, i)
		JOIN entities e ON e.blueprint = k.b AND e.identifier = k.i`, bs, is)
	if err != nil {
		return err
	}
	prev := map[catalog.Key]*catalog.Entity{}
	for q.Next() {
		p := &catalog.Entity{}
		var props, rels []byte
		if err := q.Scan(&p.Blueprint, &p.Identifier, &p.Title, &p.Team, &p.Icon, &props, &rels, &p.Version); err != nil {
			q.Close()
			return err
		}
		if err := catalog.Decode(p, props, rels); err != nil {
			q.Close()
			return err
		}
		prev[p.Key()] = p
	}
	q.Close()
	if err := q.Err(); err != nil {
		return err
	}
	for _, i := range idx {
		p := prev[rows[i].e.Key()]
		if p == nil {
			continue // locked by lockKeys: cannot have gone; write it whole
		}
		m := catalog.MergeVersions(p, rows[i].e)
		enc, err := catalog.Encode(m)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", m.Blueprint, m.Identifier, err)
		}
		rows[i] = row{e: m, props: string(enc.Properties), rels: string(enc.Relations), hash: enc.Hash}
	}
	return nil
}

// fenced fails with catalog.ErrNotLeader unless the connection that
// started run still holds leadership: a replica that lost it (its
// connection dropped, another replica took over) must delete nothing.
func fenced(ctx context.Context, tx pgx.Tx, run catalog.RunID) error {
	var held bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM runs r JOIN pg_locks l ON l.pid = r.leader_pid
		WHERE r.id = $1 AND l.locktype = 'advisory' AND l.classid = $2::bigint::oid AND l.objid = $3::bigint::oid AND l.objsubid = 2 AND l.granted)`,
		int64(run), lockClass, lockLeader).Scan(&held)
	if err != nil {
		return err
	}
	if !held {
		return catalog.ErrNotLeader
	}
	return nil
}

const staleWhere = `kind = $1 AND last_run < $2 AND version < (SELECT started_ns FROM runs WHERE id = $2)`

// DeleteStale deletes entities of kind that run did not see, except those
// a webhook wrote after the run started; only while run's replica leads.
func (s *Store) DeleteStale(ctx context.Context, run catalog.RunID, kind string) (int, error) {
	var n int64
	err := s.tx(ctx, "catalog: delete stale "+kind, func(tx pgx.Tx) error {
		if err := fenced(ctx, tx, run); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM entities WHERE `+staleWhere, kind, int64(run))
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// StaleKeys lists the entities of kind that DeleteStale would delete, and
// how many entities of kind there are in all.
func (s *Store) StaleKeys(ctx context.Context, run catalog.RunID, kind string) ([]catalog.Key, int, error) {
	var keys []catalog.Key
	var total int
	err := s.tx(ctx, "catalog: stale "+kind, func(tx pgx.Tx) error {
		if err := fenced(ctx, tx, run); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM entities WHERE kind = $1`, kind).Scan(&total); err != nil {
			return err
		}
		var err error
		keys, err = collectKeys(ctx, tx, `SELECT blueprint, identifier FROM entities WHERE `+staleWhere+` ORDER BY blueprint, identifier`, kind, int64(run))
		return err
	})
	return keys, total, err
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func collectKeys(ctx context.Context, q querier, sql string, args ...any) ([]catalog.Key, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalog.Key, error) {
		var k catalog.Key
		err := r.Scan(&k.Blueprint, &k.Identifier)
		return k, err
	})
}

// List returns entities ordered by blueprint and identifier.
func (s *Store) List(ctx context.Context, f catalog.Filter) ([]*catalog.Entity, error) {
	return rowscan.List(ctx, f, s.Each)
}

// Each calls fn with each entity, ordered by blueprint and identifier,
// as pgx reads the rows off the connection.
func (s *Store) Each(ctx context.Context, f catalog.Filter, fn func(*catalog.Entity) error) error {
	rows, err := s.pool.Query(ctx, `SELECT `+rowscan.EntityColumns+` FROM entities
		WHERE $1 = '' OR blueprint = $1 ORDER BY blueprint COLLATE "C", identifier COLLATE "C"`, f.Blueprint)
	return rowscan.Each(rows, err, fn)
}

// ProjectKeys lists the entities whose objects live in GitLab project id.
func (s *Store) ProjectKeys(ctx context.Context, id int64) ([]catalog.Key, error) {
	keys, err := collectKeys(ctx, s.pool, `SELECT blueprint, identifier FROM entities WHERE project = $1 ORDER BY blueprint COLLATE "C", identifier COLLATE "C"`, id)
	if err != nil {
		return nil, fmt.Errorf("catalog: entities of project %d: %w", id, err)
	}
	return keys, nil
}

// Owners returns the kind and project of the stored keys (catalog.Owners).
func (s *Store) Owners(ctx context.Context, keys []catalog.Key) (map[catalog.Key]catalog.Owner, error) {
	bs, is := split(keys)
	rows, err := s.pool.Query(ctx, `SELECT e.blueprint, e.identifier, e.kind, e.project FROM entities e
		JOIN unnest($1::text[], $2::text[]) AS k(b, i) ON e.blueprint = k.b AND e.identifier = k.i`, bs, is)
	if err != nil {
		return nil, fmt.Errorf("catalog: owners: %w", err)
	}
	defer rows.Close()
	out := map[catalog.Key]catalog.Owner{}
	for rows.Next() {
		var k catalog.Key
		var o catalog.Owner
		if err := rows.Scan(&k.Blueprint, &k.Identifier, &o.Kind, &o.Project); err != nil {
			return nil, fmt.Errorf("catalog: owners: %w", err)
		}
		out[k] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: owners: %w", err)
	}
	return out, nil
}

// Confirm marks entities as written to the remote sink.
func (s *Store) Confirm(ctx context.Context, keys []catalog.Key) error {
	bs, is := split(keys)
	if _, err := s.pool.Exec(ctx, `UPDATE entities e SET hash = substr(e.hash, $1) FROM unnest($2::text[], $3::text[]) AS k(b, i)
		WHERE e.blueprint = k.b AND e.identifier = k.i AND e.hash LIKE 'pending:%'`, len(pendingPrefix)+1, bs, is); err != nil {
		return fmt.Errorf("catalog: confirm: %w", err)
	}
	return nil
}

// DeleteKeys removes entities from the mirror.
func (s *Store) DeleteKeys(ctx context.Context, keys []catalog.Key) error {
	bs, is := split(keys)
	if _, err := s.pool.Exec(ctx, `DELETE FROM entities e USING unnest($1::text[], $2::text[]) AS k(b, i)
		WHERE e.blueprint = k.b AND e.identifier = k.i`, bs, is); err != nil {
		return fmt.Errorf("catalog: delete: %w", err)
	}
	return nil
}

func split(keys []catalog.Key) ([]string, []string) {
	bs := make([]string, len(keys))
	is := make([]string, len(keys))
	for i, k := range keys {
		bs[i], is[i] = k.Blueprint, k.Identifier
	}
	return bs, is
}

// HasKey reports whether the catalog holds an entity.
func (s *Store) HasKey(ctx context.Context, k catalog.Key) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM entities WHERE blueprint = $1 AND identifier = $2)`, k.Blueprint, k.Identifier).Scan(&ok)
	return ok, err
}

// CountEntities is the number of entities the catalog holds.
func (s *Store) CountEntities(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM entities`).Scan(&n)
	return n, err
}

// PutExamples keeps a few raw objects of a kind, for mapping tests.
func (s *Store) PutExamples(ctx context.Context, kind string, examples []byte) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO examples(kind, value) VALUES($1, $2) ON CONFLICT(kind) DO UPDATE SET value = excluded.value`, kind, string(examples)); err != nil {
		return fmt.Errorf("catalog: examples %s: %w", kind, err)
	}
	return nil
}

// Examples returns the raw objects kept for a kind (JSON array), or nil.
func (s *Store) Examples(ctx context.Context, kind string) ([]byte, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM examples WHERE kind = $1`, kind).Scan(&v)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: examples %s: %w", kind, err)
	}
	return []byte(v), nil
}
