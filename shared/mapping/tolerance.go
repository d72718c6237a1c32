package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// Ocean maps each field of an entity on its own: an expression that
// raises on one object is logged with its field and yields null
// (port_ocean/core/handlers/entity_processor/jq_entity_processor.py,
// _search), and an entity without an identifier or a blueprint is left
// out and counted. A jq error on a few objects (a missing field piped into
// test, a tonumber on a bad string) thus costs a property, never the
// kind. glsync does the same unless the mapping is loaded strict
// (ParseOptions.Strict, the strictMapping setting), where any failure is
// the object's error, as in glsync 0.x.

// Failure is an expression that failed on one object under tolerant
// mapping: the field became null, or, for the identifier or the
// blueprint, the object was left out (Skipped).
type Failure struct {
	*Error
	// Object names the object: the entity's identifier when it was
	// computed, else the raw object's path or id.
	Object  string
	Skipped bool
}

// ShortField is the field without the port.entity.mappings. prefix
// (properties.language, identifier), as summaries show it.
func (f Failure) ShortField() string { return strings.TrimPrefix(f.Field, mappingsPrefix) }

const mappingsPrefix = "port.entity.mappings."

// Recorder receives the failures of tolerant mapping. It is called from
// the goroutines that map, concurrently.
type Recorder interface {
	MappingFailed(Failure)
}

type recorderKey struct{}

// WithRecorder returns a context whose mappings (Map, MapAll) report
// their failures to rec. Without one, each failure is logged with
// slog.Default(): webhook events, which map one object at a time, need
// nothing more.
func WithRecorder(ctx context.Context, rec Recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, rec)
}

func recorderFrom(ctx context.Context) Recorder {
	if rec, ok := ctx.Value(recorderKey{}).(Recorder); ok && rec != nil {
		return rec
	}
	return LogRecorder{Log: slog.Default()}
}

// LogRecorder logs every failure as a warning.
type LogRecorder struct{ Log *slog.Logger }

// MappingFailed logs f.
func (l LogRecorder) MappingFailed(f Failure) {
	what := "mapping: an expression failed; the field is null"
	if f.Skipped {
		what = "mapping: an expression failed; the object is left out"
	}
	l.Log.Warn(what, "resource", f.Resource, "kind", f.Kind, "field", f.ShortField(), "object", f.Object, "error", f.Error)
}

// Strict reports whether the resource fails an object on any expression
// error instead of mapping the field to null.
func (r *Resource) Strict() bool { return r.strict }

// entityMapper maps one selected object, field by field.
type entityMapper struct {
	r   *Resource
	ctx context.Context
	obj map[string]any
	id  string // the identifier, once computed, to name the object
	err error  // strict: the first failure
}

func (m *entityMapper) fail(e *expr, err error) *Error {
	if e == nil {
		return &Error{Resource: m.r.Index, Kind: m.r.Kind, Err: err}
	}
	return &Error{Resource: m.r.Index, Kind: m.r.Kind, Field: e.field, Expr: e.src, Err: err}
}

// failed records a failure: strict keeps the first as the object's error,
// tolerant hands it to the context's Recorder.
func (m *entityMapper) failed(err *Error, skipped bool) {
	if m.r.strict {
		if m.err == nil {
			m.err = err
		}
		return
	}
	obj := m.id
	if obj == "" {
		obj = objectRef(m.obj)
	}
	recorderFrom(m.ctx).MappingFailed(Failure{Error: err, Object: obj, Skipped: skipped})
}

// str evaluates a string field; required fields must be non-empty.
func (m *entityMapper) str(e *expr, required bool) (string, *Error) {
	if e == nil {
		return "", nil
	}
	v, err := e.eval(m.ctx, m.obj)
	if err != nil {
		return "", m.fail(e, err)
	}
	switch s := v.(type) {
	case string:
		if required && s == "" {
			return "", m.fail(e, errors.New("returned an empty string"))
		}
		return s, nil
	case nil:
		if required {
			return "", m.fail(e, errors.New("returned null; it must return a non-empty string"))
		}
		return "", nil
	default:
		return "", m.fail(e, fmt.Errorf("must return a string, got %s (add | tostring)", typeName(v)))
	}
}

// optional evaluates title or icon: a failure leaves it empty.
func (m *entityMapper) optional(e *expr) string {
	s, err := m.str(e, false)
	if err != nil {
		m.failed(err, false)
		return ""
	}
	return s
}

// mapSelected evaluates the entity fields of a selected object. Tolerant,
// it returns a nil entity (no error) for an object whose identifier or
// blueprint failed, and nulls the other fields that failed.
func (r *Resource) mapSelected(ctx context.Context, obj map[string]any) (*catalog.Entity, bool, error) {
	m := &entityMapper{r: r, ctx: ctx, obj: obj}
	ent := &catalog.Entity{Properties: map[string]any{}, Relations: map[string]any{}, Replace: r.replace}
	var id string
	var err *Error
	if r.identifierQuery != nil {
		id, ent.Search, err = m.searchIdentifier()
	} else {
		id, err = m.str(r.identifier, true)
	}
	if err == nil {
		m.id = id
		ent.Identifier = id
		ent.Blueprint, err = m.str(r.blueprint, true)
	}
	if err != nil {
		m.failed(err, true)
		if m.err != nil {
			return nil, true, m.err
		}
		return nil, true, nil
	}
	ent.Title = m.optional(r.title)
	ent.Icon = m.optional(r.icon)
	if r.team != nil {
		ent.Team = m.team()
	}
	for _, p := range r.properties {
		v, err := p.eval(ctx, obj)
		if err != nil {
			m.failed(m.fail(p.expr, err), false)
			v = nil
		}
		ent.Properties[p.name] = v
	}
	for _, p := range r.relations {
		ent.Relations[p.name] = m.relation(p)
	}
	if m.err != nil {
		return nil, true, m.err
	}
	if r.Kind == selector.KindFile {
		ent.Origin = fileOrigin(obj)
	}
	return ent, true, nil
}

// searchIdentifier evaluates an identifier written as a search query: the
// query, and its canonical JSON as the identifier until it is resolved.
func (m *entityMapper) searchIdentifier() (string, map[string]any, *Error) {
	v, e, err := m.r.identifierQuery.eval(m.ctx, m.obj)
	if err != nil {
		if e == nil {
			return "", nil, &Error{Resource: m.r.Index, Kind: m.r.Kind, Field: mappingsPrefix + "identifier", Err: err}
		}
		return "", nil, m.fail(e, err)
	}
	q, _ := v.(map[string]any)
	return catalog.SearchKey(q), q, nil
}

func (m *entityMapper) team() string {
	v, e, err := m.r.team.eval(m.ctx, m.obj)
	if err != nil {
		m.failed(m.fail(e, err), false)
		return ""
	}
	switch t := v.(type) {
	case nil:
	case string:
		return t
	case map[string]any, []any:
		// A search query or a list of teams: kept as its JSON text,
		// which the Port sink sends as the value it is.
		b, _ := json.Marshal(t)
		return string(b)
	default:
		m.failed(m.fail(e, fmt.Errorf("must return a string, got %s (add | tostring)", typeName(v))), false)
	}
	return ""
}

func (m *entityMapper) relation(p namedValue) any {
	v, e, err := p.eval(m.ctx, m.obj)
	if err != nil {
		m.failed(m.fail(e, err), false)
		return nil
	}
	switch v.(type) {
	case nil, string, []any:
		return v
	case map[string]any:
		if p.query != nil {
			return v
		}
		err = errors.New("a relation must be a string, an array of strings or null, got object")
	default:
		err = fmt.Errorf("a relation must be a string, an array of strings or null, got %s", typeName(v))
	}
	m.failed(m.fail(e, err), false)
	return nil
}

// objectRef names a raw object in logs when its entity has no
// identifier: the first of the fields GitLab's objects are known by.
func objectRef(obj map[string]any) string {
	for _, k := range []string{"path_with_namespace", "full_path", "web_url", "id", "name"} {
		switch v := obj[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case float64:
			return k + " " + strconv.FormatFloat(v, 'f', -1, 64)
		case int64:
			return k + " " + strconv.FormatInt(v, 10)
		case int:
			return k + " " + strconv.Itoa(v)
		}
	}
	return "(an object without id)"
}
