package rowscan

import (
	"errors"
	"fmt"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// fakeRows serves rows of values; closed counts Close calls.
type fakeRows struct {
	rows   [][]any
	i      int
	closed int
}

func (r *fakeRows) Next() bool { r.i++; return r.i <= len(r.rows) }
func (r *fakeRows) Err() error { return nil }
func (r *fakeRows) Scan(dest ...any) error {
	row := r.rows[r.i-1]
	if len(dest) != len(row) {
		return fmt.Errorf("%d columns, %d destinations", len(row), len(dest))
	}
	for i, v := range row {
		switch d := dest[i].(type) {
		case *string:
			*d = v.(string)
		case *[]byte:
			*d = []byte(v.(string))
		case *int64:
			*d = v.(int64)
		case *int:
			*d = v.(int)
		default:
			return fmt.Errorf("column %d: %T", i, dest[i])
		}
	}
	return nil
}

// pgxLike closes as pgx.Rows does, sqlLike as *sql.Rows does.
type pgxLike struct{ fakeRows }

func (r *pgxLike) Close() { r.closed++ }

type sqlLike struct{ fakeRows }

func (r *sqlLike) Close() error { r.closed++; return nil }

func entityRow(id string) []any {
	return []any{"service", id, "T " + id, "", "", `{"url":"u"}`, `{}`, int64(7)}
}

// Both drivers' rows are closed, whichever Close they have: a leaked pgx
// result holds its connection.
func TestClosesEitherDriversRows(t *testing.T) {
	p := &pgxLike{fakeRows{rows: [][]any{{"service", 2}}}}
	s := &sqlLike{fakeRows{rows: [][]any{{"service", 2}}}}
	for _, r := range []interface {
		Rows
		count() int
	}{p, s} {
		got, err := BlueprintCounts(r, nil)
		if err != nil || got["service"] != 2 || r.count() != 1 {
			t.Fatalf("%T: counts %v %v, closed %d times", r, got, err, r.count())
		}
	}
}

func (r *fakeRows) count() int { return r.closed }

func TestPageStopsAtLimitAndNamesNext(t *testing.T) {
	rows := &pgxLike{fakeRows{rows: [][]any{entityRow("a"), entityRow("b"), entityRow("c")}}}
	page, err := Page(rows, nil, 2)
	if err != nil || len(page.Entities) != 2 || page.Next == nil || *page.Next != (catalog.Key{Blueprint: "service", Identifier: "b"}) {
		t.Fatalf("page %+v next %v %v", page.Entities, page.Next, err)
	}
	if page.Entities[0].Project != 7 || page.Entities[0].Properties["url"] != "u" {
		t.Fatalf("entity %+v", page.Entities[0])
	}
	last, err := Page(&pgxLike{fakeRows{rows: [][]any{entityRow("a")}}}, nil, 2)
	if err != nil || len(last.Entities) != 1 || last.Next != nil {
		t.Fatalf("last page %+v %v", last, err)
	}
}

func TestErrorsCarryTheMethodButCallbacksPassThrough(t *testing.T) {
	boom := errors.New("boom")
	if err := Each(nil, boom, nil); !errors.Is(err, boom) || err.Error() != "catalog: list: boom" {
		t.Fatalf("query error %v", err)
	}
	rows := &sqlLike{fakeRows{rows: [][]any{entityRow("a")[:7]}}}
	if err := Each(rows, nil, func(*catalog.Entity) error { return boom }); err != boom || rows.closed != 1 {
		t.Fatalf("callback error %v, closed %d", err, rows.closed)
	}
	if _, _, found, err := Entity(errRow{boom}, catalog.Key{}, boom); found || err != nil {
		t.Fatalf("no rows: found %v %v", found, err)
	}
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
