// Package mapping turns raw GitLab objects into catalog entities with the
// jq mappings of Ocean's port-app-config.yml format:
//
//	resources:
//	  - kind: project
//	    selector:
//	      query: 'true'
//	    port:
//	      entity:
//	        mappings:
//	          identifier: .path_with_namespace
//	          title: .name
//	          blueprint: '"service"'
//	          properties: {url: .web_url}
//	          relations: {group: .namespace.id | tostring}
//
// Every expression is compiled once, when the mapping is loaded; an error
// names the resource, its kind, the field and the expression.
package mapping

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/itchyny/gojq"
	"gopkg.in/yaml.v3"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

//go:embed default.yml
var defaultMapping []byte

//go:embed all-kinds.yml
var allKindsMapping []byte

// Default returns the embedded default mapping's source: group, project,
// merge-request and issue, the kinds listed per collection (a resync costs
// a few requests per 100 objects).
func Default() []byte { return append([]byte(nil), defaultMapping...) }

// AllKinds returns a mapping with every kind glsync syncs, each mapped to
// a blueprint (see the file's comments). Kinds GitLab lists only per
// project (pipeline, job, release, tag, branch, deployment, file, folder,
// project-with-members) cost a request or more per project.
func AllKinds() []byte { return append([]byte(nil), allKindsMapping...) }

// Config is a parsed, compiled port-app-config.
type Config struct {
	// DeleteDependentEntities and CreateMissingRelatedEntities are kept
	// for the Port sink; the embedded catalog does not need them.
	DeleteDependentEntities      bool
	CreateMissingRelatedEntities bool
	Resources                    []*Resource
	// Document is the parsed document, as registered with Port.
	Document map[string]any
	// SpecPaths are the GitOps spec file globs (specPath); empty: GitOps
	// is off. Branch is the branch they are read from (default: each
	// project's default branch).
	SpecPaths []string
	Branch    string
	// MinAccessLevel restricts group and project listings to those where
	// the token has at least this role (visibility.useMinAccessLevel).
	MinAccessLevel int
	// EntityDeletionThreshold refuses a resync deleting more than this
	// share of a kind's entities (default 0.9).
	EntityDeletionThreshold float64
	// EnableMergeEntity merges written entities into Port's (default
	// true); false replaces them whole.
	EnableMergeEntity bool
}

// GitOpsKind is the kind of entities declared in GitOps spec files.
const GitOpsKind = "gitops"

// Resource is one entry of resources[]: a kind and how to map it.
type Resource struct {
	// Index is the position in resources[], for messages.
	Index int
	// Kind is the GitLab kind ("project", "group", ...).
	Kind string
	// Selector holds kind-specific selector options besides query.
	Selector map[string]any
	// Options are the kind-specific selector options, parsed and checked.
	Options Selector

	query        *expr
	itemsToParse *expr
	identifier   *expr
	title        *expr
	blueprint    *expr
	team         *expr
	icon         *expr
	properties   []namedExpr
	relations    []namedExpr
}

type namedExpr struct {
	name string
	*expr
}

type expr struct {
	field string // e.g. "port.entity.mappings.properties.url"
	src   string
	code  *gojq.Code
}

// Error is a mapping error tied to a resource, a field and an expression.
type Error struct {
	Resource int
	Kind     string
	Field    string
	Expr     string
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mapping: resources[%d]", e.Resource)
	if e.Kind != "" {
		fmt.Fprintf(&b, " (kind %s)", e.Kind)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	if e.Expr != "" {
		fmt.Fprintf(&b, ": expression %q", e.Expr)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

type rawConfig struct {
	DeleteDependentEntities      *bool    `yaml:"deleteDependentEntities"`
	CreateMissingRelatedEntities *bool    `yaml:"createMissingRelatedEntities"`
	EnableMergeEntity            *bool    `yaml:"enableMergeEntity"`
	EntityDeletionThreshold      *float64 `yaml:"entityDeletionThreshold"`
	SpecPath                     any      `yaml:"specPath"`
	Visibility                   *struct {
		UseMinAccessLevel bool `yaml:"useMinAccessLevel"`
		MinAccessLevel    int  `yaml:"minAccessLevel"`
	} `yaml:"visibility"`
	Branch    string        `yaml:"branch"`
	Resources []rawResource `yaml:"resources"`
}

type rawResource struct {
	Kind     string         `yaml:"kind"`
	Selector map[string]any `yaml:"selector"`
	Port     struct {
		ItemsToParse string `yaml:"itemsToParse"`
		Entity       struct {
			Mappings struct {
				Identifier yaml.Node            `yaml:"identifier"`
				Title      string               `yaml:"title"`
				Blueprint  string               `yaml:"blueprint"`
				Team       string               `yaml:"team"`
				Icon       string               `yaml:"icon"`
				Properties map[string]yaml.Node `yaml:"properties"`
				Relations  map[string]yaml.Node `yaml:"relations"`
			} `yaml:"mappings"`
		} `yaml:"entity"`
	} `yaml:"port"`
}

// Load reads a mapping file; an empty path gives the embedded default.
func Load(path string) (*Config, error) {
	if path == "" {
		return Parse(defaultMapping)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping: reading %s: %w", path, err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse parses and compiles a port-app-config document.
func Parse(data []byte) (*Config, error) {
	var raw rawConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if len(raw.Resources) == 0 && raw.SpecPath == nil {
		return nil, errors.New("mapping: resources: at least one resource is required")
	}
	c := &Config{DeleteDependentEntities: true, CreateMissingRelatedEntities: true, EntityDeletionThreshold: 0.9, EnableMergeEntity: true}
	if err := yaml.Unmarshal(data, &c.Document); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if raw.DeleteDependentEntities != nil {
		c.DeleteDependentEntities = *raw.DeleteDependentEntities
	}
	if raw.CreateMissingRelatedEntities != nil {
		c.CreateMissingRelatedEntities = *raw.CreateMissingRelatedEntities
	}
	if raw.EnableMergeEntity != nil {
		c.EnableMergeEntity = *raw.EnableMergeEntity
	}
	if raw.EntityDeletionThreshold != nil {
		if *raw.EntityDeletionThreshold <= 0 || *raw.EntityDeletionThreshold > 1 {
			return nil, fmt.Errorf("mapping: entityDeletionThreshold: must be more than 0 and at most 1, got %v", *raw.EntityDeletionThreshold)
		}
		c.EntityDeletionThreshold = *raw.EntityDeletionThreshold
	}
	switch sp := raw.SpecPath.(type) {
	case nil:
	case string:
		c.SpecPaths = []string{sp}
	case []any:
		for _, x := range sp {
			str, _ := x.(string)
			c.SpecPaths = append(c.SpecPaths, str)
		}
	default:
		return nil, fmt.Errorf("mapping: specPath: must be a glob or a list of globs, got %v", sp)
	}
	for _, sp := range c.SpecPaths {
		if sp == "" || !doublestar.ValidatePattern(sp) {
			return nil, fmt.Errorf("mapping: specPath: %q is not a valid glob", sp)
		}
	}
	c.Branch = raw.Branch
	if v := raw.Visibility; v != nil && v.UseMinAccessLevel {
		switch v.MinAccessLevel {
		case 10, 20, 30, 40, 50:
			c.MinAccessLevel = v.MinAccessLevel
		case 0:
			c.MinAccessLevel = 30 // GitLab's Developer, the integration's default
		default:
			return nil, fmt.Errorf("mapping: visibility.minAccessLevel: must be 10 (guest), 20 (reporter), 30 (developer), 40 (maintainer) or 50 (owner), got %d", v.MinAccessLevel)
		}
	}
	for i, rr := range raw.Resources {
		r, err := compileResource(i, rr)
		if err != nil {
			return nil, err
		}
		c.Resources = append(c.Resources, r)
	}
	return c, nil
}

// SupportedKinds are the kinds the crawler can produce today.
var SupportedKinds = []string{"group", "project", "merge-request", "issue", "pipeline", "job", "release", "tag", "branch", "deployment",
	"group-with-members", "project-with-members", "member", "file", "folder"}

func compileResource(i int, rr rawResource) (*Resource, error) {
	r := &Resource{Index: i, Kind: rr.Kind, Selector: map[string]any{}}
	fail := func(field, src string, err error) error {
		return &Error{Resource: i, Kind: rr.Kind, Field: field, Expr: src, Err: err}
	}
	if rr.Kind == "" {
		return nil, fail("kind", "", errors.New("is required"))
	}
	if !isSupported(rr.Kind) {
		return nil, fail("kind", "", fmt.Errorf("unsupported kind %q; supported kinds: %s", rr.Kind, strings.Join(SupportedKinds, ", ")))
	}
	if rr.Port.ItemsToParse != "" {
		e, err := compile("port.itemsToParse", rr.Port.ItemsToParse)
		if err != nil {
			return nil, fail("port.itemsToParse", rr.Port.ItemsToParse, err)
		}
		r.itemsToParse = e
	}
	query := "true"
	for k, v := range rr.Selector {
		if k == "query" {
			s, ok := v.(string)
			if !ok {
				if b, isBool := v.(bool); isBool {
					s = fmt.Sprint(b)
				} else {
					return nil, fail("selector.query", fmt.Sprint(v), errors.New("must be a jq expression string"))
				}
			}
			query = s
			continue
		}
		r.Selector[k] = v
	}
	if err := r.parseSelector(); err != nil {
		return nil, fail(err.field, "", err.err)
	}
	var err error
	if r.query, err = compile("selector.query", query); err != nil {
		return nil, fail("selector.query", query, err)
	}
	m := rr.Port.Entity.Mappings
	const base = "port.entity.mappings."
	if m.Identifier.Kind != yaml.ScalarNode || m.Identifier.Value == "" {
		return nil, fail(base+"identifier", "", errors.New("is required and must be a jq expression string"))
	}
	if m.Blueprint == "" {
		return nil, fail(base+"blueprint", "", errors.New(`is required, e.g. '"service"'`))
	}
	for _, f := range []struct {
		name string
		src  string
		dst  **expr
	}{
		{"identifier", m.Identifier.Value, &r.identifier},
		{"title", m.Title, &r.title},
		{"blueprint", m.Blueprint, &r.blueprint},
		{"team", m.Team, &r.team},
		{"icon", m.Icon, &r.icon},
	} {
		if f.src == "" {
			continue
		}
		if *f.dst, err = compile(base+f.name, f.src); err != nil {
			return nil, fail(base+f.name, f.src, err)
		}
	}
	compileMap := func(kind string, in map[string]yaml.Node) ([]namedExpr, error) {
		names := make([]string, 0, len(in))
		for k := range in {
			names = append(names, k)
		}
		sort.Strings(names)
		var out []namedExpr
		for _, k := range names {
			n := in[k]
			field := base + kind + "." + k
			if n.Kind != yaml.ScalarNode {
				return nil, fail(field, "", errors.New("must be a jq expression string"))
			}
			e, err := compile(field, n.Value)
			if err != nil {
				return nil, fail(field, n.Value, err)
			}
			out = append(out, namedExpr{k, e})
		}
		return out, nil
	}
	if r.properties, err = compileMap("properties", m.Properties); err != nil {
		return nil, err
	}
	if r.relations, err = compileMap("relations", m.Relations); err != nil {
		return nil, err
	}
	return r, nil
}

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

// ResourcesFor returns the resources of a kind, in file order.
func (c *Config) ResourcesFor(kind string) []*Resource {
	var out []*Resource
	for _, r := range c.Resources {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// Kinds returns the distinct kinds, in file order, then the GitOps kind
// when specPath is set.
func (c *Config) Kinds() []string {
	out := c.resourceKinds()
	if len(c.SpecPaths) > 0 {
		out = append(out, GitOpsKind)
	}
	return out
}

func (c *Config) resourceKinds() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range c.Resources {
		if !seen[r.Kind] {
			seen[r.Kind] = true
			out = append(out, r.Kind)
		}
	}
	return out
}

// Declared turns an entity declared in a GitOps spec file into a catalog
// entity; the file states identifier, blueprint, title, properties and
// relations itself.
func Declared(obj map[string]any) (*catalog.Entity, error) {
	file, _ := obj["__specFile"].(string)
	proj, _ := obj["__project"].(map[string]any)
	where := fmt.Sprintf("gitops: %v/%s", proj["path_with_namespace"], file)
	id, _ := obj["identifier"].(string)
	bp, _ := obj["blueprint"].(string)
	if id == "" || bp == "" {
		return nil, fmt.Errorf("%s: every entity needs a string identifier and blueprint", where)
	}
	e := &catalog.Entity{Identifier: id, Blueprint: bp, Properties: map[string]any{}, Relations: map[string]any{}}
	e.Title, _ = obj["title"].(string)
	e.Icon, _ = obj["icon"].(string)
	e.Team, _ = obj["team"].(string)
	if p, ok := obj["properties"].(map[string]any); ok {
		e.Properties = p
	}
	if r, ok := obj["relations"].(map[string]any); ok {
		e.Relations = r
	}
	return e, nil
}
