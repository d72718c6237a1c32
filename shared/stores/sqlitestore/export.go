package sqlitestore

import (
	"context"
	"fmt"
	"strings"
)

// Rows streams a table's rows (the named columns, in rowid order) to fn:
// the source of `glsyncd catalog migrate`. Callers hold the run lock, so
// no daemon writes meanwhile.
func (s *Store) Rows(ctx context.Context, table string, cols []string, fn func([]any) error) error {
	for _, c := range append([]string{table}, cols...) {
		if strings.Trim(c, "abcdefghijklmnopqrstuvwxyz_") != "" {
			return fmt.Errorf("catalog: export: bad name %q", c)
		}
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+table+" ORDER BY rowid")
	if err != nil {
		return fmt.Errorf("catalog: export %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("catalog: export %s: %w", table, err)
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}
