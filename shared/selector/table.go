package selector

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
	KindGroup:              groupScoped,
	KindProject:            join(projectSelector, []string{"includeLabels"}),
	KindMergeRequest:       join(groupScoped, []string{"states", "updatedAfter", "updatedAfterAppliesToOpened"}),
	KindIssue:              join(groupScoped, []string{"state", "updatedAfter", "labels", "issueType", "nonArchived"}),
	KindPipeline:           join(projectSelector, []string{"apiQueryParams", "pipelineQueryParams", "limitPerProject", "createdAfter"}),
	KindJob:                join(projectSelector, []string{"pipelineQueryParams", "apiQueryParams", "limitPerProject"}),
	KindRelease:            join(projectSelector, []string{"limitPerProject"}),
	KindTag:                join(projectSelector, []string{"limitPerProject"}),
	KindBranch:             join(projectScoped, []string{"regex", "search", "defaultBranchOnly", "limitPerProject"}),
	KindDeployment:         join(projectScoped, []string{"apiQueryParams", "limitPerProject"}),
	KindMember:             join(groupScoped, memberOptions),
	KindGroupWithMembers:   join(groupScoped, memberOptions, []string{"includeVerboseMemberObject"}),
	KindProjectWithMembers: join(projectScoped, memberOptions, []string{"includeVerboseMemberObject"}),
	KindFile:               join(groupScoped, []string{"files", "includedFiles", "searchStrategy"}),
	KindFolder:             join(projectSelector, []string{"folders"}),
	KindSkill:              join(groupScoped, []string{"paths"}),
	KindPlugin:             join(groupScoped, []string{"providers", "repos"}),
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
	KindPipeline: {"includeLanguages", "searchQueries", "includedFiles"},
	KindJob:      {"includeLanguages", "searchQueries", "includedFiles"},
	KindRelease:  {"includeLanguages", "searchQueries", "includedFiles"},
	KindTag:      {"includeLanguages", "searchQueries", "includedFiles"},
	KindFolder:   {"includeLanguages", "searchQueries"},
}
