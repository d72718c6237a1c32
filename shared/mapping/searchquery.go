package mapping

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// A Port search query ({combinator, rules: [{property, operator, value}]})
// as a relation or team value. Ocean evaluates every string in it as jq,
// per object (port_ocean/core/handlers/entity_processor/
// jq_entity_processor.py, _search_as_object recurses into the query), so
// Port's docs write combinator: '"and"', property: '"$identifier"',
// operator: '"="' ("Mapping relations using search queries"). glsync
// 0.x, and Port's own search API, write the bare form (and, $identifier,
// =); both load. The evaluated query is what Port receives.

// combinators and operators are the values Port's search API accepts
// (docs.port.io, search-and-query/structure-and-syntax and operators).
var (
	combinators = []string{"and", "or"}
	operators   = []string{"=", "!=", ">", ">=", "<", "<=", "between", "notBetween", "contains", "doesNotContains", "containsAny",
		"beginsWith", "doesNotBeginsWith", "endsWith", "doesNotEndsWith", "in", "notIn", "isEmpty", "isNotEmpty", "relatedTo"}
)

// bareProperty is a property identifier written without jq quotes
// ($identifier, github_username). As jq such a word is an undefined
// variable or function, an error Ocean would turn into null, so reading
// it as the identifier it names loses nothing Ocean keeps.
var bareProperty = regexp.MustCompile(`^\$?[A-Za-z_][A-Za-z0-9_-]*$`)

type searchQuery struct {
	combinator *textExpr
	rules      []searchRule
}

type searchRule struct {
	property, operator *textExpr
	value              *expr        // a rule
	nested             *searchQuery // or a nested query
}

// textExpr is a combinator, property or operator: a constant (bare, or a
// jq string literal, read when the mapping loads) or a jq expression
// evaluated per object.
type textExpr struct {
	lit     string
	jq      *expr
	allowed []string // nil: any non-empty string
}

// compileText reads one of a query's text fields. A bare value is taken
// as written when it is one of allowed (or, without allowed, a property
// identifier); anything else must be jq. rule says what is expected, for
// errors.
func (r *Resource) compileText(field string, v any, allowed []string, rule string) (*textExpr, error) {
	fail := func(src string, err error) error {
		return &Error{Resource: r.Index, Kind: r.Kind, Field: field, Expr: src, Err: err}
	}
	src, err := selector.AsString(v)
	src = strings.TrimSpace(src)
	if err != nil || src == "" {
		return nil, fail("", fmt.Errorf("is required: %s", rule))
	}
	bare := slices.Contains(allowed, src)
	if allowed == nil {
		bare = bareProperty.MatchString(src)
	}
	if bare {
		return &textExpr{lit: src, allowed: allowed}, nil
	}
	e, err := r.compile(field, src)
	if err != nil {
		return nil, fail(src, fmt.Errorf("must be %s, got %s (%w)", rule, selector.Shown(src), err))
	}
	t := &textExpr{jq: e, allowed: allowed}
	if lit, err := strconv.Unquote(src); err == nil {
		// A jq string literal: checked now, not once per object.
		if err := t.check(lit); err != nil {
			return nil, fail(src, fmt.Errorf("must be %s: %w", rule, err))
		}
		t.lit, t.jq = lit, nil
	}
	return t, nil
}

// check tells whether s is a value the field accepts.
func (t *textExpr) check(s string) error {
	if s == "" {
		return errors.New("returned an empty string")
	}
	if t.allowed != nil && !slices.Contains(t.allowed, s) {
		return fmt.Errorf("returned %s, not one of %s", selector.Shown(s), strings.Join(t.allowed, ", "))
	}
	return nil
}

func (t *textExpr) eval(ctx context.Context, obj any) (string, error) {
	if t.jq == nil {
		return t.lit, nil
	}
	v, err := t.jq.eval(ctx, obj)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("must return a string, got %s", typeName(v))
	}
	return s, t.check(s)
}

func (r *Resource) compileQuery(field string, m map[string]any) (*searchQuery, error) {
	fail := func(f string, err error) error { return &Error{Resource: r.Index, Kind: r.Kind, Field: f, Err: err} }
	for k := range m {
		if k != "combinator" && k != "rules" {
			return nil, fail(field+"."+k, selector.UnknownKey("search query key", k, []string{"combinator", "rules"}))
		}
	}
	comb, err := r.compileText(field+".combinator", m["combinator"], combinators, `and or or (or a jq expression returning one, as Port's docs write it: '"and"')`)
	if err != nil {
		return nil, err
	}
	rules, ok := m["rules"].([]any)
	if !ok || len(rules) == 0 {
		return nil, fail(field+".rules", errors.New("must be a non-empty list of {property, operator, value} or nested {combinator, rules}"))
	}
	q := &searchQuery{combinator: comb}
	for i, x := range rules {
		f := fmt.Sprintf("%s.rules[%d]", field, i)
		rm, _ := x.(map[string]any)
		if rm == nil {
			return nil, fail(f, fmt.Errorf("must be a rule, got %s", selector.Shown(x)))
		}
		if _, nested := rm["combinator"]; nested {
			n, err := r.compileQuery(f, rm)
			if err != nil {
				return nil, err
			}
			q.rules = append(q.rules, searchRule{nested: n})
			continue
		}
		for k := range rm {
			if k != "property" && k != "operator" && k != "value" {
				return nil, fail(f+"."+k, selector.UnknownKey("search rule key", k, []string{"property", "operator", "value"}))
			}
		}
		var rule searchRule
		if rule.property, err = r.compileText(f+".property", rm["property"], nil, `a property identifier ($identifier, $title, myProperty) or a jq expression returning one ('"$identifier"')`); err != nil {
			return nil, err
		}
		if rule.operator, err = r.compileText(f+".operator", rm["operator"], operators, "one of Port's search operators ("+strings.Join(operators, ", ")+`) or a jq expression returning one ('"="')`); err != nil {
			return nil, err
		}
		src, err := selector.AsString(rm["value"])
		if err != nil {
			return nil, fail(f+".value", errors.New("must be a jq expression string"))
		}
		if rule.value, err = r.compile(f+".value", src); err != nil {
			return nil, &Error{Resource: r.Index, Kind: r.Kind, Field: f + ".value", Expr: src, Err: err}
		}
		q.rules = append(q.rules, rule)
	}
	return q, nil
}

// eval returns the query with every part evaluated on obj: what Port
// resolves. On failure it names the expression that failed.
func (q *searchQuery) eval(ctx context.Context, obj any) (any, *expr, error) {
	comb, err := q.combinator.eval(ctx, obj)
	if err != nil {
		return nil, q.combinator.jq, err
	}
	rules := make([]any, 0, len(q.rules))
	for _, rl := range q.rules {
		if rl.nested != nil {
			n, e, err := rl.nested.eval(ctx, obj)
			if err != nil {
				return nil, e, err
			}
			rules = append(rules, n)
			continue
		}
		prop, err := rl.property.eval(ctx, obj)
		if err != nil {
			return nil, rl.property.jq, err
		}
		op, err := rl.operator.eval(ctx, obj)
		if err != nil {
			return nil, rl.operator.jq, err
		}
		val, err := rl.value.eval(ctx, obj)
		if err != nil {
			return nil, rl.value, err
		}
		rules = append(rules, map[string]any{"property": prop, "operator": op, "value": val})
	}
	return map[string]any{"combinator": comb, "rules": rules}, nil, nil
}
