package resync

import (
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"

	"github.com/glsync/terraform-provider-glsync/shared/mapping"
)

// An expression that fails on some objects costs, as in Ocean, the field
// on those objects (null) or, for an identifier or a blueprint, the
// objects themselves: never the kind, so stale deletion still runs. Each
// resource and field is counted, logged once per resync with the first
// object it failed on, and reported in the summary.

// ExpressionError is one resource's field whose expression failed during
// a resync.
type ExpressionError struct {
	Resource int    `json:"resource"`
	Field    string `json:"field"` // properties.language, identifier
	Expr     string `json:"expression"`
	// Objects is how many objects it failed on; Skipped, that those
	// objects were left out (identifier or blueprint) rather than written
	// with the field null.
	Objects int    `json:"objects"`
	Skipped bool   `json:"skipped,omitempty"`
	Sample  string `json:"sample_object"`
	Error   string `json:"first_error"`
}

// exprErrors is a kind's mapping.Recorder for one resync.
type exprErrors struct {
	log *slog.Logger
	mu  sync.Mutex
	by  map[exprKey]*ExpressionError
}

type exprKey struct {
	resource int
	field    string
}

func newExprErrors(log *slog.Logger) *exprErrors {
	return &exprErrors{log: log, by: map[exprKey]*ExpressionError{}}
}

// MappingFailed counts f, and logs the first failure of each resource and
// field: a field failing on 10,000 objects is one line, not 10,000.
func (x *exprErrors) MappingFailed(f mapping.Failure) {
	k := exprKey{f.Resource, f.ShortField()}
	x.mu.Lock()
	e, seen := x.by[k]
	if !seen {
		e = &ExpressionError{Resource: f.Resource, Field: k.field, Expr: f.Expr, Skipped: f.Skipped, Sample: f.Object, Error: f.Error.Error()}
		x.by[k] = e
	}
	e.Objects++
	x.mu.Unlock()
	if seen {
		return
	}
	what := "mapping: an expression failed; the field is null on the objects it fails on (logged once per resync and field)"
	if f.Skipped {
		what = "mapping: an expression failed; the objects it fails on are left out (logged once per resync and field)"
	}
	x.log.Warn(what, "resource", f.Resource, "field", k.field, "expression", f.Expr, "object", f.Object, "error", f.Error.Err)
}

// list returns the counts, by resource and field.
func (x *exprErrors) list() []ExpressionError {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]ExpressionError, 0, len(x.by))
	for _, e := range x.by {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Resource != out[j].Resource {
			return out[i].Resource < out[j].Resource
		}
		return out[i].Field < out[j].Field
	})
	return out
}

// ExpressionErrorCount is how many times the kind's expressions failed
// (one per object and field).
func (k *KindSummary) ExpressionErrorCount() int {
	n := 0
	for _, e := range k.ExpressionErrors {
		n += e.Objects
	}
	return n
}

// ExpressionErrorCount is the resync's count over its kinds.
func (s *Summary) ExpressionErrorCount() int {
	n := 0
	for _, k := range s.Kinds {
		n += k.ExpressionErrorCount()
	}
	return n
}

// PrintExpressionErrors writes one line per kind, resource and field
// whose expression failed, under the summary's table.
func PrintExpressionErrors(w io.Writer, s *Summary) {
	n := s.ExpressionErrorCount()
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "expression errors: %d (as in Ocean, the field is null on those objects; an object without identifier or blueprint is left out):\n", n)
	for _, k := range s.Kinds {
		for _, e := range k.ExpressionErrors {
			what := fmt.Sprintf("null on %d objects", e.Objects)
			if e.Skipped {
				what = fmt.Sprintf("%d objects left out", e.Objects)
			}
			fmt.Fprintf(w, "  kind %s, resources[%d] %s: %s (e.g. %s): %s\n", k.Kind, e.Resource, e.Field, what, e.Sample, e.Error)
		}
	}
}
