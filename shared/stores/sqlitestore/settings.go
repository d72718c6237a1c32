package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/stores/internal/rowscan"
)

// PutTokenMapping stores a token mapping added through the admin API, as
// an opaque JSON value (shared/adminapi defines it).
func (s *Store) PutTokenMapping(ctx context.Context, name string, value []byte) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO token_mappings(name, value) VALUES(?, ?)
		ON CONFLICT(name) DO UPDATE SET value = excluded.value`, name, string(value)); err != nil {
		return fmt.Errorf("settings: put token mapping %q: %w", name, err)
	}
	return nil
}

// DeleteTokenMapping removes a stored mapping; found is false if absent.
func (s *Store) DeleteTokenMapping(ctx context.Context, name string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM token_mappings WHERE name = ?`, name)
	if err != nil {
		return false, fmt.Errorf("settings: delete token mapping %q: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// TokenMappings returns the stored mappings by name, ordered by name.
func (s *Store) TokenMappings(ctx context.Context) ([]string, [][]byte, error) {
	return rowscan.TokenMappings(s.db.QueryContext(ctx, `SELECT name, value FROM token_mappings ORDER BY name`))
}

// PutSetting stores a small named value.
func (s *Store) PutSetting(ctx context.Context, key string, value []byte) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("settings: put %q: %w", key, err)
	}
	return nil
}

// Setting returns a value stored by PutSetting.
func (s *Store) Setting(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("settings: get %q: %w", key, err)
	}
	return v, true, nil
}
