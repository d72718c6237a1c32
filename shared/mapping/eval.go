package mapping

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"

	"github.com/itchyny/gojq"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
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

// Reference prefixes: a mapping value that starts with one is not jq but a
// read from the object's repository, resolved after mapping (see
// crawl.References). Ocean routes such values to its FileEntityProcessor
// and SearchEntityProcessor (integrations/gitlab-v2/integration.py,
// GitManipulationHandler) and logs that they are deprecated.
const (
	FilePrefix   = "file://"
	SearchPrefix = "search://"
)

// compile is the package compile for one of the resource's fields: it
// records the source (see Reads) and turns an unquoted file:// or
// search:// value into the string the reference resolver reads.
func (r *Resource) compile(field, src string) (*expr, error) {
	r.reads = append(r.reads, src)
	trimmed := strings.TrimSpace(src)
	if strings.HasPrefix(trimmed, FilePrefix) || strings.HasPrefix(trimmed, SearchPrefix) {
		r.warned(deprecation(field, trimmed))
		return compile(field, strconv.Quote(trimmed))
	}
	return compile(field, src)
}

// deprecation is Ocean's warning for a file:// or search:// mapping
// value, with the field it is in.
func deprecation(field, pattern string) string {
	if rest, ok := strings.CutPrefix(pattern, FilePrefix); ok {
		return fmt.Sprintf("%s: DEPRECATION: Using 'file://' prefix in mappings is deprecated and will be removed in a future version. "+
			"Pattern: '%s'. Use the 'includedFiles' selector instead. Example: selector.includedFiles: ['%s'] and mapping: .__includedFiles[\"%s\"]",
			field, pattern, rest, rest)
	}
	return fmt.Sprintf("%s: DEPRECATION: Using 'search://' prefix in mappings is deprecated and will be removed in a future version. "+
		"Pattern: '%s'. Use the 'searchQueries' selector instead. Example: selector.searchQueries: [{name: '<queryName>', scope: '<scope>', query: '<query>'}] "+
		"Then map to .__searchQueries[\"<queryName>\"]", field, pattern)
}

// Reads reports whether any of the resource's expressions may read the
// raw object's field name (e.g. "__languages"): it names the field, or
// hands the whole object on (., tojson, to_entries, keys…). Enrichments
// that cost requests are fetched only for resources that read them.
func (r *Resource) Reads(field string) bool {
	for _, src := range r.reads {
		if strings.Contains(src, field) || readsWhole(src) {
			return true
		}
	}
	return false
}

// wholeObject matches expressions that start by passing the whole input
// on: the identity, recursion, or a builtin that reads every key.
var wholeObject = regexp.MustCompile(`^\s*(\.\s*($|\||as\b|\))|\.\.|tojson\b|tostring\b|to_entries\b|keys\b|keys_unsorted\b|with_entries\b|paths\b|leaf_paths\b|tostream\b|del\(|walk\(|map_values\(|getpath\(|@json\b|\$__loc__)`)

func readsWhole(src string) bool { return wholeObject.MatchString(src) }

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

// valueExpr is a team or relation value: a jq expression, or a Port
// search query ({combinator, rules}, Ocean core's IngestSearchQuery; see
// searchquery.go). A search query maps to the query object with its parts
// evaluated; Port resolves it.
type valueExpr struct {
	jq    *expr
	query *searchQuery
}

type namedValue struct {
	name string
	*valueExpr
}

func (r *Resource) compileValue(field string, v any) (*valueExpr, error) {
	if m, ok := v.(map[string]any); ok {
		q, err := r.compileQuery(field, m)
		if err != nil {
			return nil, err
		}
		return &valueExpr{query: q}, nil
	}
	src, err := selector.AsString(v)
	if err != nil {
		return nil, &Error{Resource: r.Index, Kind: r.Kind, Field: field, Err: errors.New("must be a jq expression string or a search query {combinator, rules}")}
	}
	e, err := r.compile(field, src)
	if err != nil {
		return nil, &Error{Resource: r.Index, Kind: r.Kind, Field: field, Expr: src, Err: err}
	}
	return &valueExpr{jq: e}, nil
}

// eval maps a value: a jq result, or the search query with its rule
// values evaluated.
func (v *valueExpr) eval(ctx context.Context, obj any) (any, *expr, error) {
	if v.jq != nil {
		out, err := v.jq.eval(ctx, obj)
		return out, v.jq, err
	}
	return v.query.eval(ctx, obj)
}

// Map applies the resource to one raw object. selected is false when
// selector.query is not true; then entity is nil. Unless the mapping is
// strict, an expression that fails maps its field to null and an object
// whose identifier or blueprint fails gives a nil entity with selected
// true and no error; the failures go to the context's Recorder (see
// WithRecorder).
func (r *Resource) Map(ctx context.Context, obj map[string]any) (entity *catalog.Entity, selected bool, err error) {
	if ok, err := r.selects(ctx, obj); err != nil || !ok {
		return nil, false, err
	}
	return r.mapSelected(ctx, obj)
}

// selects evaluates selector.query on obj.
func (r *Resource) selects(ctx context.Context, obj map[string]any) (bool, error) {
	q, err := r.query.eval(ctx, obj)
	if err != nil {
		return false, &Error{Resource: r.Index, Kind: r.Kind, Field: r.query.field, Expr: r.query.src, Err: err}
	}
	b, ok := q.(bool)
	if !ok && q != nil {
		return false, &Error{Resource: r.Index, Kind: r.Kind, Field: r.query.field, Expr: r.query.src, Err: fmt.Errorf("must return a boolean, got %s", typeName(q))}
	}
	return b, nil
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
// one per item of the array it returns. As in Ocean (port_ocean/core/
// integrations/mixins/utils.py, handle_items_to_parse), each item is the
// object (without the parsed array, unless itemsToParseTopLevelTransform
// is false) plus the item under itemsToParseName (default item), and
// selector.query is evaluated on each item. selected reports whether any
// entity was selected.
func (r *Resource) MapAll(ctx context.Context, obj map[string]any) ([]*catalog.Entity, bool, error) {
	if r.itemsToParse == nil {
		e, selected, err := r.Map(ctx, obj)
		if err != nil || !selected || e == nil {
			return nil, selected, err
		}
		return []*catalog.Entity{e}, true, nil
	}
	v, err := r.itemsToParse.eval(ctx, obj)
	if err != nil {
		return nil, false, &Error{Resource: r.Index, Kind: r.Kind, Field: "port.itemsToParse", Expr: r.itemsToParse.src, Err: err}
	}
	if v == nil {
		return nil, false, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, false, &Error{Resource: r.Index, Kind: r.Kind, Field: "port.itemsToParse", Expr: r.itemsToParse.src, Err: fmt.Errorf("must return an array, got %s", typeName(v))}
	}
	base := obj
	if r.itemsRemove != nil {
		// gojq's del() rewrites maps in place, and parts of a raw object
		// (its repo, its project) are shared with other objects mapped
		// concurrently: it works on a copy.
		t, err := r.itemsRemove.eval(ctx, deepCopy(obj))
		if err != nil {
			return nil, false, &Error{Resource: r.Index, Kind: r.Kind, Field: "port.itemsToParseTopLevelTransform", Expr: r.itemsRemove.src, Err: err}
		}
		if m, ok := t.(map[string]any); ok {
			base = m
		}
	}
	var out []*catalog.Entity
	selectedAny := false
	for _, it := range items {
		with := maps.Clone(base)
		if with == nil {
			with = map[string]any{}
		}
		with[r.itemsName] = it
		e, selected, err := r.Map(ctx, with)
		if err != nil {
			return nil, true, err
		}
		if selected {
			selectedAny = true
		}
		if e != nil {
			out = append(out, e)
		}
	}
	return out, selectedAny, nil
}

// Identify returns the blueprint and identifier the resource gives obj,
// whether or not its selector selects it: a webhook handler needs them to
// delete an entity whose object no longer matches.
func (r *Resource) Identify(ctx context.Context, obj map[string]any) (catalog.Key, error) {
	var k catalog.Key
	if r.identifierQuery != nil {
		// The key it is known by until resolved: a delete by it deletes
		// nothing, as Ocean never deletes what a search identifier wrote.
		v, e, err := r.identifierQuery.eval(ctx, obj)
		if err != nil {
			if e == nil {
				return k, &Error{Resource: r.Index, Kind: r.Kind, Field: mappingsPrefix + "identifier", Err: err}
			}
			return k, &Error{Resource: r.Index, Kind: r.Kind, Field: e.field, Expr: e.src, Err: err}
		}
		q, _ := v.(map[string]any)
		k.Identifier = catalog.SearchKey(q)
		b, err := r.blueprint.eval(ctx, obj)
		if err != nil {
			return k, &Error{Resource: r.Index, Kind: r.Kind, Field: r.blueprint.field, Expr: r.blueprint.src, Err: err}
		}
		bp, ok := b.(string)
		if !ok || bp == "" {
			return k, &Error{Resource: r.Index, Kind: r.Kind, Field: r.blueprint.field, Expr: r.blueprint.src, Err: fmt.Errorf("must return a non-empty string, got %s", typeName(b))}
		}
		k.Blueprint = bp
		return k, nil
	}
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

// Ocean's extract_jq_deletion_path_revised (port_ocean/core/integrations/
// mixins/utils.py): the first simple path in an itemsToParse expression,
// which each item's copy of the object drops.
var (
	simplePath = regexp.MustCompile(`^(\.[\w]+|\.\[[^\]]+\])(\.[\w]+|\[[^\]]+\]|\.\[[^\]]+\])*`)
	asBinding  = regexp.MustCompile(`^\.\s+as\s+\$\w+`)
	parenChain = regexp.MustCompile(`(?s)^\((.*?)\)`)
)

func deletionPath(src string) string {
	chain := strings.TrimSpace(src)
	if strings.HasPrefix(chain, "(") {
		m := parenChain.FindStringSubmatch(chain)
		if m == nil {
			return ""
		}
		chain = strings.TrimSpace(m[1])
	}
	for _, seg := range strings.Split(chain, "|") {
		seg = strings.TrimSpace(seg)
		if asBinding.MatchString(seg) || seg == "." || strings.HasPrefix(seg, "$") {
			continue
		}
		if p := simplePath.FindString(seg); p != "" {
			return strings.TrimSpace(p)
		}
	}
	return ""
}

// StaticBlueprint is the blueprint the resource always writes to, when
// its blueprint expression is a string literal ('"service"'), the usual
// case.
func (r *Resource) StaticBlueprint() (string, bool) {
	s := strings.TrimSpace(r.blueprint.src)
	if len(s) < 2 || s[0] != '"' {
		return "", false
	}
	v, err := strconv.Unquote(s)
	return v, err == nil && v != ""
}

// PropertyNames and RelationNames are the property and relation names
// the resource maps, sorted.
func (r *Resource) PropertyNames() []string {
	out := make([]string, 0, len(r.properties))
	for _, p := range r.properties {
		out = append(out, p.name)
	}
	return out
}

// RelationNames: see PropertyNames.
func (r *Resource) RelationNames() []string {
	out := make([]string, 0, len(r.relations))
	for _, p := range r.relations {
		out = append(out, p.name)
	}
	return out
}

// PropertyReads reports whether the expression of property name reads
// field.
func (r *Resource) PropertyReads(name, field string) bool {
	for _, p := range r.properties {
		if p.name == name {
			return strings.Contains(p.src, field)
		}
	}
	return false
}

// deepCopy copies a JSON value (maps and slices; scalars are immutable).
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}
