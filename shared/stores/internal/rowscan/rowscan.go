// Package rowscan turns the rows that the SQLite and the PostgreSQL store
// both read into catalog values: entities (with and without their
// provenance), lists and pages of entities, counts per blueprint, delivery
// outcomes and token mappings. Each shape is scanned here once, so the two
// stores cannot drift apart in column order or in how a row becomes an
// entity; the SQL that selects the rows, with its dialect (placeholders,
// collations, index hints), stays in each store.
//
// A reader of many rows takes what the store's query returned, rows and
// error, so a store can pass its query call straight in; it closes the
// rows. Every reader wraps its errors with the catalog method's context,
// as the stores did; an error returned by a caller's callback passes
// through unwrapped.
package rowscan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// Rows is what both drivers' result sets offer (database/sql's *sql.Rows
// and pgx's pgx.Rows): their Close differ, so closing is left to
// closeRows.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Row is one row of a query that returns at most one (*sql.Row, pgx.Row).
type Row interface {
	Scan(dest ...any) error
}

// The columns each reader scans, in its order: a store's SELECT names
// them with these constants, so the order read is the order scanned.
const (
	// EntityColumns are an entity's own fields (Each).
	EntityColumns = `blueprint, identifier, title, team, icon, properties, relations`
	// PageColumns are an entity's fields and its project (Page).
	PageColumns = EntityColumns + `, project`
	// ProvenanceColumns are an entity and its provenance (Entity).
	ProvenanceColumns = PageColumns + `, version, kind, source, updated_at, changed_by`
	// DeliveryColumns are a delivery_log row (Deliveries).
	DeliveryColumns = `delivery, type, object, outcome, error, latency_ns, at_ns, replica`
)

// closeRows closes rows whichever driver made them: database/sql's Close
// returns an error (ignored, as a deferred Close's would be: whatever
// went wrong reading is in Err), pgx's returns nothing.
func closeRows(rows Rows) {
	switch r := rows.(type) {
	case interface{ Close() }:
		r.Close()
	case interface{ Close() error }:
		_ = r.Close()
	}
}

// Each calls fn with each entity of rows (EntityColumns), as the driver
// reads them: catalog.Lister's Each. The JSON columns are scanned into
// buffers reused across rows: they are only decoded, never kept, so no
// string per row is made for them.
func Each(rows Rows, err error, fn func(*catalog.Entity) error) error {
	if err != nil {
		return fmt.Errorf("catalog: list: %w", err)
	}
	defer closeRows(rows)
	var props, rels []byte
	for rows.Next() {
		e := &catalog.Entity{}
		if err := rows.Scan(&e.Blueprint, &e.Identifier, &e.Title, &e.Team, &e.Icon, &props, &rels); err != nil {
			return fmt.Errorf("catalog: list: %w", err)
		}
		if err := catalog.Decode(e, props, rels); err != nil {
			return fmt.Errorf("catalog: list: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: list: %w", err)
	}
	return nil
}

// List collects what each (a store's Each) passes on into a slice, in its
// order: catalog.Lister's List.
func List(ctx context.Context, f catalog.Filter, each func(context.Context, catalog.Filter, func(*catalog.Entity) error) error) ([]*catalog.Entity, error) {
	var out []*catalog.Entity
	err := each(ctx, f, func(e *catalog.Entity) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Page reads a page of limit entities (PageColumns) from rows that hold
// one more when a next page exists: that row is not decoded, only
// reported as EntityPage.Next (the page's last key, the keyset to go on
// from).
func Page(rows Rows, err error, limit int) (catalog.EntityPage, error) {
	if err != nil {
		return catalog.EntityPage{}, fmt.Errorf("catalog: page: %w", err)
	}
	defer closeRows(rows)
	var page catalog.EntityPage
	var props, rels []byte
	for rows.Next() {
		if len(page.Entities) == limit {
			last := page.Entities[limit-1].Key()
			page.Next = &last
			break
		}
		e := &catalog.Entity{}
		if err := rows.Scan(&e.Blueprint, &e.Identifier, &e.Title, &e.Team, &e.Icon, &props, &rels, &e.Project); err != nil {
			return catalog.EntityPage{}, fmt.Errorf("catalog: page: %w", err)
		}
		if err := catalog.Decode(e, props, rels); err != nil {
			return catalog.EntityPage{}, fmt.Errorf("catalog: page: %w", err)
		}
		page.Entities = append(page.Entities, e)
	}
	if err := rows.Err(); err != nil {
		return catalog.EntityPage{}, fmt.Errorf("catalog: page: %w", err)
	}
	return page, nil
}

// Entity reads entity k and its provenance from row (ProvenanceColumns);
// found is false when the driver's scan says noRows (sql.ErrNoRows,
// pgx.ErrNoRows). updated_at is RFC 3339 text in both stores.
func Entity(row Row, k catalog.Key, noRows error) (e *catalog.Entity, p catalog.Provenance, found bool, err error) {
	e = &catalog.Entity{}
	var props, rels []byte
	var changed string
	err = row.Scan(&e.Blueprint, &e.Identifier, &e.Title, &e.Team, &e.Icon, &props, &rels, &e.Project, &e.Version, &p.Kind, &p.Source, &changed, &p.ChangedBy)
	if errors.Is(err, noRows) {
		return nil, catalog.Provenance{}, false, nil
	}
	if err != nil {
		return nil, catalog.Provenance{}, false, fmt.Errorf("catalog: entity %s/%s: %w", k.Blueprint, k.Identifier, err)
	}
	if err := catalog.Decode(e, props, rels); err != nil {
		return nil, catalog.Provenance{}, false, fmt.Errorf("catalog: entity: %w", err)
	}
	if p.ChangedAt, err = time.Parse(time.RFC3339Nano, changed); err != nil {
		return nil, catalog.Provenance{}, false, fmt.Errorf("catalog: entity %s/%s: its change time %q: %w", k.Blueprint, k.Identifier, changed, err)
	}
	e.Origin = p.Source
	p.Project = e.Project
	return e, p, true, nil
}

// BlueprintCounts reads (blueprint, count) rows into a map: catalog.Browser's
// BlueprintCounts.
func BlueprintCounts(rows Rows, err error) (map[string]int, error) {
	if err != nil {
		return nil, fmt.Errorf("catalog: counts per blueprint: %w", err)
	}
	defer closeRows(rows)
	out := map[string]int{}
	for rows.Next() {
		var bp string
		var n int
		if err := rows.Scan(&bp, &n); err != nil {
			return nil, fmt.Errorf("catalog: counts per blueprint: %w", err)
		}
		out[bp] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: counts per blueprint: %w", err)
	}
	return out, nil
}

// Deliveries reads delivery_log rows (DeliveryColumns) in their order:
// latency and time are stored as nanoseconds.
func Deliveries(rows Rows, err error) ([]catalog.DeliveryRecord, error) {
	if err != nil {
		return nil, fmt.Errorf("catalog: recent deliveries: %w", err)
	}
	defer closeRows(rows)
	var out []catalog.DeliveryRecord
	for rows.Next() {
		var r catalog.DeliveryRecord
		var latency, at int64
		if err := rows.Scan(&r.Delivery, &r.Type, &r.Object, &r.Outcome, &r.Error, &latency, &at, &r.Replica); err != nil {
			return nil, fmt.Errorf("catalog: recent deliveries: %w", err)
		}
		r.Latency, r.At = time.Duration(latency), time.Unix(0, at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: recent deliveries: %w", err)
	}
	return out, nil
}

// TokenMappings reads (name, value) rows of token_mappings into names and
// their values, in the rows' order.
func TokenMappings(rows Rows, err error) (names []string, values [][]byte, _ error) {
	if err != nil {
		return nil, nil, fmt.Errorf("settings: token mappings: %w", err)
	}
	defer closeRows(rows)
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			return nil, nil, fmt.Errorf("settings: token mappings: %w", err)
		}
		names = append(names, n)
		values = append(values, []byte(v))
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("settings: token mappings: %w", err)
	}
	return names, values, nil
}
