package selector

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/glsync/terraform-provider-glsync/shared/suggest"
)

// Error is a selector option that does not load: the field
// ("selector.states", "selector.folders[0].path") and the rule it breaks.
type Error struct {
	Field string
	Err   error
}

func (e *Error) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// fail is the Error of option key refused with err, naming the part of
// the value err is about.
func fail(key string, err error) *Error {
	var fe *fieldError
	if errors.As(err, &fe) {
		return &Error{"selector." + key + fe.path, fe.err}
	}
	return &Error{"selector." + key, err}
}

// Parse reads and checks the kind-specific options of a selector (as the
// mapping decoded it, without query), starting from the defaults of gen;
// warn receives the options that load but do nothing. An error names the
// field and the rule; an unknown option suggests the nearest known one.
// Options are read in a fixed order (the scalar options, then the lists
// and objects), so the first refusal does not depend on the order of
// the document.
func Parse(kind string, gen Generation, raw map[string]any, warn func(string)) (Options, *Error) {
	sel, _ := asObject(valueNode(raw))
	var o Options
	err := parseSelector(kind, gen, sel, &o, warn)
	return o, err
}

// parseSelector reads sel's options into o, starting from the defaults
// of gen.
func parseSelector(kind string, gen Generation, sel object, o *Options, warn func(string)) *Error {
	known := join(commonOptions, selectorOptions[kind])
	for _, k := range sel.keys {
		if !slices.Contains(known, k) {
			return &Error{"selector." + k, UnknownKey("option for kind "+kind, k, known)}
		}
		if why, ok := ignoredOptions[k]; ok {
			warn(fmt.Sprintf("selector.%s is accepted but has no effect: %s", k, why))
		}
		if slices.Contains(inheritedOnly[kind], k) {
			warn(fmt.Sprintf("selector.%s has no effect on kind %s (Ocean ignores it there too)", k, kind))
		}
	}
	*o = Defaults(gen, kind)
	for _, opt := range scalarOptions {
		n := sel.get(opt.key)
		if n == nil || (isNull(n) && opt.nullable) {
			continue
		}
		if err := opt.read(o, n); err != nil {
			return fail(opt.key, err)
		}
	}
	if o.Regex != "" {
		if _, e := regexp.Compile(o.Regex); e != nil {
			return &Error{"selector.regex", fmt.Errorf("invalid regular expression: %v", e)}
		}
	}
	for _, read := range []func(kind string, sel object, o *Options) *Error{readQueryParams, readFiles, readFolders, readAgents} {
		if err := read(kind, sel, o); err != nil {
			return err
		}
	}
	if err := option(sel, "includedFiles", func(files filePaths) { o.IncludedFiles = files }); err != nil {
		return err
	}
	return option(sel, "searchQueries", func(q searchQueries) { o.SearchQueries = append(o.SearchQueries, q...) })
}

// option decodes option key into a T, when sel sets it to something
// other than null, and hands the value to use.
func option[T any](sel object, key string, use func(T)) *Error {
	n := sel.get(key)
	if isNull(n) {
		return nil
	}
	var x T
	if err := n.Decode(&x); err != nil {
		return fail(key, err)
	}
	use(x)
	return nil
}

// readQueryParams reads apiQueryParams and pipelineQueryParams. For
// deployments Ocean's option names (updatedAfter, finishedAfter…) become
// GitLab's, and a finished-at window orders by finished_at and needs
// status success (integrations/gitlab-v2/integration.py,
// GitlabDeploymentQueryParams).
func readQueryParams(kind string, sel object, o *Options) *Error {
	for _, key := range []string{"apiQueryParams", "pipelineQueryParams"} {
		n := sel.get(key)
		if isNull(n) {
			continue
		}
		var params queryParams
		if err := n.Decode(&params); err != nil {
			return fail(key, err)
		}
		dst := &o.APIQueryParams
		if key == "pipelineQueryParams" && kind == KindJob {
			dst = &o.PipelineQueryParams
		}
		if *dst == nil {
			*dst = url.Values{}
		}
		for _, p := range params {
			name := p.name
			if kind == KindDeployment {
				name = snakeCase(name)
			}
			if !p.list {
				dst.Set(name, p.values[0])
				continue
			}
			// GitLab's array parameters: scope[]=a&scope[]=b.
			arr := strings.TrimSuffix(name, "[]") + "[]"
			for _, v := range p.values {
				dst.Add(arr, v)
			}
		}
		if kind == KindDeployment {
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

// readFiles reads the file kind's files, and searchStrategy beside it.
func readFiles(kind string, sel object, o *Options) *Error {
	if kind != KindFile {
		return nil
	}
	n := sel.get("files")
	if _, ok := asObject(n); !ok {
		return &Error{"selector.files", errors.New("is required: {path: GLOB, repos: [...], skipParsing: false, searchStrategy: groupSearch}")}
	}
	var f filesSelector
	if err := n.Decode(&f); err != nil {
		return fail("files", err)
	}
	o.Files.Path, o.Files.Repos = f.path, f.repos
	if f.skipParsing != nil {
		o.Files.SkipParsing = *f.skipParsing
	}
	// Ocean v2 nests searchStrategy under files; glsync 0.x read it
	// beside files, which still works (and is read first).
	for _, src := range []struct {
		key string
		n   *yaml.Node
	}{{"searchStrategy", sel.get("searchStrategy")}, {"files.searchStrategy", f.strategy}} {
		if isNull(src.n) {
			continue
		}
		var st searchStrategy
		if err := src.n.Decode(&st); err != nil {
			return fail(src.key, err)
		}
		o.Files.Strategy = string(st)
	}
	return nil
}

// readFolders reads the folder kind's folders.
func readFolders(kind string, sel object, o *Options) *Error {
	if kind != KindFolder {
		return nil
	}
	n := sel.get("folders")
	if l, ok := decoded(n).([]any); !ok || len(l) == 0 {
		return &Error{"selector.folders", errors.New("is required: a list of {path: GLOB, repos: [{name, branch}]}")}
	}
	var list folders
	if err := n.Decode(&list); err != nil {
		return fail("folders", err)
	}
	o.Folders = append(o.Folders, list...)
	return nil
}

// readAgents reads the skill kind's paths and the plugin kind's
// providers and repos (gitlab-v2/integration.py, GitLabSkillSelector and
// GitLabPluginSelector; a paths entry takes no other keys).
func readAgents(kind string, sel object, o *Options) *Error {
	switch kind {
	case KindSkill:
		if isNull(sel.get("paths")) {
			for _, p := range DefaultSkillPaths {
				o.SkillPaths = append(o.SkillPaths, SkillPath{Path: p})
			}
			return nil
		}
		return option(sel, "paths", func(p skillPaths) { o.SkillPaths = append(o.SkillPaths, p...) })
	case KindPlugin:
		o.Providers = PluginProviders
		if err := option(sel, "providers", func(p pluginProviders) { o.Providers = p }); err != nil {
			return err
		}
		return option(sel, "repos", func(repos Strings) { o.PluginRepos = repos })
	}
	return nil
}

// UnknownKey is the error for a key nobody knows, with the closest known
// key as a suggestion when one is near.
func UnknownKey(what, key string, known []string) error {
	if best, ok := suggest.Nearest(key, known); ok {
		return fmt.Errorf("unknown %s %q; did you mean %q?", what, key, best)
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	return fmt.Errorf("unknown %s %q (known: %s)", what, key, strings.Join(sorted, ", "))
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
