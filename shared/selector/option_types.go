package selector

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"
)

// The types of the selector options that are more than one scalar: each
// reads its YAML node with UnmarshalYAML, the scalars in it with the
// scalar types' coercions, and names the part of the value it refuses
// (fieldError) so that Parse names the whole field. Parse has already
// passed over null where an option allows it.

// labelList is the issue kind's labels: a list, or GitLab's
// comma-separated form.
type labelList []string

// Set reads v into l.
func (l *labelList) Set(v any) error {
	if s, ok := v.(string); ok {
		*l = strings.Split(s, ",")
		return nil
	}
	var list Strings
	err := list.Set(v)
	*l = labelList(list)
	return err
}

// UnmarshalYAML reads a YAML node with Set's rules.
func (l *labelList) UnmarshalYAML(n *yaml.Node) error { return setNode(n, l.Set) }

// filePaths is the project selector's includedFiles: file paths, none
// empty.
type filePaths []string

// Set reads v into f.
func (f *filePaths) Set(v any) error {
	return setChecked(v, (*[]string)(f), func(list []string) error {
		if slices.Contains(list, "") {
			return errors.New("must be a list of file paths, got an empty path")
		}
		return nil
	})
}

// UnmarshalYAML reads a YAML node with Set's rules.
func (f *filePaths) UnmarshalYAML(n *yaml.Node) error { return setNode(n, f.Set) }

// pluginProviders is the plugin kind's providers: names from
// PluginProviders.
type pluginProviders []string

// Set reads v into p.
func (p *pluginProviders) Set(v any) error {
	return setChecked(v, (*[]string)(p), func(list []string) error {
		for _, name := range list {
			if !slices.Contains(PluginProviders, name) {
				return UnknownKey("provider", name, PluginProviders)
			}
		}
		return nil
	})
}

// setChecked reads v as Strings into *dst when check accepts the list;
// *dst is unchanged on a refusal.
func setChecked(v any, dst *[]string, check func([]string) error) error {
	var list Strings
	if err := list.Set(v); err != nil {
		return err
	}
	if err := check(list); err != nil {
		return err
	}
	*dst = list
	return nil
}

// UnmarshalYAML reads a YAML node with Set's rules.
func (p *pluginProviders) UnmarshalYAML(n *yaml.Node) error { return setNode(n, p.Set) }

// searchStrategy is how the file kind finds files.
type searchStrategy string

// Set reads v into s.
func (s *searchStrategy) Set(v any) error {
	st, _ := AsString(v)
	if st != "repositoryTree" && st != "projectSearch" && st != "groupSearch" {
		return fmt.Errorf("must be repositoryTree, projectSearch or groupSearch, got %s", Shown(v))
	}
	*s = searchStrategy(st)
	return nil
}

// UnmarshalYAML reads a YAML node with Set's rules.
func (s *searchStrategy) UnmarshalYAML(n *yaml.Node) error { return setNode(n, s.Set) }

// queryValue is one value of a GitLab query parameter: a string, a
// number or a boolean, written as GitLab reads it.
type queryValue string

// Set reads v into q.
func (q *queryValue) Set(v any) error {
	switch x := v.(type) {
	case bool:
		*q = queryValue(fmt.Sprint(x))
		return nil
	case map[string]any, []any:
		return fmt.Errorf("must be a value or a list of values, got %s", Shown(v))
	}
	s, err := AsString(v)
	if err == nil {
		*q = queryValue(s)
	}
	return err
}

// UnmarshalYAML reads a YAML node with Set's rules.
func (q *queryValue) UnmarshalYAML(n *yaml.Node) error { return setNode(n, q.Set) }

// queryParams are apiQueryParams or pipelineQueryParams as written, in
// name order; a parameter set to null is left out.
type queryParams []queryParam

// queryParam is one parameter: a list stands for GitLab's array form
// (scope[]=a&scope[]=b).
type queryParam struct {
	name   string
	values []string
	list   bool
}

// UnmarshalYAML reads a map of parameters.
func (q *queryParams) UnmarshalYAML(n *yaml.Node) error {
	o, ok := asObject(n)
	if !ok {
		return fmt.Errorf("must be a map of GitLab query parameters, got %s", Shown(decoded(n)))
	}
	params := queryParams{}
	for _, k := range o.keys {
		v := o.get(k)
		if isNull(v) {
			continue
		}
		p := queryParam{name: k}
		items := []*yaml.Node{v}
		if _, p.list = decoded(v).([]any); p.list {
			items = elements(v)
		}
		for _, item := range items {
			var s queryValue
			if err := decode(item, &s); err != nil {
				return &fieldError{"." + k, err}
			}
			p.values = append(p.values, string(s))
		}
		params = append(params, p)
	}
	*q = params
	return nil
}

// filesSelector is the file kind's files. Its searchStrategy is read
// after the one beside files (readFiles), as it always was.
type filesSelector struct {
	path        string
	repos       []string
	skipParsing *bool
	strategy    *yaml.Node
}

// UnmarshalYAML reads {path, repos, skipParsing, searchStrategy}.
func (f *filesSelector) UnmarshalYAML(n *yaml.Node) error {
	o, _ := asObject(n)
	if err := o.only("files option", []string{"path", "repos", "skipParsing", "searchStrategy"}); err != nil {
		return err
	}
	p := loose[String](o.get("path"))
	if p == "" || !doublestar.ValidatePattern(string(p)) {
		return &fieldError{".path", fmt.Errorf("must be a valid glob, got %s", Shown(decoded(o.get("path"))))}
	}
	f.path = string(p)
	if o.has("skipParsing") {
		var b Bool
		if err := decode(o.get("skipParsing"), &b); err != nil {
			return &fieldError{".skipParsing", err}
		}
		f.skipParsing = (*bool)(&b)
	}
	if o.has("repos") {
		var list Strings
		if err := decode(o.get("repos"), &list); err != nil {
			return &fieldError{".repos", fmt.Errorf("must be a list of project paths: %w", err)}
		}
		f.repos = list
	}
	f.strategy = o.get("searchStrategy")
	return nil
}

// folders is the folder kind's folders. An entry that is not an object
// reads as an empty one (a folder path of "", every project's root).
type folders []Folder

// UnmarshalYAML reads a list of {path, repos, branch}.
func (f *folders) UnmarshalYAML(n *yaml.Node) error {
	for i, item := range elements(n) {
		field := fmt.Sprintf("[%d]", i)
		o, _ := asObject(item)
		if err := o.only("folders option", []string{"path", "repos", "branch"}); err != nil {
			return within(field, err)
		}
		p := loose[String](o.get("path"))
		if !doublestar.ValidatePattern(string(p)) {
			return &fieldError{field + ".path", fmt.Errorf("must be a folder path or glob, got %s", Shown(decoded(o.get("path"))))}
		}
		// Ocean v1 names repos as strings with one branch for the
		// entry; v2 as {name, branch} with branch defaulting to main
		// (integrations/gitlab-v2/integration.py,
		// RepositoryBranchMapping).
		entryBranch := string(loose[String](o.get("branch")))
		fs := Folder{Path: string(p)}
		var repos []*yaml.Node
		if _, isList := decoded(o.get("repos")).([]any); isList {
			repos = elements(o.get("repos"))
		} else if o.has("repos") {
			return &fieldError{field + ".repos", fmt.Errorf("must be a list of project names or {name, branch}, got %s", Shown(decoded(o.get("repos"))))}
		}
		for j, repo := range repos {
			fr := folderRepo(repo, entryBranch)
			if fr.Name == "" {
				return &fieldError{fmt.Sprintf("%s.repos[%d]", field, j), errors.New("needs a project name (path_with_namespace or path)")}
			}
			fs.Repos = append(fs.Repos, fr)
		}
		*f = append(*f, fs)
	}
	return nil
}

// folderRepo reads one of a folder entry's repos: a project name taking
// the entry's branch, or {name, branch}; anything else has no name.
func folderRepo(n *yaml.Node, entryBranch string) FolderRepo {
	switch v := decoded(n).(type) {
	case string:
		return FolderRepo{Name: v, Branch: entryBranch}
	case map[string]any:
		o, _ := asObject(n)
		fr := FolderRepo{Name: string(loose[String](o.get("name")))}
		switch {
		case o.has("branch"):
			fr.Branch = string(loose[String](o.get("branch")))
		case entryBranch != "":
			fr.Branch = entryBranch
		default:
			fr.Branch = "main"
		}
		return fr
	}
	return FolderRepo{}
}

// skillPaths is the skill kind's paths.
type skillPaths []SkillPath

// UnmarshalYAML reads a list of {path, repos}.
func (s *skillPaths) UnmarshalYAML(n *yaml.Node) error {
	return objectList(n, "paths", "{path, repos}", "{path: GLOB, repos: [...]}", []string{"path", "repos"}, func(o object) error {
		p := loose[String](o.get("path"))
		if p == "" || !doublestar.ValidatePattern(string(p)) {
			return &fieldError{".path", fmt.Errorf("must be a SKILL.md glob, got %s", Shown(decoded(o.get("path"))))}
		}
		sp := SkillPath{Path: string(p)}
		if o.has("repos") {
			var repos Strings
			if err := decode(o.get("repos"), &repos); err != nil {
				return &fieldError{".repos", err}
			}
			sp.Repos = repos
		}
		*s = append(*s, sp)
		return nil
	})
}

// searchQueries is the project selector's searchQueries.
type searchQueries []SearchQuery

// UnmarshalYAML reads a list of {name, scope, query}; scope defaults to
// blobs.
func (s *searchQueries) UnmarshalYAML(n *yaml.Node) error {
	return objectList(n, "searchQueries", "{name, scope, query}", "{name, scope, query}", []string{"name", "scope", "query"}, func(o object) error {
		q := SearchQuery{Name: string(loose[String](o.get("name"))), Query: string(loose[String](o.get("query"))), Scope: "blobs"}
		if q.Name == "" {
			return &fieldError{".name", errors.New("is required: the key under __searchQueries")}
		}
		if q.Query == "" {
			return &fieldError{".query", errors.New("is required: GitLab search terms, e.g. filename:port.yml")}
		}
		if o.has("scope") {
			if q.Scope = string(loose[String](o.get("scope"))); q.Scope == "" {
				return &fieldError{".scope", errors.New("must be a GitLab project search scope, e.g. blobs, commits, wiki_blobs")}
			}
		}
		*s = append(*s, q)
		return nil
	})
}
