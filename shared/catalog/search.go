package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// SearchKey is the canonical JSON of a search query (object keys sorted,
// as encoding/json writes maps): what an entity whose identifier is that
// query is known by until it is resolved, as Ocean keys such entities
// (port_ocean/core/utils/entity_identifier.py, normalize_identifier).
func SearchKey(q map[string]any) string {
	b, err := json.Marshal(q)
	if err != nil {
		return fmt.Sprint(q)
	}
	return string(b)
}

// SearchResolver is a Store that resolves search identifiers itself (the
// Port sink: Port evaluates the query on upsert); entities with Search set
// are written to it as they are.
type SearchResolver interface {
	ResolvesSearch() bool
}

// SearchError is a search identifier that cannot name one entity: it
// matched none (Port then creates nothing), several (Port refuses the
// write), or uses what only Port evaluates.
type SearchError struct {
	Blueprint string
	Query     string // SearchKey of the query
	// Matches are the identifiers found (the first 5), Count how many.
	Matches []string
	Count   int
	// Unsupported is a part of the query that cannot be evaluated
	// against this catalog.
	Unsupported string
}

func (e *SearchError) Error() string {
	switch {
	case e.Unsupported != "":
		return fmt.Sprintf("search identifier %s: %s cannot be evaluated against this catalog (Port supports = and in on $identifier, $title and properties; with catalog: port, Port resolves it)", e.Query, e.Unsupported)
	case e.Count == 0:
		return fmt.Sprintf("search identifier %s matched no %s entity; as in Port, none is created", e.Query, e.Blueprint)
	}
	more := ""
	if e.Count > len(e.Matches) {
		more = fmt.Sprintf(" and %d more", e.Count-len(e.Matches))
	}
	return fmt.Sprintf("search identifier %s matched %d %s entities (%s%s); as in Port, it must match exactly one", e.Query, e.Count, e.Blueprint, strings.Join(e.Matches, ", "), more)
}

// ResolveSearch turns e's search identifier into the identifier of the one
// entity of e.Blueprint in st that it matches, as Port does on upsert
// (docs: "Map by property": the query runs on the request's blueprint, must
// return exactly one entity, else the write fails, and creates nothing;
// only = and in). Rules on $identifier, $title, $team and properties,
// combined with and/or, nested, are evaluated; anything else is a
// SearchError, as are zero or several matches. e is changed only on
// success: Identifier set, Search cleared.
func ResolveSearch(ctx context.Context, st Store, e *Entity) error {
	if e.Search == nil {
		return nil
	}
	key := SearchKey(e.Search)
	if bad := unsupported(e.Search); bad != "" {
		return &SearchError{Blueprint: e.Blueprint, Query: key, Unsupported: bad}
	}
	se := &SearchError{Blueprint: e.Blueprint, Query: key}
	err := st.Each(ctx, Filter{Blueprint: e.Blueprint}, func(c *Entity) error {
		if searchMatches(e.Search, c) {
			se.Count++
			if len(se.Matches) < 5 {
				se.Matches = append(se.Matches, c.Identifier)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("catalog: resolving search identifier %s: %w", key, err)
	}
	if se.Count != 1 {
		return se
	}
	e.Identifier, e.Search = se.Matches[0], nil
	return nil
}

// unsupported names the first part of q that ResolveSearch cannot
// evaluate, or "".
func unsupported(q map[string]any) string {
	if _, isGroup := q["rules"]; isGroup {
		switch c, _ := q["combinator"].(string); c {
		case "and", "or":
		default:
			return fmt.Sprintf("combinator %q", q["combinator"])
		}
		rules, ok := q["rules"].([]any)
		if !ok || len(rules) == 0 {
			return "a group without rules"
		}
		for _, r := range rules {
			m, ok := r.(map[string]any)
			if !ok {
				return "a rule that is not an object"
			}
			if bad := unsupported(m); bad != "" {
				return bad
			}
		}
		return ""
	}
	prop, ok := q["property"].(string)
	if !ok || prop == "" {
		return "a rule without a property"
	}
	if strings.HasPrefix(prop, "$") && prop != "$identifier" && prop != "$title" && prop != "$team" {
		return "property " + prop
	}
	switch op, _ := q["operator"].(string); op {
	case "=":
	case "in":
		if _, ok := q["value"].([]any); !ok {
			return "operator in without a list"
		}
	default:
		return fmt.Sprintf("operator %q", q["operator"])
	}
	return ""
}

// searchMatches evaluates a query unsupported accepted on c.
func searchMatches(q map[string]any, c *Entity) bool {
	if rules, ok := q["rules"].([]any); ok {
		or := q["combinator"] == "or"
		for _, r := range rules {
			m := searchMatches(r.(map[string]any), c)
			if or && m {
				return true
			}
			if !or && !m {
				return false
			}
		}
		return !or
	}
	var have any
	switch p := q["property"].(string); p {
	case "$identifier":
		have = c.Identifier
	case "$title":
		have = c.Title
	case "$team":
		have = c.Team
	default:
		v, ok := c.Properties[p]
		if !ok {
			return false
		}
		have = v
	}
	if q["operator"] == "in" {
		for _, v := range q["value"].([]any) {
			if sameValue(have, v) {
				return true
			}
		}
		return false
	}
	return sameValue(have, q["value"])
}

// sameValue compares JSON values (numbers of any Go type as float64).
func sameValue(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	na, aok := number(a)
	nb, bok := number(b)
	if aok || bok {
		return aok && bok && na == nb
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// AsSearchError returns the SearchError in err's chain, if any.
func AsSearchError(err error) (*SearchError, bool) {
	var se *SearchError
	ok := errors.As(err, &se)
	return se, ok
}
