package mapping

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/glsync/terraform-provider-glsync/shared/suggest"
)

// Selector holds the kind-specific selector options the crawler and the
// webhook handlers use. Options a mapping leaves out take the defaults of
// the Ocean generation the configuration comes from (see Generation and
// docs/guides/mapping.md, "Coming from Ocean").
type Selector struct {
	// Generation is the Ocean generation whose defaults and object shapes
	// apply (member rows, bot rule, file content).
	Generation Generation
	// States of merge requests to sync: opened, closed, locked, merged.
	States []string
	// State of issues to sync: opened or closed; "" (or "all") is every
	// state.
	State string
	// UpdatedAfterDays keeps merge requests and issues updated in the last
	// N days (fractions allowed); 0 means no limit. For merge requests it
	// applies to the states other than opened, as in Ocean, unless
	// UpdatedAfterOpened.
	UpdatedAfterDays   float64
	UpdatedAfterOpened bool
	// CreatedAfterDays keeps pipelines created in the last N days (Ocean
	// v1's 14-day window); 0 means all.
	CreatedAfterDays float64
	// LimitPerProject caps pipelines, jobs, releases, tags, branches and
	// deployments per project, newest first; 0 lists them all (Ocean).
	LimitPerProject int
	// JobsPerPipeline lists jobs pipeline by pipeline, up to this many
	// per pipeline (Ocean v2: the first page, 100); 0 lists the project's
	// jobs (Ocean v1: all of them).
	JobsPerPipeline int
	// IncludeBotMembers keeps bot users in member kinds (default false).
	IncludeBotMembers bool
	// IncludeInheritedMembers lists inherited members too.
	IncludeInheritedMembers bool
	// VerboseMembers keeps whole member objects in __members (Ocean v1's
	// includeVerboseMemberObject).
	VerboseMembers bool
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
	// Issue options: Labels (all required), IssueType, NonArchived.
	Labels      []string
	IssueType   string
	NonArchived bool
	// Project options.
	IncludeLabels    bool
	IncludeLanguages bool
	IncludedFiles    []string
	SearchQueries    []SearchQuery
	// ActiveProjects and ActiveGroups are includeOnlyActiveProjects and
	// includeOnlyActiveGroups: nil sends nothing, true only active (not
	// archived, not pending deletion), false only archived (GitLab's
	// active parameter).
	ActiveProjects, ActiveGroups *bool
	// Files selects the file kind: a path glob, optional repos, and
	// whether to skip parsing.
	Files FilesSelector
	// Folders selects the folder kind.
	Folders []FolderSelector
	// SkillPaths select the skill kind's SKILL.md files (default
	// DefaultSkillPaths, every project).
	SkillPaths []SkillPath
	// Providers and PluginRepos select the plugin kind (default every
	// provider, every project).
	Providers   []string
	PluginRepos []string
}

// SkillPath is one entry of the skill kind's selector.paths.
type SkillPath struct {
	Path  string
	Repos []string
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

// FolderRepo names a project and the branch to read ("" for its default
// branch).
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

// Option groups, as Ocean's selector classes inherit them
// (integrations/gitlab-v2/integration.py, integrations/gitlab/
// gitlab_integration/git_integration.py).
var (
	projectScoped = []string{"includeOnlyActiveProjects"}
	groupScoped   = []string{"includeOnlyActiveGroups"}
	// ProjectSelector's options, inherited by pipeline, job, tag, release
	// and folder in Ocean v2.
	projectSelector = []string{"includeOnlyActiveProjects", "includeLanguages", "searchQueries", "includedFiles"}
	memberOptions   = []string{"includeBotMembers", "includeInheritedMembers"}
)

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// selectorOptions lists the options each kind accepts: every option Ocean
// (v1 or v2) accepts there, and glsync's own.
var selectorOptions = map[string][]string{
	"group":                groupScoped,
	"project":              join(projectSelector, []string{"includeLabels"}),
	"merge-request":        join(groupScoped, []string{"states", "updatedAfter", "updatedAfterAppliesToOpened"}),
	"issue":                join(groupScoped, []string{"state", "updatedAfter", "labels", "issueType", "nonArchived"}),
	"pipeline":             join(projectSelector, []string{"apiQueryParams", "pipelineQueryParams", "limitPerProject", "createdAfter"}),
	"job":                  join(projectSelector, []string{"pipelineQueryParams", "apiQueryParams", "limitPerProject"}),
	"release":              join(projectSelector, []string{"limitPerProject"}),
	"tag":                  join(projectSelector, []string{"limitPerProject"}),
	"branch":               join(projectScoped, []string{"regex", "search", "defaultBranchOnly", "limitPerProject"}),
	"deployment":           join(projectScoped, []string{"apiQueryParams", "limitPerProject"}),
	"member":               join(groupScoped, memberOptions),
	"group-with-members":   join(groupScoped, memberOptions, []string{"includeVerboseMemberObject"}),
	"project-with-members": join(projectScoped, memberOptions, []string{"includeVerboseMemberObject"}),
	"file":                 join(groupScoped, []string{"files", "includedFiles", "searchStrategy"}),
	"folder":               join(projectSelector, []string{"folders"}),
	"skill":                join(groupScoped, []string{"paths"}),
	"plugin":               join(groupScoped, []string{"providers", "repos"}),
}

// commonOptions are Ocean core's Selector fields, valid on every kind.
var commonOptions = []string{"query", "exportEnvVariables"}

// ignoredOptions are options Ocean accepts on a kind but glsync does not
// act on, with the reason given in the load warning.
var ignoredOptions = map[string]string{
	"exportEnvVariables": "it feeds Port's hosted lakehouse export, which glsync does not run",
}

// inheritedOnly are ProjectSelector options Ocean v2 accepts on kinds
// that do not use them: they load, with a warning that they do nothing.
var inheritedOnly = map[string][]string{
	"pipeline": {"includeLanguages", "searchQueries", "includedFiles"},
	"job":      {"includeLanguages", "searchQueries", "includedFiles"},
	"release":  {"includeLanguages", "searchQueries", "includedFiles"},
	"tag":      {"includeLanguages", "searchQueries", "includedFiles"},
	"folder":   {"includeLanguages", "searchQueries"},
}

// parseSelector reads and validates the kind-specific selector options,
// starting from the defaults of gen.
func (r *Resource) parseSelector(gen Generation, warn func(string)) *selectorError {
	known := join(commonOptions, selectorOptions[r.Kind])
	keys := make([]string, 0, len(r.Selector))
	for k := range r.Selector {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			return &selectorError{"selector." + k, unknownKey("option for kind "+r.Kind, k, known)}
		}
		if why, ok := ignoredOptions[k]; ok {
			warn(fmt.Sprintf("selector.%s is accepted but has no effect: %s", k, why))
		}
		if slices.Contains(inheritedOnly[r.Kind], k) {
			warn(fmt.Sprintf("selector.%s has no effect on kind %s (Ocean ignores it there too)", k, r.Kind))
		}
	}
	o := &r.Options
	*o = defaults(gen, r.Kind)
	var err *selectorError
	get := func(key string) (any, bool) {
		v, ok := r.Selector[key]
		return v, ok && err == nil
	}
	fail := func(key string, e error) {
		if err == nil && e != nil {
			err = &selectorError{"selector." + key, e}
		}
	}
	boolOpt := func(key string, dst *bool) {
		if v, ok := get(key); ok {
			b, e := pyBool(v)
			fail(key, e)
			*dst = b
		}
	}
	optBool := func(key string, dst **bool) {
		if v, ok := get(key); ok && v != nil {
			b, e := pyBool(v)
			fail(key, e)
			*dst = &b
		}
	}
	if v, ok := get("states"); ok {
		list, e := pyStrings(v)
		if e == nil && len(list) == 0 {
			e = errors.New("must be a non-empty list of opened, closed, locked, merged")
		}
		for _, st := range list {
			if e == nil && !slices.Contains([]string{"opened", "closed", "locked", "merged"}, st) {
				e = fmt.Errorf("unknown state %q; use opened, closed, locked or merged", st)
			}
		}
		fail("states", e)
		o.States = list
	}
	if v, ok := get("state"); ok && v != nil {
		st, e := pyString(v)
		if e == nil && st != "opened" && st != "closed" && st != "all" {
			e = fmt.Errorf("unknown state %q; use opened or closed, or leave it out for every state", st)
		}
		fail("state", e)
		if st == "all" {
			st = ""
		}
		o.State = st
	}
	if v, ok := get("updatedAfter"); ok && v != nil {
		f, e := pyFloat(v)
		if e == nil && (f < 0 || f > 36500) {
			e = fmt.Errorf("must be a number of days from 0 to 36500, got %v", f)
		}
		fail("updatedAfter", e)
		o.UpdatedAfterDays = f
	}
	boolOpt("updatedAfterAppliesToOpened", &o.UpdatedAfterOpened)
	if v, ok := get("createdAfter"); ok && v != nil {
		f, e := pyFloat(v)
		if e == nil && (f < 0 || f > 36500) {
			e = fmt.Errorf("must be a number of days from 0 (no limit) to 36500, got %v", f)
		}
		fail("createdAfter", e)
		o.CreatedAfterDays = f
	}
	if v, ok := get("limitPerProject"); ok {
		n, e := pyInt(v)
		if e == nil && (n < 1 || n > 100000) {
			e = fmt.Errorf("must be a whole number from 1 to 100000, got %d", n)
		}
		fail("limitPerProject", e)
		o.LimitPerProject = n
		o.JobsPerPipeline = 0 // glsync's newest-jobs listing
	}
	if v, ok := get("labels"); ok && v != nil {
		switch l := v.(type) {
		case string:
			o.Labels = strings.Split(l, ",")
		default:
			list, e := pyStrings(v)
			fail("labels", e)
			o.Labels = list
		}
	}
	if v, ok := get("issueType"); ok && v != nil {
		t, e := pyString(v)
		if e == nil && !slices.Contains([]string{"issue", "incident", "test_case", "task"}, t) {
			e = fmt.Errorf("must be issue, incident, test_case or task, got %q", t)
		}
		fail("issueType", e)
		o.IssueType = t
	}
	boolOpt("nonArchived", &o.NonArchived)
	boolOpt("includeLabels", &o.IncludeLabels)
	boolOpt("includeBotMembers", &o.IncludeBotMembers)
	boolOpt("includeInheritedMembers", &o.IncludeInheritedMembers)
	boolOpt("includeVerboseMemberObject", &o.VerboseMembers)
	boolOpt("defaultBranchOnly", &o.DefaultBranchOnly)
	boolOpt("includeLanguages", &o.IncludeLanguages)
	optBool("includeOnlyActiveProjects", &o.ActiveProjects)
	optBool("includeOnlyActiveGroups", &o.ActiveGroups)
	for key, dst := range map[string]*string{"regex": &o.Regex, "search": &o.Search} {
		if v, ok := get(key); ok && v != nil {
			s, e := pyString(v)
			fail(key, e)
			*dst = s
		}
	}
	if o.Regex != "" {
		if _, e := regexp.Compile(o.Regex); e != nil {
			fail("regex", fmt.Errorf("invalid regular expression: %v", e))
		}
	}
	if err != nil {
		return err
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
		list, e := pyStrings(v)
		for _, s := range list {
			if e == nil && s == "" {
				e = errors.New("must be a list of file paths, got an empty path")
			}
		}
		if e != nil {
			return &selectorError{"selector.includedFiles", e}
		}
		o.IncludedFiles = list
	}
	if v, ok := r.Selector["searchQueries"]; ok && v != nil {
		list, isList := v.([]any)
		if !isList {
			return &selectorError{"selector.searchQueries", fmt.Errorf("must be a list of {name, scope, query}, got %s", shown(v))}
		}
		for i, x := range list {
			field := fmt.Sprintf("selector.searchQueries[%d]", i)
			m, _ := x.(map[string]any)
			if m == nil {
				return &selectorError{field, fmt.Errorf("must be {name, scope, query}, got %s", shown(x))}
			}
			for k := range m {
				if k != "name" && k != "scope" && k != "query" {
					return &selectorError{field + "." + k, unknownKey("searchQueries option", k, []string{"name", "scope", "query"})}
				}
			}
			var q SearchQuery
			var e error
			if q.Name, e = pyString(m["name"]); e != nil || q.Name == "" {
				return &selectorError{field + ".name", errors.New("is required: the key under __searchQueries")}
			}
			if q.Query, e = pyString(m["query"]); e != nil || q.Query == "" {
				return &selectorError{field + ".query", errors.New("is required: GitLab search terms, e.g. filename:port.yml")}
			}
			q.Scope = "blobs"
			if s, ok := m["scope"]; ok && s != nil {
				if q.Scope, e = pyString(s); e != nil || q.Scope == "" {
					return &selectorError{field + ".scope", errors.New("must be a GitLab project search scope, e.g. blobs, commits, wiki_blobs")}
				}
			}
			o.SearchQueries = append(o.SearchQueries, q)
		}
	}
	return nil
}

// parseQueryParams reads apiQueryParams and pipelineQueryParams. For
// deployments Ocean's option names (updatedAfter, finishedAfter…) become
// GitLab's, and a finished-at window orders by finished_at and needs
// status success (integrations/gitlab-v2/integration.py,
// GitlabDeploymentQueryParams).
func (r *Resource) parseQueryParams() *selectorError {
	o := &r.Options
	for _, key := range []string{"apiQueryParams", "pipelineQueryParams"} {
		v, ok := r.Selector[key]
		if !ok || v == nil {
			continue
		}
		m, isMap := v.(map[string]any)
		if !isMap {
			return &selectorError{"selector." + key, fmt.Errorf("must be a map of GitLab query parameters, got %s", shown(v))}
		}
		dst := &o.APIQueryParams
		if key == "pipelineQueryParams" && r.Kind == "job" {
			dst = &o.PipelineQueryParams
		}
		if *dst == nil {
			*dst = url.Values{}
		}
		for k, x := range m {
			name := k
			if r.Kind == "deployment" {
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
						return &selectorError{"selector." + key + "." + k, err}
					}
					dst.Add(arr, s)
				}
			default:
				s, err := queryValue(x)
				if err != nil {
					return &selectorError{"selector." + key + "." + k, err}
				}
				dst.Set(name, s)
			}
		}
		if r.Kind == "deployment" {
			q := *dst
			if q.Get("finished_after") != "" || q.Get("finished_before") != "" {
				if q.Get("status") != "success" {
					return &selectorError{"selector.apiQueryParams.status", errors.New("must be success when finishedAfter or finishedBefore is set (GitLab orders by finished_at only for successful deployments)")}
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
		return "", fmt.Errorf("must be a value or a list of values, got %s", shown(v))
	}
	return pyString(v)
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

// parseFilesAndFolders reads selector.files and folders.
func (r *Resource) parseFilesAndFolders(gen Generation) *selectorError {
	o := &r.Options
	if r.Kind == "file" {
		f, ok := r.Selector["files"].(map[string]any)
		if !ok {
			return &selectorError{"selector.files", errors.New("is required: {path: GLOB, repos: [...], skipParsing: false, searchStrategy: groupSearch}")}
		}
		known := []string{"path", "repos", "skipParsing", "searchStrategy"}
		for k := range f {
			if !slices.Contains(known, k) {
				return &selectorError{"selector.files." + k, unknownKey("files option", k, known)}
			}
		}
		p, _ := pyString(f["path"])
		if p == "" || !doublestar.ValidatePattern(p) {
			return &selectorError{"selector.files.path", fmt.Errorf("must be a valid glob, got %s", shown(f["path"]))}
		}
		o.Files.Path = p
		if v, ok := f["skipParsing"]; ok && v != nil {
			b, err := pyBool(v)
			if err != nil {
				return &selectorError{"selector.files.skipParsing", err}
			}
			o.Files.SkipParsing = b
		}
		if v, ok := f["repos"]; ok && v != nil {
			list, err := pyStrings(v)
			if err != nil {
				return &selectorError{"selector.files.repos", fmt.Errorf("must be a list of project paths: %w", err)}
			}
			o.Files.Repos = list
		}
		// Ocean v2 nests searchStrategy under files; glsync 0.x read it
		// beside files, which still works.
		for _, src := range []struct {
			field string
			v     any
		}{{"selector.searchStrategy", r.Selector["searchStrategy"]}, {"selector.files.searchStrategy", f["searchStrategy"]}} {
			if src.v == nil {
				continue
			}
			st, _ := pyString(src.v)
			if st != "repositoryTree" && st != "projectSearch" && st != "groupSearch" {
				return &selectorError{src.field, fmt.Errorf("must be repositoryTree, projectSearch or groupSearch, got %s", shown(src.v))}
			}
			o.Files.Strategy = st
		}
	}
	if r.Kind == "folder" {
		list, ok := r.Selector["folders"].([]any)
		if !ok || len(list) == 0 {
			return &selectorError{"selector.folders", errors.New("is required: a list of {path: GLOB, repos: [{name, branch}]}")}
		}
		for i, x := range list {
			field := fmt.Sprintf("selector.folders[%d]", i)
			m, _ := x.(map[string]any)
			for k := range m {
				if !slices.Contains([]string{"path", "repos", "branch"}, k) {
					return &selectorError{field + "." + k, unknownKey("folders option", k, []string{"path", "repos", "branch"})}
				}
			}
			p, _ := pyString(m["path"])
			if !doublestar.ValidatePattern(p) {
				return &selectorError{field + ".path", fmt.Errorf("must be a folder path or glob, got %s", shown(m["path"]))}
			}
			// Ocean v1 names repos as strings with one branch for the
			// entry; v2 as {name, branch} with branch defaulting to main
			// (integrations/gitlab-v2/integration.py,
			// RepositoryBranchMapping).
			entryBranch, _ := pyString(m["branch"])
			fs := FolderSelector{Path: p}
			repos, _ := m["repos"].([]any)
			if m["repos"] != nil && repos == nil {
				return &selectorError{field + ".repos", fmt.Errorf("must be a list of project names or {name, branch}, got %s", shown(m["repos"]))}
			}
			for j, rx := range repos {
				var fr FolderRepo
				switch rv := rx.(type) {
				case string:
					fr = FolderRepo{Name: rv, Branch: entryBranch}
				case map[string]any:
					fr.Name, _ = pyString(rv["name"])
					if b, ok := rv["branch"]; ok && b != nil {
						fr.Branch, _ = pyString(b)
					} else if entryBranch != "" {
						fr.Branch = entryBranch
					} else {
						fr.Branch = "main"
					}
				}
				if fr.Name == "" {
					return &selectorError{fmt.Sprintf("%s.repos[%d]", field, j), errors.New("needs a project name (path_with_namespace or path)")}
				}
				fs.Repos = append(fs.Repos, fr)
			}
			o.Folders = append(o.Folders, fs)
		}
	}
	return nil
}

// parseAgents reads the skill kind's paths and the plugin kind's
// providers and repos (gitlab-v2/integration.py, GitLabSkillSelector and
// GitLabPluginSelector; a paths entry takes no other keys).
func (r *Resource) parseAgents() *selectorError {
	o := &r.Options
	switch r.Kind {
	case "skill":
		v, ok := r.Selector["paths"]
		if !ok || v == nil {
			for _, p := range DefaultSkillPaths {
				o.SkillPaths = append(o.SkillPaths, SkillPath{Path: p})
			}
			return nil
		}
		list, isList := v.([]any)
		if !isList {
			return &selectorError{"selector.paths", fmt.Errorf("must be a list of {path, repos}, got %s", shown(v))}
		}
		for i, x := range list {
			field := fmt.Sprintf("selector.paths[%d]", i)
			m, _ := x.(map[string]any)
			if m == nil {
				return &selectorError{field, fmt.Errorf("must be {path: GLOB, repos: [...]}, got %s", shown(x))}
			}
			for k := range m {
				if k != "path" && k != "repos" {
					return &selectorError{field + "." + k, unknownKey("paths option", k, []string{"path", "repos"})}
				}
			}
			p, _ := pyString(m["path"])
			if p == "" || !doublestar.ValidatePattern(p) {
				return &selectorError{field + ".path", fmt.Errorf("must be a SKILL.md glob, got %s", shown(m["path"]))}
			}
			sp := SkillPath{Path: p}
			if m["repos"] != nil {
				repos, err := pyStrings(m["repos"])
				if err != nil {
					return &selectorError{field + ".repos", err}
				}
				sp.Repos = repos
			}
			o.SkillPaths = append(o.SkillPaths, sp)
		}
	case "plugin":
		o.Providers = PluginProviders
		if v, ok := r.Selector["providers"]; ok && v != nil {
			list, err := pyStrings(v)
			if err != nil {
				return &selectorError{"selector.providers", err}
			}
			for _, p := range list {
				if !slices.Contains(PluginProviders, p) {
					return &selectorError{"selector.providers", unknownKey("provider", p, PluginProviders)}
				}
			}
			o.Providers = list
		}
		if v, ok := r.Selector["repos"]; ok && v != nil {
			list, err := pyStrings(v)
			if err != nil {
				return &selectorError{"selector.repos", err}
			}
			o.PluginRepos = list
		}
	}
	return nil
}

// unknownKey is the error for a key nobody knows, with the closest known
// key as a suggestion when one is near.
func unknownKey(what, key string, known []string) error {
	if best, ok := suggest.Nearest(key, known); ok {
		return fmt.Errorf("unknown %s %q; did you mean %q?", what, key, best)
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	return fmt.Errorf("unknown %s %q (known: %s)", what, key, strings.Join(sorted, ", "))
}
