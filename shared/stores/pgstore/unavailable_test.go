package pgstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// A database that is down or going down is told from errors waiting does
// not mend (glsyncd's start-up waits for the first, not the second).
func TestUnavailable(t *testing.T) {
	for err, want := range map[error]bool{
		fmt.Errorf("queue: claim: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}): true,
		fmt.Errorf("catalog: %w", &pgconn.PgError{Code: "08006"}):                                     true,
		fmt.Errorf("catalog: %w", &pgconn.PgError{Code: "42P01", Message: "relation does not exist"}): false,
		errors.New("mapping: resources[0]: kind: is required"):                                        false,
	} {
		if got := Unavailable(err); got != want {
			t.Errorf("Unavailable(%v) = %v, want %v", err, got, want)
		}
	}
}
