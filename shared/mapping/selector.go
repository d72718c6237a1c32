package mapping

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Selector holds the kind-specific selector options the crawler and the
// webhook handlers use, with the defaults of the integration we replace.
type Selector struct {
	// States of merge requests to sync: opened, closed, merged (default opened).
	States []string
	// State of issues to sync: opened, closed or all (default opened).
	State string
	// UpdatedAfterDays syncs merge requests and issues updated in the last
	// N days (default 90).
	UpdatedAfterDays int
	// LimitPerProject caps pipelines, jobs and releases per project, newest
	// first (default 100, one page).
	LimitPerProject int
	// IncludeBotMembers keeps bot users in member kinds (default false).
	IncludeBotMembers bool
	// IncludeInheritedMembers lists inherited members too.
	IncludeInheritedMembers bool
	// APIQueryParams are passed to GitLab for pipeline, job (the jobs
	// listing of each pipeline) and deployment; a list value becomes
	// GitLab's array form (scope[]=failed&scope[]=success).
	APIQueryParams url.Values
	// PipelineQueryParams choose the pipelines whose jobs the job kind
	// lists (for pipeline, they add to APIQueryParams).
	PipelineQueryParams url.Values
	// Branch options: DefaultBranchOnly (default true), Regex, Search.
	DefaultBranchOnly bool
	Regex, Search     string
	// Issue options: Labels (all required), IssueType, NonArchived
	// (default true: issues of archived projects are left out).
	Labels      []string
	IssueType   string
	NonArchived bool
	// Project options.
	IncludeLabels             bool
	IncludeLanguages          bool
	IncludeOnlyActiveProjects bool
	IncludedFiles             []string
	SearchQueries             []SearchQuery
	// IncludeOnlyActiveGroups leaves out groups pending deletion (always
	// on; accepted for compatibility).
	IncludeOnlyActiveGroups bool
	// Files selects the file kind: a path glob, optional repos, and
	// whether to skip parsing.
	Files FilesSelector
	// Folders selects the folder kind.
	Folders []FolderSelector
}

// FilesSelector is the file kind's selector.files.
type FilesSelector struct {
	Path        string
	Repos       []string
	SkipParsing bool
	Strategy    string
}

// FolderSelector is one entry of the folder kind's selector.folders.
type FolderSelector struct {
	Path  string
	Repos []FolderRepo
}

// FolderRepo names a project and the branch to read.
type FolderRepo struct{ Name, Branch string }

// SearchQuery is one entry of the project selector's searchQueries.
type SearchQuery struct {
	Name  string `yaml:"name"`
	Scope string `yaml:"scope"`
	Query string `yaml:"query"`
}

type selectorError struct {
	field string
	err   error
}

// selectorOptions lists the options each kind accepts.
var selectorOptions = map[string][]string{
	"group":                {"includeOnlyActiveGroups"},
	"project":              {"includeLanguages", "includeOnlyActiveProjects", "includedFiles", "searchQueries", "includeLabels"},
	"merge-request":        {"states", "updatedAfter"},
	"issue":                {"state", "updatedAfter", "labels", "issueType", "nonArchived"},
	"pipeline":             {"limitPerProject", "apiQueryParams", "pipelineQueryParams"},
	"job":                  {"limitPerProject", "apiQueryParams", "pipelineQueryParams"},
	"release":              {"limitPerProject"},
	"tag":                  {"limitPerProject"},
	"branch":               {"limitPerProject", "defaultBranchOnly", "regex", "search"},
	"deployment":           {"limitPerProject", "apiQueryParams"},
	"group-with-members":   {"includeBotMembers", "includeInheritedMembers"},
	"project-with-members": {"includeBotMembers", "includeInheritedMembers"},
	"member":               {"includeBotMembers", "includeInheritedMembers"},
	"file":                 {"files", "searchStrategy"},
	"folder":               {"folders"},
}

// parseSelector reads and validates the kind-specific selector options.
func (r *Resource) parseSelector() *selectorError {
	for k := range r.Selector {
		ok := false
		for _, want := range selectorOptions[r.Kind] {
			ok = ok || k == want
		}
		if !ok {
			return &selectorError{"selector." + k, fmt.Errorf("unknown option for kind %s (options: %s)", r.Kind, strings.Join(selectorOptions[r.Kind], ", "))}
		}
	}
	r.Options = Selector{States: []string{"opened"}, State: "opened", UpdatedAfterDays: 90, LimitPerProject: 100}
	if v, ok := r.Selector["states"]; ok {
		list, isList := v.([]any)
		if !isList || len(list) == 0 {
			return &selectorError{"selector.states", errors.New("must be a non-empty list of opened, closed, merged")}
		}
		r.Options.States = nil
		for _, x := range list {
			st, _ := x.(string)
			if st != "opened" && st != "closed" && st != "merged" {
				return &selectorError{"selector.states", fmt.Errorf("unknown state %v; use opened, closed or merged", x)}
			}
			r.Options.States = append(r.Options.States, st)
		}
	}
	if v, ok := r.Selector["state"]; ok {
		st, _ := v.(string)
		if st != "opened" && st != "closed" && st != "all" {
			return &selectorError{"selector.state", fmt.Errorf("unknown state %v; use opened, closed or all", v)}
		}
		r.Options.State = st
	}
	positive := func(key string, dst *int, max int) *selectorError {
		v, ok := r.Selector[key]
		if !ok {
			return nil
		}
		n, isInt := v.(int)
		if !isInt || n < 1 || n > max {
			return &selectorError{"selector." + key, fmt.Errorf("must be a whole number from 1 to %d, got %v", max, v)}
		}
		*dst = n
		return nil
	}
	if err := positive("updatedAfter", &r.Options.UpdatedAfterDays, 3650); err != nil {
		return err
	}
	if err := positive("limitPerProject", &r.Options.LimitPerProject, 1000); err != nil {
		return err
	}
	r.Options.DefaultBranchOnly = true
	r.Options.NonArchived = true
	if v, ok := r.Selector["labels"]; ok {
		switch l := v.(type) {
		case string:
			r.Options.Labels = strings.Split(l, ",")
		case []any:
			for _, x := range l {
				r.Options.Labels = append(r.Options.Labels, fmt.Sprint(x))
			}
		default:
			return &selectorError{"selector.labels", fmt.Errorf("must be a list of label names, got %v", v)}
		}
	}
	if v, ok := r.Selector["issueType"]; ok {
		t, _ := v.(string)
		if t != "issue" && t != "incident" && t != "test_case" && t != "task" {
			return &selectorError{"selector.issueType", fmt.Errorf("must be issue, incident, test_case or task, got %v", v)}
		}
		r.Options.IssueType = t
	}
	for key, dst := range map[string]*bool{"nonArchived": &r.Options.NonArchived, "includeLabels": &r.Options.IncludeLabels, "includeBotMembers": &r.Options.IncludeBotMembers, "includeInheritedMembers": &r.Options.IncludeInheritedMembers,
		"defaultBranchOnly": &r.Options.DefaultBranchOnly, "includeLanguages": &r.Options.IncludeLanguages,
		"includeOnlyActiveProjects": &r.Options.IncludeOnlyActiveProjects, "includeOnlyActiveGroups": &r.Options.IncludeOnlyActiveGroups} {
		if v, ok := r.Selector[key]; ok {
			b, isBool := v.(bool)
			if !isBool {
				return &selectorError{"selector." + key, fmt.Errorf("must be true or false, got %v", v)}
			}
			*dst = b
		}
	}
	for key, dst := range map[string]*string{"regex": &r.Options.Regex, "search": &r.Options.Search} {
		if v, ok := r.Selector[key]; ok {
			str, isStr := v.(string)
			if !isStr {
				return &selectorError{"selector." + key, fmt.Errorf("must be a string, got %v", v)}
			}
			*dst = str
		}
	}
	if r.Options.Regex != "" {
		if _, err := regexp.Compile(r.Options.Regex); err != nil {
			return &selectorError{"selector.regex", fmt.Errorf("invalid regular expression: %v", err)}
		}
	}
	for _, key := range []string{"apiQueryParams", "pipelineQueryParams"} {
		v, ok := r.Selector[key]
		if !ok {
			continue
		}
		m, isMap := v.(map[string]any)
		if !isMap {
			return &selectorError{"selector." + key, fmt.Errorf("must be a map of GitLab query parameters, got %v", v)}
		}
		dst := &r.Options.APIQueryParams
		if key == "pipelineQueryParams" && r.Kind == "job" {
			dst = &r.Options.PipelineQueryParams
		}
		if *dst == nil {
			*dst = url.Values{}
		}
		for k, x := range m {
			switch x := x.(type) {
			case []any:
				// GitLab's array parameters: scope[]=a&scope[]=b.
				name := strings.TrimSuffix(k, "[]") + "[]"
				for _, e := range x {
					if _, nested := e.(map[string]any); nested {
						return &selectorError{"selector." + key + "." + k, fmt.Errorf("must be a value or a list of values, got %v", x)}
					}
					dst.Add(name, fmt.Sprint(e))
				}
			case map[string]any:
				return &selectorError{"selector." + key + "." + k, fmt.Errorf("must be a value or a list of values, got %v", x)}
			default:
				dst.Set(k, fmt.Sprint(x))
			}
		}
	}
	if err := r.parseFilesAndFolders(); err != nil {
		return err
	}
	if v, ok := r.Selector["includedFiles"]; ok {
		list, isList := v.([]any)
		if !isList {
			return &selectorError{"selector.includedFiles", fmt.Errorf("must be a list of file paths, got %v", v)}
		}
		for _, x := range list {
			str, isStr := x.(string)
			if !isStr || str == "" {
				return &selectorError{"selector.includedFiles", fmt.Errorf("must be a list of file paths, got %v", x)}
			}
			r.Options.IncludedFiles = append(r.Options.IncludedFiles, str)
		}
	}
	if v, ok := r.Selector["searchQueries"]; ok {
		list, isList := v.([]any)
		if !isList {
			return &selectorError{"selector.searchQueries", fmt.Errorf("must be a list of {name, scope, query}, got %v", v)}
		}
		for i, x := range list {
			m, _ := x.(map[string]any)
			name, _ := m["name"].(string)
			scope, _ := m["scope"].(string)
			query, _ := m["query"].(string)
			if scope == "" {
				scope = "blobs"
			}
			if name == "" || query == "" {
				return &selectorError{fmt.Sprintf("selector.searchQueries[%d]", i), errors.New("needs a name and a query")}
			}
			if scope != "blobs" {
				return &selectorError{fmt.Sprintf("selector.searchQueries[%d].scope", i), fmt.Errorf("only blobs is supported, got %q", scope)}
			}
			r.Options.SearchQueries = append(r.Options.SearchQueries, SearchQuery{Name: name, Scope: scope, Query: query})
		}
	}
	return nil
}

// parseFilesAndFolders reads selector.files, searchStrategy and folders.
func (r *Resource) parseFilesAndFolders() *selectorError {
	if r.Kind == "file" {
		f, ok := r.Selector["files"].(map[string]any)
		if !ok {
			return &selectorError{"selector.files", errors.New("is required: {path: GLOB, repos: [...], skipParsing: false}")}
		}
		for k := range f {
			if k != "path" && k != "repos" && k != "skipParsing" {
				return &selectorError{"selector.files." + k, errors.New("unknown option (path, repos, skipParsing)")}
			}
		}
		p, _ := f["path"].(string)
		if p == "" || !doublestar.ValidatePattern(p) {
			return &selectorError{"selector.files.path", fmt.Errorf("must be a valid glob, got %v", f["path"])}
		}
		r.Options.Files.Path = p
		if v, ok := f["skipParsing"]; ok {
			b, isBool := v.(bool)
			if !isBool {
				return &selectorError{"selector.files.skipParsing", fmt.Errorf("must be true or false, got %v", v)}
			}
			r.Options.Files.SkipParsing = b
		}
		if v, ok := f["repos"]; ok {
			list, _ := v.([]any)
			for _, x := range list {
				str, isStr := x.(string)
				if !isStr {
					return &selectorError{"selector.files.repos", fmt.Errorf("must be a list of project paths, got %v", x)}
				}
				r.Options.Files.Repos = append(r.Options.Files.Repos, str)
			}
		}
		if v, ok := r.Selector["searchStrategy"]; ok {
			st, _ := v.(string)
			if st != "repositoryTree" && st != "projectSearch" && st != "groupSearch" {
				return &selectorError{"selector.searchStrategy", fmt.Errorf("must be repositoryTree, projectSearch or groupSearch, got %v", v)}
			}
			r.Options.Files.Strategy = st
		}
	}
	if r.Kind == "folder" {
		list, ok := r.Selector["folders"].([]any)
		if !ok || len(list) == 0 {
			return &selectorError{"selector.folders", errors.New("is required: a list of {path: GLOB, repos: [{name, branch}]}")}
		}
		for i, x := range list {
			m, _ := x.(map[string]any)
			p, _ := m["path"].(string)
			if p == "" || !doublestar.ValidatePattern(p) {
				return &selectorError{fmt.Sprintf("selector.folders[%d].path", i), fmt.Errorf("must be a valid glob, got %v", m["path"])}
			}
			fs := FolderSelector{Path: p}
			repos, _ := m["repos"].([]any)
			for _, rx := range repos {
				rm, _ := rx.(map[string]any)
				name, _ := rm["name"].(string)
				branch, _ := rm["branch"].(string)
				if name == "" {
					return &selectorError{fmt.Sprintf("selector.folders[%d].repos", i), errors.New("each repo needs a name")}
				}
				fs.Repos = append(fs.Repos, FolderRepo{Name: name, Branch: branch})
			}
			r.Options.Folders = append(r.Options.Folders, fs)
		}
	}
	return nil
}

func isSupported(kind string) bool {
	for _, k := range SupportedKinds {
		if k == kind {
			return true
		}
	}
	return false
}
