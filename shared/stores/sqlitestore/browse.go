package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/redact"
	"github.com/glsync/terraform-provider-glsync/shared/stores/internal/rowscan"
)

var _ catalog.Browser = (*Store)(nil)

// browseSchema is migration 4: what the console reads (catalog.Browser).
// updated_at already moves only when an entity changes, so it is the
// provenance's ChangedAt; changed_by and source are new, empty for rows
// written before (shown as unknown, never guessed). delivery_log keeps
// the latest catalog.DeliveryLogSize outcomes, never a body.
// entities_browse is the keys and titles in key order: a search scans it
// instead of the records (Page).
const browseSchema = `ALTER TABLE entities ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE entities ADD COLUMN changed_by TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS entities_browse ON entities(blueprint, identifier, title);
CREATE TABLE IF NOT EXISTS delivery_log (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery   TEXT NOT NULL,
	type       TEXT NOT NULL,
	object     TEXT NOT NULL,
	outcome    TEXT NOT NULL,
	error      TEXT NOT NULL,
	latency_ns INTEGER NOT NULL,
	at_ns      INTEGER NOT NULL,
	replica    TEXT NOT NULL
);`

// logDeliveryTx records ev's outcome in tx (the transaction that commits
// the outcome, so the log never tells of an outcome that did not happen)
// and drops what falls out of the last catalog.DeliveryLogSize: ids only
// grow (AUTOINCREMENT), so that is a range of the primary key, at most a
// row or two per write.
func (s *Store) logDeliveryTx(ctx context.Context, tx *sql.Tx, ev *catalog.Event, outcome, reason string) error {
	r := catalog.NewDeliveryRecord(ev, outcome, redact.Text(reason), s.replica, time.Now())
	res, err := tx.ExecContext(ctx, `INSERT INTO delivery_log(delivery, type, object, outcome, error, latency_ns, at_ns, replica) VALUES(?,?,?,?,?,?,?,?)`,
		r.Delivery, r.Type, r.Object, r.Outcome, r.Error, int64(r.Latency), r.At.UnixNano(), r.Replica)
	if err != nil {
		return fmt.Errorf("delivery log: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("delivery log: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM delivery_log WHERE id <= ?`, id-catalog.DeliveryLogSize); err != nil {
		return fmt.Errorf("delivery log: pruning: %w", err)
	}
	return nil
}

// BlueprintCounts is how many entities each blueprint holds (one pass
// over the primary key's index, which leads with blueprint).
func (s *Store) BlueprintCounts(ctx context.Context) (map[string]int, error) {
	return rowscan.BlueprintCounts(s.db.QueryContext(ctx, `SELECT blueprint, COUNT(*) FROM entities GROUP BY blueprint`))
}

// Page lists a page of entities by keyset: the key order from just after
// q.After, so a later page costs what the first does. A search is a
// substring test (LIKE, which folds ASCII case and allocates nothing) on
// each row in that order until the page is full: no index serves a
// substring, so a search that matches less than a page tests every row
// after q.After, on entities_browse (keys and titles only: 65 ms for
// 100,000 entities, BENCHMARKS.md) rather than on the records.
func (s *Store) Page(ctx context.Context, q catalog.PageQuery) (catalog.EntityPage, error) {
	limit := q.PageLimit()
	var where []string
	var args []any
	if q.Blueprint != "" {
		where = append(where, `blueprint = ?`)
		args = append(args, q.Blueprint)
		if q.After.Blueprint == q.Blueprint {
			where = append(where, `identifier > ?`)
			args = append(args, q.After.Identifier)
		} else if q.After.Blueprint > q.Blueprint {
			return catalog.EntityPage{}, nil // past the blueprint's last page
		}
	} else if q.After != (catalog.Key{}) {
		where = append(where, `(blueprint, identifier) > (?, ?)`)
		args = append(args, q.After.Blueprint, q.After.Identifier)
	}
	if q.Search != "" {
		pat := "%" + likeEscaper.Replace(q.Search) + "%"
		where = append(where, `(identifier LIKE ? ESCAPE '\' OR title LIKE ? ESCAPE '\')`)
		args = append(args, pat, pat)
	}
	// INDEXED BY: the planner would walk the primary key's index, which
	// holds no title, and read every row's whole record to test the
	// search; entities_browse holds the keys and titles, so rows are read
	// only once they match (SQLite defers the seek).
	sqlq := `SELECT ` + rowscan.PageColumns + ` FROM entities INDEXED BY entities_browse`
	if len(where) > 0 {
		sqlq += ` WHERE ` + strings.Join(where, ` AND `)
	}
	sqlq += ` ORDER BY blueprint, identifier LIMIT ?`
	// One more than the page: whether it exists is whether Next is set.
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, sqlq, args...)
	return rowscan.Page(rows, err, limit)
}

// likeEscaper makes a search a literal LIKE pattern.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Entity reads one entity and its provenance.
func (s *Store) Entity(ctx context.Context, k catalog.Key) (*catalog.Entity, catalog.Provenance, bool, error) {
	return rowscan.Entity(s.db.QueryRowContext(ctx, `SELECT `+rowscan.ProvenanceColumns+`
		FROM entities WHERE blueprint = ? AND identifier = ?`, k.Blueprint, k.Identifier), k, sql.ErrNoRows)
}

// RecentDeliveries lists the latest delivery outcomes, newest first.
func (s *Store) RecentDeliveries(ctx context.Context, limit int) ([]catalog.DeliveryRecord, error) {
	if limit <= 0 || limit > catalog.DeliveryLogSize {
		limit = catalog.DeliveryLogSize
	}
	return rowscan.Deliveries(s.db.QueryContext(ctx, `SELECT `+rowscan.DeliveryColumns+`
		FROM delivery_log ORDER BY id DESC LIMIT ?`, limit))
}
