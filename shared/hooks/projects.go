package hooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
)

// Project hooks. A project in a user's personal namespace belongs to no
// group, so no group hook delivers its events; as Ocean v2 does since its
// PR #3420, glsync puts a project hook on each personal project a token
// owns (crawl's PersonalProjects: GET /projects?owned=true&all_available=
// true, namespace.kind "user", selected by the token's globs). They follow
// the group hooks' rules: matched by URL (an existing hook at glsync's or
// Ocean's route is adopted, never duplicated), secrets as for group
// hooks, drift repaired, paused hooks resumed, and nothing done on a
// failed read. Unlike Ocean, the hook carries a secret glsync verifies.
// With useSystemHook no project hook is wanted: the system hook delivers
// every project's events.

// ProjectHookPath is where glsyncd receives a project hook's deliveries:
// ProjectHookPath + project id. It is not Ocean's /integration/hook/{id}
// (#3420 used that for project ids too), which glsync reads as a group id.
const ProjectHookPath = "/integration/project/hook/"

// ProjectScope is the secret scope of a project's hook.
func ProjectScope(projectID int64) string { return "project:" + strconv.FormatInt(projectID, 10) }

// projectFlags are the flags of a project hook glsync manages: a group
// hook's without the group-only subgroup, member and project events,
// which GitLab's project hooks API does not have.
var projectFlags = slices.DeleteFunc(slices.Clone(groupFlags), func(f string) bool {
	return f == "subgroup_events" || f == "member_events" || f == "project_events"
})

// flags are the flags glsync sets on a hook of this owner.
func (o Owner) flags() []string {
	switch {
	case o.ProjectID != 0:
		return projectFlags
	case o.GroupID != 0:
		return groupFlags
	}
	return systemFlags
}

func (d Desired) owner() Owner { return Owner{GroupID: d.GroupID, ProjectID: d.ProjectID} }

func (s Spec) owner() Owner { return Owner{GroupID: s.GroupID, ProjectID: s.ProjectID} }

// projectEventFlags are the flags a personal project's hook enables: the
// group hooks' events a project hook can have.
func projectEventFlags() map[string]bool {
	out := Flags(hookspec.GroupEvents)
	for f := range out {
		if !slices.Contains(projectFlags, f) {
			delete(out, f)
		}
	}
	return out
}

// personalHooks adds to out a project hook for each personal project of
// each token (the first token in tokenMapping order manages a project
// two tokens own). A token whose personal projects cannot be listed
// makes the cycle skip, as a group listing does.
func personalHooks(ctx context.Context, base string, sources []*Source, out []Desired, problems []Problem) ([]Desired, []Problem, error) {
	seen := map[int64]bool{}
	for _, src := range sources {
		ps, err := src.PersonalProjects(ctx)
		if err != nil {
			return nil, nil, &Skipped{Reason: SkipGitLab, What: "listing token " + src.Client.Masked + "'s personal projects in GitLab", Err: err}
		}
		for _, p := range ps {
			if seen[p.ID] {
				continue
			}
			seen[p.ID] = true
			out = append(out, Desired{Scope: ProjectScope(p.ID), ProjectID: p.ID, ProjectPath: p.PathWithNamespace,
				URL: base + ProjectHookPath + strconv.FormatInt(p.ID, 10), Flags: projectEventFlags(), Client: src.Client})
		}
	}
	return out, problems, nil
}

// projectListingProblem turns a refused listing of a project's hooks
// (403: the token cannot manage them; 404: the project went away since it
// was listed) into a problem for that project alone: the other hooks are
// still reconciled, and nothing is done to this one.
func projectListingProblem(d Desired, err error) (Problem, bool) {
	var ae *gitlab.APIError
	if d.ProjectID == 0 || !errors.As(err, &ae) || (ae.Status != http.StatusForbidden && ae.Status != http.StatusNotFound) {
		return Problem{}, false
	}
	return Problem{Scope: d.Scope, Err: fmt.Errorf("project %s: its hooks cannot be read, so it gets no hook and no real-time updates "+
		"(its resyncs go on): %w", d.ProjectPath, explain(err, d.owner()))}, true
}

// projectForbidden reports a project hook action GitLab refused with 403.
func projectForbidden(a Action, err error) (Problem, bool) {
	var ae *gitlab.APIError
	if a.Desired.ProjectID == 0 || !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
		return Problem{}, false
	}
	return Problem{Scope: a.Desired.Scope, Err: fmt.Errorf("%s: skipped: %w", a, err)}, true
}

// DeleteProjectHook removes a project's hook; one already gone is not an
// error. The Terraform provider's managed hooks use it on destroy.
func DeleteProjectHook(ctx context.Context, c *gitlab.Client, projectID, hookID int64) error {
	return DeleteOf(ctx, c, ProjectOwner(projectID), hookID)
}
