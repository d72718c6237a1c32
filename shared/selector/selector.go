// Package selector owns what a mapping's selector may say about a kind:
// the kind names, the options each kind accepts (with Ocean's defaults per
// generation), and the types that read option values with the
// coercions Ocean's pydantic models apply: scalar types (scalar.go) and
// the lists and objects built on them (option_types.go), each decoding
// itself from YAML. The mapping parses a resource's selector into
// Options; the crawler lists with them. It imports nothing of glsync but
// suggest, so both can stand on it.
package selector

// The kinds glsync syncs: GitLab object kinds, named as in Ocean's
// port-app-config.
const (
	KindGroup              = "group"
	KindProject            = "project"
	KindMergeRequest       = "merge-request"
	KindIssue              = "issue"
	KindPipeline           = "pipeline"
	KindJob                = "job"
	KindRelease            = "release"
	KindTag                = "tag"
	KindBranch             = "branch"
	KindDeployment         = "deployment"
	KindGroupWithMembers   = "group-with-members"
	KindProjectWithMembers = "project-with-members"
	KindMember             = "member"
	KindFile               = "file"
	KindFolder             = "folder"
	KindSkill              = "skill"
	KindPlugin             = "plugin"
	// KindGitOps is the kind of entities declared in GitOps spec files; no
	// resource names it.
	KindGitOps = "gitops"
)

// Kinds are the kinds a resource may name, in the order error messages
// list them.
var Kinds = []string{KindGroup, KindProject, KindMergeRequest, KindIssue, KindPipeline, KindJob, KindRelease, KindTag, KindBranch, KindDeployment,
	KindGroupWithMembers, KindProjectWithMembers, KindMember, KindFile, KindFolder, KindSkill, KindPlugin}
