package mapping

import (
	"errors"
	"fmt"
	"sort"

	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// compileItems reads itemsToParse, itemsToParseName and
// itemsToParseTopLevelTransform (Ocean core's PortResourceConfig).
func (r *Resource) compileItems(port map[string]any) error {
	fail := func(field, src string, err error) error {
		return &Error{Resource: r.Index, Kind: r.Kind, Field: field, Expr: src, Err: err}
	}
	if v, ok := port["itemsToParseName"]; ok && v != nil {
		name, err := selector.AsString(v)
		if err != nil || name == "" {
			return fail("port.itemsToParseName", "", errors.New("must be a non-empty key name (default item)"))
		}
		r.itemsName = name
	}
	src, _ := selector.AsString(port["itemsToParse"])
	if src == "" {
		return nil
	}
	var err error
	if r.itemsToParse, err = r.compile("port.itemsToParse", src); err != nil {
		return fail("port.itemsToParse", src, err)
	}
	transform := true
	if v, ok := port["itemsToParseTopLevelTransform"]; ok && v != nil {
		if transform, err = selector.AsBool(v); err != nil {
			return fail("port.itemsToParseTopLevelTransform", "", err)
		}
	}
	if !transform {
		return nil
	}
	path := deletionPath(src)
	if path == "" {
		r.warned(fmt.Sprintf("port.itemsToParse %q has no simple path to remove from each item (itemsToParseTopLevelTransform); the object is kept whole", src))
		return nil
	}
	if r.itemsRemove, err = compile("port.itemsToParse", ". | del("+path+")"); err != nil {
		r.warned(fmt.Sprintf("port.itemsToParse %q: cannot remove %s from each item: %v; the object is kept whole", src, path, err))
		r.itemsRemove = nil
	}
	return nil
}

// compileProperties compiles the properties map (Ocean: dict[str, str]).
func (r *Resource) compileProperties(field string, v any) ([]namedExpr, error) {
	return compileEach(r, field, v, func(k string, x any) (namedExpr, error) {
		src, err := selector.AsString(x)
		if err != nil {
			return namedExpr{}, &Error{Resource: r.Index, Kind: r.Kind, Field: field + "." + k, Err: errors.New("must be a jq expression string")}
		}
		e, err := r.compile(field+"."+k, src)
		if err != nil {
			return namedExpr{}, &Error{Resource: r.Index, Kind: r.Kind, Field: field + "." + k, Expr: src, Err: err}
		}
		return namedExpr{k, e}, nil
	})
}

// compileRelations compiles the relations map: jq strings or search
// queries (Ocean: dict[str, str | IngestSearchQuery]).
func (r *Resource) compileRelations(field string, v any) ([]namedValue, error) {
	return compileEach(r, field, v, func(k string, x any) (namedValue, error) {
		ve, err := r.compileValue(field+"."+k, x)
		return namedValue{k, ve}, err
	})
}

// compileEach compiles each entry of the map v (field), in key order, and
// stops at the first error.
func compileEach[T any](r *Resource, field string, v any, each func(k string, x any) (T, error)) ([]T, error) {
	m, err := mappingMap(r, field, v)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, k := range sortedKeys(m) {
		x, err := each(k, m[k])
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func mappingMap(r *Resource, field string, v any) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Resource: r.Index, Kind: r.Kind, Field: field, Err: fmt.Errorf("must be a map of name: jq expression, got %s", selector.Shown(v))}
	}
	return m, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
