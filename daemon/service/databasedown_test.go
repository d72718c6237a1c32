package service

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Start-up waits for a database that is down or going down, not for
// errors waiting does not mend.
func TestDatabaseDown(t *testing.T) {
	for err, want := range map[error]bool{
		fmt.Errorf("queue: claim: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}): true,
		fmt.Errorf("catalog: %w", &pgconn.PgError{Code: "08006"}):                                     true,
		fmt.Errorf("catalog: %w", &pgconn.PgError{Code: "42P01", Message: "relation does not exist"}): false,
		errors.New("mapping: resources[0]: kind: is required"):                                        false,
	} {
		if got := databaseDown(err); got != want {
			t.Errorf("databaseDown(%v) = %v, want %v", err, got, want)
		}
	}
}
