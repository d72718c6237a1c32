// Package hooks reconciles the GitLab hooks glsync listens on: it works out
// the hooks the configuration wants (one per root group, the override
// mapping's groups, or one system hook), compares them with what GitLab
// has, and plans and applies the difference. The daemon runs it at start-up
// and periodically; the Terraform provider uses the same functions.
//
// Reconciliation is idempotent: hooks are matched by URL, so running it
// twice changes nothing, and duplicates of one URL are removed.
package hooks

import (
	"slices"
	"strconv"

	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
)

// Paths where glsyncd receives deliveries, as in the integration we replace.
const (
	GroupHookPath  = "/integration/hook/"
	SystemHookPath = "/integration/system/hook"
)

// SystemScope is the secret scope of the system hook.
const SystemScope = "system"

// GroupScope is the secret scope of a group's hook.
func GroupScope(groupID int64) string { return "group:" + strconv.FormatInt(groupID, 10) }

// groupFlags are all the flags of a group hook glsync manages; flags it
// does not want are set to false.
var groupFlags = []string{"push_events", "issues_events", "confidential_issues_events", "merge_requests_events",
	"tag_push_events", "note_events", "confidential_note_events", "job_events", "pipeline_events", "wiki_page_events",
	"deployment_events", "releases_events", "subgroup_events", "member_events", "project_events"}

var systemFlags = []string{"push_events", "tag_push_events", "merge_requests_events", "repository_update_events"}

// ManagedFlags are the flags reconciliation sets on a group hook (or the
// system hook): the ones a plan compares, so the Terraform resource shows
// a difference in these and only these.
func ManagedFlags(system bool) []string {
	if system {
		return slices.Clone(systemFlags)
	}
	return slices.Clone(groupFlags)
}

// Flags turns spec event names into the set of GitLab flags to enable.
func Flags(events []string) map[string]bool {
	out := map[string]bool{}
	for _, e := range events {
		if f := hookspec.Flag(e); f != "" {
			out[f] = true
		}
	}
	return out
}

// OceanWebhookPath is where Ocean v2 points its hooks
// (integrations/gitlab-v2: {base_url}/integration/webhook); glsyncd
// serves it too.
const OceanWebhookPath = "/integration/webhook"

// oceanRoute reports a hook URL on glsync's host at Ocean v2's route.
func oceanRoute(base, u string) bool { return sameURL(u, base+OceanWebhookPath) }

// hookName is the name glsync gives the hooks it creates; a hook at
// glsync's URL with another name was made by someone else (Ocean v1 uses
// the same routes and names nothing).
const hookName = "glsync"

func createdByGlsync(e Existing) bool { return e.Name == hookName }
