package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	redactmsg "github.com/glsync/terraform-provider-glsync/shared/redact"
	"github.com/glsync/terraform-provider-glsync/shared/stores/internal/rowscan"
)

var _ catalog.Browser = (*Store)(nil)

// browseSchema is migration 3: what the console reads (catalog.Browser),
// the SQLite store's columns and table. updated_at already moves only
// when an entity changes, so it is the provenance's ChangedAt; source and
// changed_by are empty for rows written before (unknown, not guessed).
// entities_browse orders keys bytewise (COLLATE "C", as List does) so a
// page is an index range whatever the database's collation; the primary
// key's index follows that collation and cannot serve it.
const browseSchema = `ALTER TABLE entities ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE entities ADD COLUMN changed_by TEXT NOT NULL DEFAULT '';
CREATE INDEX entities_browse ON entities (blueprint COLLATE "C", identifier COLLATE "C");
CREATE TABLE delivery_log (
	id         BIGSERIAL PRIMARY KEY,
	delivery   TEXT NOT NULL,
	type       TEXT NOT NULL,
	object     TEXT NOT NULL,
	outcome    TEXT NOT NULL,
	error      TEXT NOT NULL,
	latency_ns BIGINT NOT NULL,
	at_ns      BIGINT NOT NULL,
	replica    TEXT NOT NULL
);`

// logDeliveryTx records ev's outcome in tx (the transaction that commits
// the outcome) and drops rows that fell out of the last
// catalog.DeliveryLogSize. Workers on every replica commit outcomes at
// once: the pruning skips rows another transaction is deleting (SKIP
// LOCKED) rather than wait for its commit, and a later write takes what
// was skipped, so the log stays near its size without serialising the
// queue.
func (s *Store) logDeliveryTx(ctx context.Context, tx pgx.Tx, ev *catalog.Event, outcome, reason string) error {
	r := catalog.NewDeliveryRecord(ev, outcome, redactmsg.Text(reason), s.replica, time.Now())
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO delivery_log(delivery, type, object, outcome, error, latency_ns, at_ns, replica)
		VALUES($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id`,
		r.Delivery, r.Type, r.Object, r.Outcome, r.Error, int64(r.Latency), r.At.UnixNano(), r.Replica).Scan(&id); err != nil {
		return fmt.Errorf("delivery log: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM delivery_log WHERE id IN (
		SELECT id FROM delivery_log WHERE id <= $1 FOR UPDATE SKIP LOCKED)`, id-catalog.DeliveryLogSize); err != nil {
		return fmt.Errorf("delivery log: pruning: %w", err)
	}
	return nil
}

// BlueprintCounts is how many entities each blueprint holds.
func (s *Store) BlueprintCounts(ctx context.Context) (map[string]int, error) {
	return rowscan.BlueprintCounts(s.pool.Query(ctx, `SELECT blueprint, COUNT(*) FROM entities GROUP BY blueprint`))
}

// Page lists a page of entities by keyset on entities_browse: from just
// after q.After in bytewise key order, so a later page costs what the
// first does. A search is a substring test on each row in that order
// until the page is full (no btree serves a substring); PageLimit bounds
// the rows returned. Every comparison names COLLATE "C" so the planner
// can use the index.
func (s *Store) Page(ctx context.Context, q catalog.PageQuery) (catalog.EntityPage, error) {
	limit := q.PageLimit()
	sql, args, none := pageQuery(q)
	if none {
		return catalog.EntityPage{}, nil
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	return rowscan.Page(rows, err, limit)
}

// pageQuery is Page's statement and arguments; none is true when the
// page is empty without asking (After is past q.Blueprint).
func pageQuery(q catalog.PageQuery) (sql string, args []any, none bool) {
	var where []string
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.Blueprint != "" {
		where = append(where, `blueprint COLLATE "C" = `+arg(q.Blueprint))
		switch {
		case q.After.Blueprint == q.Blueprint:
			where = append(where, `identifier COLLATE "C" > `+arg(q.After.Identifier))
		case q.After.Blueprint > q.Blueprint:
			// Past the blueprint's last page (Go compares strings
			// bytewise, as COLLATE "C" does).
			return "", nil, true
		}
	} else if q.After != (catalog.Key{}) {
		where = append(where, `(blueprint COLLATE "C", identifier COLLATE "C") > (`+arg(q.After.Blueprint)+`, `+arg(q.After.Identifier)+`)`)
	}
	if q.Search != "" {
		p := arg(q.Search)
		where = append(where, `(strpos(lower(identifier), lower(`+p+`)) > 0 OR strpos(lower(title), lower(`+p+`)) > 0)`)
	}
	sql = `SELECT ` + rowscan.PageColumns + ` FROM entities`
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, ` AND `)
	}
	// One more than the page: whether it exists is whether Next is set.
	sql += ` ORDER BY blueprint COLLATE "C", identifier COLLATE "C" LIMIT ` + arg(q.PageLimit()+1)
	return sql, args, false
}

// Entity reads one entity and its provenance.
func (s *Store) Entity(ctx context.Context, k catalog.Key) (*catalog.Entity, catalog.Provenance, bool, error) {
	return rowscan.Entity(s.pool.QueryRow(ctx, `SELECT `+rowscan.ProvenanceColumns+`
		FROM entities WHERE blueprint = $1 AND identifier = $2`, k.Blueprint, k.Identifier), k, pgx.ErrNoRows)
}

// RecentDeliveries lists the latest delivery outcomes, newest first (by
// id: replicas' commits interleave, so within a few milliseconds the
// order is the order ids were drawn).
func (s *Store) RecentDeliveries(ctx context.Context, limit int) ([]catalog.DeliveryRecord, error) {
	if limit <= 0 || limit > catalog.DeliveryLogSize {
		limit = catalog.DeliveryLogSize
	}
	return rowscan.Deliveries(s.pool.Query(ctx, `SELECT `+rowscan.DeliveryColumns+`
		FROM delivery_log ORDER BY id DESC LIMIT $1`, limit))
}
