package selector

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Key is a comparable value that two Options share exactly when they are
// equal, field by field (a nil list and an empty one differ, as they do
// when written): what a caller that groups resources by their options
// keys a map with.
type Key struct {
	generation, files                                    Generation
	state, regex, search, issueType, strategy, filesPath string
	updatedAfterDays, createdAfterDays                   float64
	limitPerProject, jobsPerPipeline                     int
	activeProjects, activeGroups                         int8
	updatedAfterOpened, includeBotMembers                bool
	includeInheritedMembers, verboseMembers              bool
	defaultBranchOnly, nonArchived, skipParsing          bool
	includeLabels, includeLanguages                      bool
	// The lists and maps, each written out unambiguously.
	states, labels, includedFiles, providers, pluginRepos, filesRepos string
	apiQueryParams, pipelineQueryParams                               string
	searchQueries, folders, skillPaths                                string
}

// Key returns o's Key.
func (o *Options) Key() Key {
	k := Key{generation: o.Generation, files: o.Files.Generation,
		state: o.State, regex: o.Regex, search: o.Search, issueType: o.IssueType, strategy: o.Files.Strategy, filesPath: o.Files.Path,
		updatedAfterDays: o.UpdatedAfterDays, createdAfterDays: o.CreatedAfterDays,
		limitPerProject: o.LimitPerProject, jobsPerPipeline: o.JobsPerPipeline,
		activeProjects: tristate(o.ActiveProjects), activeGroups: tristate(o.ActiveGroups),
		updatedAfterOpened: o.UpdatedAfterOpened, includeBotMembers: o.IncludeBotMembers,
		includeInheritedMembers: o.IncludeInheritedMembers, verboseMembers: o.VerboseMembers,
		defaultBranchOnly: o.DefaultBranchOnly, nonArchived: o.NonArchived, skipParsing: o.Files.SkipParsing,
		includeLabels: o.IncludeLabels, includeLanguages: o.IncludeLanguages,
		states: list(o.States), labels: list(o.Labels), includedFiles: list(o.IncludedFiles), providers: list(o.Providers),
		pluginRepos: list(o.PluginRepos), filesRepos: list(o.Files.Repos),
		apiQueryParams: query(o.APIQueryParams), pipelineQueryParams: query(o.PipelineQueryParams)}
	k.searchQueries = each(o.SearchQueries, func(q SearchQuery) []string { return []string{q.Name, q.Scope, q.Query} })
	k.folders = each(o.Folders, func(f Folder) []string {
		return []string{f.Path, each(f.Repos, func(r FolderRepo) []string { return []string{r.Name, r.Branch} })}
	})
	k.skillPaths = each(o.SkillPaths, func(p SkillPath) []string { return []string{p.Path, list(p.Repos)} })
	return k
}

// list writes a list of strings: "" for nil, each item quoted otherwise.
func list(l []string) string {
	if l == nil {
		return ""
	}
	var b strings.Builder
	b.WriteByte('[')
	for _, s := range l {
		b.WriteString(strconv.Quote(s))
	}
	b.WriteByte(']')
	return b.String()
}

// each writes a list of structs, each as the list of its fields.
func each[T any](l []T, fields func(T) []string) string {
	if l == nil {
		return ""
	}
	items := make([]string, len(l))
	for i, x := range l {
		items[i] = list(fields(x))
	}
	return list(items)
}

// query writes query parameters: "" for nil, each name and its values
// in name order otherwise.
func query(q url.Values) string {
	if q == nil {
		return ""
	}
	names := slices.Sorted(maps.Keys(q))
	items := make([]string, len(names))
	for i, n := range names {
		items[i] = strconv.Quote(n) + list(q[n])
	}
	return "?" + list(items)
}

func tristate(b *bool) int8 {
	switch {
	case b == nil:
		return 0
	case *b:
		return 1
	}
	return -1
}
