package mapping

import (
	"context"
	"errors"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/itchyny/gojq"
)

// compile parses and compiles one expression. $ENV and env see an empty
// environment: the process environment holds GitLab tokens, which must
// never end up in the catalog through a mapping.
func compile(field, src string) (*expr, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("parse error: %w", err)
	}
	code, err := gojq.Compile(q, gojq.WithEnvironLoader(func() []string { return nil }))
	if err != nil {
		return nil, fmt.Errorf("compile error: %w", err)
	}
	return &expr{field: field, src: src, code: code}, nil
}

// eval returns the expression's first result, or nil when it yields none.
func (e *expr) eval(ctx context.Context, v any) (any, error) {
	iter := e.code.RunWithContext(ctx, v)
	out, ok := iter.Next()
	if !ok {
		return nil, nil
	}
	if err, isErr := out.(error); isErr {
		var he *gojq.HaltError
		if errors.As(err, &he) && he.Value() == nil {
			return nil, nil
		}
		return nil, err
	}
	return out, nil
}

// Map applies the resource to one raw object. selected is false when
// selector.query is not true; then entity is nil.
func (r *Resource) Map(ctx context.Context, obj map[string]any) (entity *catalog.Entity, selected bool, err error) {
	fail := func(e *expr, err error) error {
		return &Error{Resource: r.Index, Kind: r.Kind, Field: e.field, Expr: e.src, Err: err}
	}
	q, err := r.query.eval(ctx, obj)
	if err != nil {
		return nil, false, fail(r.query, err)
	}
	b, ok := q.(bool)
	if !ok && q != nil {
		return nil, false, fail(r.query, fmt.Errorf("must return a boolean, got %s", typeName(q)))
	}
	if !b {
		return nil, false, nil
	}
	return r.mapSelected(ctx, obj)
}

// mapSelected evaluates the entity fields of a selected object.
func (r *Resource) mapSelected(ctx context.Context, obj map[string]any) (*catalog.Entity, bool, error) {
	fail := func(e *expr, err error) error {
		return &Error{Resource: r.Index, Kind: r.Kind, Field: e.field, Expr: e.src, Err: err}
	}
	var err error
	str := func(e *expr, required bool) (string, error) {
		if e == nil {
			return "", nil
		}
		v, err := e.eval(ctx, obj)
		if err != nil {
			return "", fail(e, err)
		}
		switch s := v.(type) {
		case string:
			if required && s == "" {
				return "", fail(e, errors.New("returned an empty string"))
			}
			return s, nil
		case nil:
			if required {
				return "", fail(e, errors.New("returned null; it must return a non-empty string"))
			}
			return "", nil
		default:
			return "", fail(e, fmt.Errorf("must return a string, got %s (add | tostring)", typeName(v)))
		}
	}
	ent := &catalog.Entity{Properties: map[string]any{}, Relations: map[string]any{}}
	if ent.Identifier, err = str(r.identifier, true); err != nil {
		return nil, true, err
	}
	if ent.Blueprint, err = str(r.blueprint, true); err != nil {
		return nil, true, err
	}
	if ent.Title, err = str(r.title, false); err != nil {
		return nil, true, err
	}
	if ent.Team, err = str(r.team, false); err != nil {
		return nil, true, err
	}
	if ent.Icon, err = str(r.icon, false); err != nil {
		return nil, true, err
	}
	for _, p := range r.properties {
		v, err := p.eval(ctx, obj)
		if err != nil {
			return nil, true, fail(p.expr, err)
		}
		ent.Properties[p.name] = v
	}
	for _, p := range r.relations {
		v, err := p.eval(ctx, obj)
		if err != nil {
			return nil, true, fail(p.expr, err)
		}
		switch v.(type) {
		case nil, string, []any:
		default:
			return nil, true, fail(p.expr, fmt.Errorf("a relation must be a string, an array of strings or null, got %s", typeName(v)))
		}
		ent.Relations[p.name] = v
	}
	return ent, true, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	default:
		return "number"
	}
}

// MapAll maps one raw object into entities: one, or with itemsToParse
// one per item of the array it returns. Each item is mapped with the
// object's fields plus the item under .item, as in Ocean; selector.query
// is evaluated on the object itself.
func (r *Resource) MapAll(ctx context.Context, obj map[string]any) ([]*catalog.Entity, bool, error) {
	if r.itemsToParse == nil {
		e, selected, err := r.Map(ctx, obj)
		if err != nil || !selected {
			return nil, selected, err
		}
		return []*catalog.Entity{e}, true, nil
	}
	q, err := r.query.eval(ctx, obj)
	if err != nil {
		return nil, false, &Error{Resource: r.Index, Kind: r.Kind, Field: r.query.field, Expr: r.query.src, Err: err}
	}
	if b, ok := q.(bool); !ok || !b {
		if !ok && q != nil {
			return nil, false, &Error{Resource: r.Index, Kind: r.Kind, Field: r.query.field, Expr: r.query.src, Err: fmt.Errorf("must return a boolean, got %s", typeName(q))}
		}
		return nil, false, nil
	}
	v, err := r.itemsToParse.eval(ctx, obj)
	if err != nil {
		return nil, true, &Error{Resource: r.Index, Kind: r.Kind, Field: "port.itemsToParse", Expr: r.itemsToParse.src, Err: err}
	}
	if v == nil {
		return nil, true, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, true, &Error{Resource: r.Index, Kind: r.Kind, Field: "port.itemsToParse", Expr: r.itemsToParse.src, Err: fmt.Errorf("must return an array, got %s", typeName(v))}
	}
	var out []*catalog.Entity
	for _, it := range items {
		with := make(map[string]any, len(obj)+1)
		for k, x := range obj {
			with[k] = x
		}
		with["item"] = it
		e, selected, err := r.mapSelected(ctx, with)
		if err != nil {
			return nil, true, err
		}
		if selected {
			out = append(out, e)
		}
	}
	return out, true, nil
}

// Identify returns the blueprint and identifier the resource gives obj,
// whether or not its selector selects it: a webhook handler needs them to
// delete an entity whose object no longer matches.
func (r *Resource) Identify(ctx context.Context, obj map[string]any) (catalog.Key, error) {
	var k catalog.Key
	for _, f := range []struct {
		e   *expr
		dst *string
	}{{r.blueprint, &k.Blueprint}, {r.identifier, &k.Identifier}} {
		v, err := f.e.eval(ctx, obj)
		if err != nil {
			return k, &Error{Resource: r.Index, Kind: r.Kind, Field: f.e.field, Expr: f.e.src, Err: err}
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return k, &Error{Resource: r.Index, Kind: r.Kind, Field: f.e.field, Expr: f.e.src, Err: fmt.Errorf("must return a non-empty string, got %s", typeName(v))}
		}
		*f.dst = s
	}
	return k, nil
}
