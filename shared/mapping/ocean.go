package mapping

import (
	_ "embed"
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
	// v2 lists groups and projects where the token is at least Developer
	// (gitlab-v2/integration.py, GitlabVisibilityConfig).
	v2MinAccessLevel = 30
)

// defaults are the selector options a resource of kind starts from; only
// the options the kind uses are set.
func defaults(gen Generation, kind string) Selector {
	s := Selector{Generation: gen}
	switch kind {
	case "merge-request":
		s.States, s.UpdatedAfterDays = []string{"opened"}, v2MergeRequestDays
		if gen == OceanV1 {
			s.States, s.UpdatedAfterDays = []string{"opened", "closed", "locked", "merged"}, v1MergeRequestDays
		}
	case "issue":
		// Every state and age in both; v2 sends non_archived=true unless
		// nonArchived is false (gitlab-v2/integration.py, IssueSelector),
		// v1 lists archived projects' issues too (gitlab_service.py,
		// get_all_issues).
		s.NonArchived = gen != OceanV1
	case "pipeline":
		if gen == OceanV1 {
			s.CreatedAfterDays = v1PipelineDays
		}
	case "job":
		if gen != OceanV1 {
			s.JobsPerPipeline = v2JobsPerPipeline
		}
	case "branch":
		s.DefaultBranchOnly = true
	case "file":
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

// v1DefaultSpecPath is v1's GitOps spec file glob (gitlab/gitlab_integration/
// git_integration.py, GitlabPortAppConfig.spec_path).
const v1DefaultSpecPath = "**/port.yml"

//go:embed ocean/v1-port-app-config.yaml
var oceanV1Mapping []byte

//go:embed ocean/v2-port-app-config.yml
var oceanV2Mapping []byte

//go:embed ocean/v1-blueprints.json
var oceanV1Blueprints []byte

//go:embed ocean/v2-blueprints.json
var oceanV2Blueprints []byte

// OceanDefault returns the default port-app-config Ocean ships for a
// generation, byte for byte (see ocean/SOURCE.md).
func OceanDefault(gen Generation) []byte {
	if gen == OceanV1 {
		return append([]byte(nil), oceanV1Mapping...)
	}
	return append([]byte(nil), oceanV2Mapping...)
}

// OceanBlueprints returns the blueprints.json Ocean ships for a
// generation, byte for byte: the blueprints its default mapping writes to.
func OceanBlueprints(gen Generation) []byte {
	if gen == OceanV1 {
		return append([]byte(nil), oceanV1Blueprints...)
	}
	return append([]byte(nil), oceanV2Blueprints...)
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
