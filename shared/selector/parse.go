package selector

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Error is a selector option that does not load: the field
// ("selector.states", "selector.folders[0].path") and the rule it breaks.
type Error struct {
	Field string
	Err   error
}

func (e *Error) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// resource is the selector being parsed: its kind, its raw options
// (without query) and the options read so far.
type resource struct {
	Kind     string
	Selector map[string]any
	Options  Options
}

// Parse reads and checks the kind-specific options of a selector (raw,
// without query), starting from the defaults of gen; warn receives the
// options that load but do nothing. An error names the field and the
// rule; an unknown option suggests the nearest known one.
func Parse(kind string, gen Generation, raw map[string]any, warn func(string)) (Options, *Error) {
	r := &resource{Kind: kind, Selector: raw}
	err := r.parseSelector(gen, warn)
	return r.Options, err
}

// parseSelector reads and validates the kind-specific selector options,
// starting from the defaults of gen.
func (r *resource) parseSelector(gen Generation, warn func(string)) *Error {
	known := join(commonOptions, selectorOptions[r.Kind])
	keys := make([]string, 0, len(r.Selector))
	for k := range r.Selector {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			return &Error{"selector." + k, UnknownKey("option for kind "+r.Kind, k, known)}
		}
		if why, ok := ignoredOptions[k]; ok {
			warn(fmt.Sprintf("selector.%s is accepted but has no effect: %s", k, why))
		}
		if slices.Contains(inheritedOnly[r.Kind], k) {
			warn(fmt.Sprintf("selector.%s has no effect on kind %s (Ocean ignores it there too)", k, r.Kind))
		}
	}
	o := &r.Options
	*o = Defaults(gen, r.Kind)
	for _, opt := range scalarOptions {
		v, ok := r.Selector[opt.key]
		if !ok || (v == nil && opt.nullable) {
			continue
		}
		if e := opt.read(o, v); e != nil {
			return &Error{"selector." + opt.key, e}
		}
	}
	if o.Regex != "" {
		if _, e := regexp.Compile(o.Regex); e != nil {
			return &Error{"selector.regex", fmt.Errorf("invalid regular expression: %v", e)}
		}
	}
	if err := r.parseQueryParams(); err != nil {
		return err
	}
	if err := r.parseFilesAndFolders(gen); err != nil {
		return err
	}
	if err := r.parseAgents(); err != nil {
		return err
	}
	if v, ok := r.Selector["includedFiles"]; ok && v != nil {
		list, e := AsStrings(v)
		for _, s := range list {
			if e == nil && s == "" {
				e = errors.New("must be a list of file paths, got an empty path")
			}
		}
		if e != nil {
			return &Error{"selector.includedFiles", e}
		}
		o.IncludedFiles = list
	}
	if v, ok := r.Selector["searchQueries"]; ok && v != nil {
		return objects("searchQueries", v, "{name, scope, query}", "{name, scope, query}", []string{"name", "scope", "query"}, func(field string, m map[string]any) *Error {
			var q SearchQuery
			var e error
			if q.Name, e = AsString(m["name"]); e != nil || q.Name == "" {
				return &Error{field + ".name", errors.New("is required: the key under __searchQueries")}
			}
			if q.Query, e = AsString(m["query"]); e != nil || q.Query == "" {
				return &Error{field + ".query", errors.New("is required: GitLab search terms, e.g. filename:port.yml")}
			}
			q.Scope = "blobs"
			if s, ok := m["scope"]; ok && s != nil {
				if q.Scope, e = AsString(s); e != nil || q.Scope == "" {
					return &Error{field + ".scope", errors.New("must be a GitLab project search scope, e.g. blobs, commits, wiki_blobs")}
				}
			}
			o.SearchQueries = append(o.SearchQueries, q)
			return nil
		})
	}
	return nil
}

// objects reads the value v of option key as a list of objects with the
// given keys, and each object with read; list and item describe the
// value wanted ("{name, scope, query}") in a refusal. An unknown key is
// refused with the nearest known one.
func objects(key string, v any, list, item string, keys []string, read func(field string, m map[string]any) *Error) *Error {
	l, isList := v.([]any)
	if !isList {
		return &Error{"selector." + key, fmt.Errorf("must be a list of %s, got %s", list, Shown(v))}
	}
	for i, x := range l {
		field := fmt.Sprintf("selector.%s[%d]", key, i)
		m, _ := x.(map[string]any)
		if m == nil {
			return &Error{field, fmt.Errorf("must be %s, got %s", item, Shown(x))}
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !slices.Contains(keys, k) {
				return &Error{field + "." + k, UnknownKey(key+" option", k, keys)}
			}
		}
		if err := read(field, m); err != nil {
			return err
		}
	}
	return nil
}

// parseQueryParams reads apiQueryParams and pipelineQueryParams. For
// deployments Ocean's option names (updatedAfter, finishedAfter…) become
// GitLab's, and a finished-at window orders by finished_at and needs
// status success (integrations/gitlab-v2/integration.py,
// GitlabDeploymentQueryParams).
func (r *resource) parseQueryParams() *Error {
	o := &r.Options
	for _, key := range []string{"apiQueryParams", "pipelineQueryParams"} {
		v, ok := r.Selector[key]
		if !ok || v == nil {
			continue
		}
		m, isMap := v.(map[string]any)
		if !isMap {
			return &Error{"selector." + key, fmt.Errorf("must be a map of GitLab query parameters, got %s", Shown(v))}
		}
		dst := &o.APIQueryParams
		if key == "pipelineQueryParams" && r.Kind == KindJob {
			dst = &o.PipelineQueryParams
		}
		if *dst == nil {
			*dst = url.Values{}
		}
		for k, x := range m {
			name := k
			if r.Kind == KindDeployment {
				name = snakeCase(k)
			}
			switch x := x.(type) {
			case nil:
			case []any:
				// GitLab's array parameters: scope[]=a&scope[]=b.
				arr := strings.TrimSuffix(name, "[]") + "[]"
				for _, e := range x {
					s, err := queryValue(e)
					if err != nil {
						return &Error{"selector." + key + "." + k, err}
					}
					dst.Add(arr, s)
				}
			default:
				s, err := queryValue(x)
				if err != nil {
					return &Error{"selector." + key + "." + k, err}
				}
				dst.Set(name, s)
			}
		}
		if r.Kind == KindDeployment {
			q := *dst
			if q.Get("finished_after") != "" || q.Get("finished_before") != "" {
				if q.Get("status") != "success" {
					return &Error{"selector.apiQueryParams.status", errors.New("must be success when finishedAfter or finishedBefore is set (GitLab orders by finished_at only for successful deployments)")}
				}
				q.Set("order_by", "finished_at")
			}
		}
	}
	return nil
}

func queryValue(v any) (string, error) {
	switch x := v.(type) {
	case bool:
		return fmt.Sprint(x), nil
	case map[string]any, []any:
		return "", fmt.Errorf("must be a value or a list of values, got %s", Shown(v))
	}
	return AsString(v)
}

// snakeCase turns Ocean's camelCase option names into GitLab's.
func snakeCase(s string) string {
	var b strings.Builder
	for i, c := range s {
		if c >= 'A' && c <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}
