package gitlabtest

import (
	"net/http"
	"slices"
	"strings"
)

// Declared values of the listings the simulator serves.
//
// GitLab's API is Grape: a parameter declared with `values:` is checked
// before the endpoint runs, and a value outside the list is answered 400
// with {"error":"<param> does not have a valid value"} (several such
// parameters: their messages joined with ", "). A parameter the endpoint
// does not declare is not checked at all. The simulator refuses what
// GitLab refuses, so a test catches a client that sends a value real
// GitLab would refuse (glsync's pager once added order_by=id&sort=asc to
// listings whose order_by takes no id: tags, issues, merge requests, and
// sort=asc where branches take name_asc, updated_asc or updated_desc).
//
// Read from gitlabhq/gitlabhq (commits where the stored copy names one):
//   - lib/api/groups.rb: GET /groups, /groups/:id/subgroups and
//     /groups/:id/descendant_groups order_by name|path|id|similarity,
//     sort asc|desc; GET /groups/:id/projects order_by id|name|path|
//     created_at|updated_at|last_activity_at|similarity|star_count, sort
//     asc|desc, visibility private|internal|public;
//   - lib/api/projects.rb: GET /projects order_by id|name|path|created_at|
//     updated_at|last_activity_at|similarity|star_count and, for admins,
//     Helpers::ProjectsHelpers::STATISTICS_SORT_PARAMS (storage_size,
//     repository_size, wiki_size, packages_size), sort asc|desc,
//     visibility private|internal|public;
//   - lib/api/issues.rb with lib/api/helpers/issues_helpers.rb
//     (0286e4c628d6): order_by IssuesHelpers.sort_options (created_at,
//     due_date, label_priority, milestone_due, popularity, priority,
//     relative_position, title, updated_at), sort asc|desc, state
//     opened|closed|all, scope created_by_me|assigned_to_me|all (and the
//     dashed spellings);
//   - lib/api/merge_requests.rb with lib/api/helpers/merge_requests_helpers.rb
//     (017a6c129d6a): order_by MergeRequestsHelpers.sort_options
//     (created_at, label_priority, milestone_due, popularity, priority,
//     title, updated_at, merged_at), sort asc|desc, state
//     opened|closed|locked|merged|all, scope created_by_me|assigned_to_me|
//     reviews_for_me|all (and the dashed spellings);
//   - lib/api/ci/pipelines.rb: order_by Ci::PipelinesFinder::
//     ALLOWED_INDEXED_COLUMNS (id, status, ref, updated_at, user_id), sort
//     asc|desc;
//   - lib/api/deployments.rb: order_by DeploymentsFinder::
//     ALLOWED_SORT_VALUES (id, iid, created_at, updated_at, finished_at,
//     ref), sort asc|desc;
//   - lib/api/tags.rb (017a6c129d6a): order_by name|updated|version, sort
//     asc|desc;
//   - lib/api/branches.rb (017a6c129d6a): sort name_asc|updated_asc|
//     updated_desc, and no order_by;
//   - lib/api/releases.rb (017a6c129d6a): a project's releases order_by
//     released_at|created_at, sort asc|desc; a group's sort asc|desc.
// Hooks, labels, members, pipeline jobs and search declare no order_by
// or sort: GitLab ignores them there, and so does the simulator.

// declaredParam is one parameter's declared values.
type declaredParam struct {
	name   string
	values []string
}

var (
	sortDir       = declaredParam{"sort", []string{"asc", "desc"}}
	groupOrder    = declaredParam{"order_by", []string{"name", "path", "id", "similarity"}}
	projectOrders = []string{"id", "name", "path", "created_at", "updated_at", "last_activity_at", "similarity", "star_count"}
	issueOrder    = declaredParam{"order_by", []string{"created_at", "due_date", "label_priority", "milestone_due", "popularity",
		"priority", "relative_position", "title", "updated_at"}}
	issueState = declaredParam{"state", []string{"opened", "closed", "all"}}
	issueScope = declaredParam{"scope", []string{"created-by-me", "assigned-to-me", "created_by_me", "assigned_to_me", "all"}}
	mrOrder    = declaredParam{"order_by", []string{"created_at", "label_priority", "milestone_due", "popularity", "priority",
		"title", "updated_at", "merged_at"}}
	mrState = declaredParam{"state", []string{"opened", "closed", "locked", "merged", "all"}}
	mrScope = declaredParam{"scope", []string{"created-by-me", "assigned-to-me", "created_by_me", "assigned_to_me", "reviews_for_me", "all"}}
	// Gitlab::VisibilityLevel.string_values, which both project listings
	// declare for visibility.
	visibility = declaredParam{"visibility", []string{"private", "internal", "public"}}
)

// declaredFor is what the listing at segs (the path after /api/v4)
// declares with values:, nil for a route the simulator does not check.
func declaredFor(segs []string) []declaredParam {
	n := len(segs)
	at := func(i int, name string) bool { return i < n && segs[i] == name }
	switch {
	case n == 1 && at(0, "groups"):
		return []declaredParam{groupOrder, sortDir}
	case n == 3 && at(0, "groups") && (at(2, "subgroups") || at(2, "descendant_groups")):
		return []declaredParam{groupOrder, sortDir}
	case n == 3 && at(0, "groups") && at(2, "projects"):
		return []declaredParam{{"order_by", projectOrders}, sortDir, visibility}
	case n == 1 && at(0, "projects"):
		return []declaredParam{{"order_by", slices.Concat(projectOrders, []string{"storage_size", "repository_size", "wiki_size", "packages_size"})}, sortDir, visibility}
	case n == 1 && at(0, "issues"), n == 3 && (at(0, "groups") || at(0, "projects")) && at(2, "issues"):
		return []declaredParam{issueOrder, sortDir, issueState, issueScope}
	case n == 1 && at(0, "merge_requests"), n == 3 && (at(0, "groups") || at(0, "projects")) && at(2, "merge_requests"):
		return []declaredParam{mrOrder, sortDir, mrState, mrScope}
	case n == 3 && at(0, "projects") && at(2, "pipelines"):
		return []declaredParam{{"order_by", []string{"id", "status", "ref", "updated_at", "user_id"}}, sortDir}
	case n == 3 && at(0, "projects") && at(2, "deployments"):
		return []declaredParam{{"order_by", []string{"id", "iid", "created_at", "updated_at", "finished_at", "ref"}}, sortDir}
	case n == 4 && at(0, "projects") && at(2, "repository") && at(3, "tags"):
		return []declaredParam{{"order_by", []string{"name", "updated", "version"}}, sortDir}
	case n == 4 && at(0, "projects") && at(2, "repository") && at(3, "branches"):
		return []declaredParam{{"sort", []string{"name_asc", "updated_asc", "updated_desc"}}}
	case n == 3 && at(0, "projects") && at(2, "releases"):
		return []declaredParam{{"order_by", []string{"released_at", "created_at"}}, sortDir}
	case n == 3 && at(0, "groups") && at(2, "releases"):
		return []declaredParam{sortDir}
	}
	return nil
}

// refuseUndeclared answers GitLab's 400 when a GET's query gives a
// declared parameter a value outside its list, and reports whether it
// did. An empty value is no value: Grape leaves it to the default.
func refuseUndeclared(w http.ResponseWriter, r *http.Request, segs []string) bool {
	if r.Method != http.MethodGet {
		return false
	}
	q := r.URL.Query()
	var bad []string
	for _, p := range declaredFor(segs) {
		if v := q.Get(p.name); v != "" && !slices.Contains(p.values, v) {
			bad = append(bad, p.name+" does not have a valid value")
		}
	}
	if len(bad) == 0 {
		return false
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": strings.Join(bad, ", ")})
	return true
}
