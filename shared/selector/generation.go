package selector

import (
	"fmt"
	"strconv"
	"strings"
)

// Generation is the Ocean GitLab integration a configuration comes from:
// the older integrations/gitlab (v1, configured with tokenMapping) or
// integrations/gitlab-v2 (v2, configured with gitlabToken). The two list
// different objects when a mapping leaves an option out, so a user who
// switches over gets the catalog their integration produced.
type Generation string

// The Ocean generations.
const (
	OceanV1 Generation = "v1"
	OceanV2 Generation = "v2"
)

// ParseGeneration reads "v1" or "v2" (also "1", "2", "gitlab",
// "gitlab-v2").
func ParseGeneration(s string) (Generation, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "v1", "1", "gitlab":
		return OceanV1, nil
	case "v2", "2", "gitlab-v2":
		return OceanV2, nil
	}
	got := strconv.Quote(s)
	if len(s) > 12 {
		got = fmt.Sprintf("a %d-character value", len(s)) // perhaps a token in the wrong place: never echoed
	}
	return "", fmt.Errorf("must be v1 (Ocean's integrations/gitlab) or v2 (integrations/gitlab-v2), got %s", got)
}

// Default values that differ between the generations. Each names the
// Ocean code it follows.
const (
	// v2 merge requests: states [opened], updatedAfter 90 days, applied to
	// closed and merged only (gitlab-v2/main.py, on_resync_merge_requests).
	v2MergeRequestDays = 90
	// v1 merge requests: every opened one, and closed, locked and merged
	// ones updated in the last 14 days (gitlab/gitlab_integration/
	// ocean.py, resync_merge_requests).
	v1MergeRequestDays = 14
	// v1 pipelines: created in the last 14 days (gitlab/gitlab_integration/
	// ocean.py, resync_pipelines).
	v1PipelineDays = 14
	// v2 jobs: the first page (100) of each pipeline's jobs
	// (gitlab-v2/gitlab/clients/gitlab_client.py, _get_pipeline_jobs).
	v2JobsPerPipeline = 100
)

// Defaults are the selector options a resource of kind starts from; only
// the options the kind uses are set.
func Defaults(gen Generation, kind string) Options {
	s := Options{Generation: gen}
	switch kind {
	case KindMergeRequest:
		s.States, s.UpdatedAfterDays = []string{"opened"}, v2MergeRequestDays
		if gen == OceanV1 {
			s.States, s.UpdatedAfterDays = []string{"opened", "closed", "locked", "merged"}, v1MergeRequestDays
		}
	case KindIssue:
		// Every state and age in both; v2 sends non_archived=true unless
		// nonArchived is false (gitlab-v2/integration.py, IssueSelector),
		// v1 lists archived projects' issues too (gitlab_service.py,
		// get_all_issues).
		s.NonArchived = gen != OceanV1
	case KindPipeline:
		if gen == OceanV1 {
			s.CreatedAfterDays = v1PipelineDays
		}
	case KindJob:
		if gen != OceanV1 {
			s.JobsPerPipeline = v2JobsPerPipeline
		}
	case KindBranch:
		s.DefaultBranchOnly = true
	case KindFile:
		// v2's default strategy (FilesSelector.search_strategy); v1
		// always searches each project (gitlab_service.py,
		// search_files_in_project).
		s.Files.Strategy = "groupSearch"
		if gen == OceanV1 {
			s.Files.Strategy = "projectSearch"
		}
	}
	return s
}

// DefaultSkillPaths are the skill kind's default SKILL.md globs, Ocean's
// (gitlab-v2/gitlab/helpers/skill_plugin.py, DEFAULT_SKILL_PATHS).
var DefaultSkillPaths = []string{
	".agents/skills/**/SKILL.md", ".agent/skills/**/SKILL.md", ".cursor/skills/**/SKILL.md", ".claude/skills/**/SKILL.md",
	".codex/skills/**/SKILL.md", ".github/skills/**/SKILL.md", ".opencode/skills/**/SKILL.md", "skills/**/SKILL.md",
}

// PluginProviders are the agent plugin providers the plugin kind
// detects, in Ocean's default order (skill_plugin.py,
// DEFAULT_PLUGIN_PROVIDERS).
var PluginProviders = []string{"claude", "cursor", "codex", "agents", "kimi", "opencode", "pi", "antigravity"}
