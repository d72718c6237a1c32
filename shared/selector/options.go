package selector

import "net/url"

// Options are a resource's kind-specific selector options, parsed and
// checked: what the crawler and the webhook handlers list with. Options a mapping leaves out take the defaults of
// the Ocean generation the configuration comes from (see Generation and
// docs/guides/mapping.md, "Coming from Ocean").
type Options struct {
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
	Files Files
	// Folders selects the folder kind.
	Folders []Folder
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

// Files is the file kind's selector.files.
type Files struct {
	// Path is a doublestar glob on the file's path in the repository.
	Path string
	// Repos restricts to these projects (path_with_namespace or name).
	Repos []string
	// SkipParsing keeps the content as text instead of parsing JSON/YAML.
	SkipParsing bool
	// Strategy finds the files: "repositoryTree" (one tree listing per
	// project, exact), "projectSearch" (GitLab's blob search per project,
	// by file name) or "groupSearch" (one search per root group; needs
	// advanced search, else falls back to repositoryTree; projects in no
	// group the token sees are searched one by one, as projectSearch).
	Strategy string
	// Generation shapes the parsed content: "v1" (a YAML file with one
	// document is that document) or "v2" (always a list of documents).
	// The parser leaves it unset: the crawler sets the resource's
	// generation there when it lists.
	Generation Generation
}

// Folder is one entry of the folder kind's selector.folders.
type Folder struct {
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
