package provider

import (
	"context"
	"fmt"
	"net/http"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
)

// hookKind is the data that differs between the hook resources and data
// sources: whose hooks they are (a group's, a project's or the system's),
// the attribute naming that owner, the event flags and the event names.
// Each resource has its own type and model (group_hook_resource.go,
// project_hook_resource.go, system_hook_resource.go); their lifecycle
// (body, read back, import, move, adoption) is hookCore's, one code path
// for the three.
type hookKind struct {
	name     string   // group, project or system: glsync_<name>_hook
	parent   string   // attribute naming the owner ("" for the system)
	parentID string   // its numeric id attribute
	flags    []string // event flags the resource sets
	readOnly []string // event flags GitLab reports but the hooks API does not set
	events   []string // the spec's events: events = [] means these
	accepted func() string
	isEvent  func(string) bool
	unknown  func(string) string
	other    string // a flag events leaves alone, for the docs
	// parentHelp is how the owner may be written, need what the token
	// needs for the hooks (diagnostics).
	parentHelp, need string
}

// systemFlags are the system hook's event flags.
var systemFlags = []string{"push_events", "tag_push_events", "merge_requests_events", "repository_update_events"}

var (
	groupHooks = hookKind{name: "group", parent: "group", parentID: "group_id", flags: hookspec.GitLabGroupFlags,
		events: hookspec.GroupEvents, accepted: hookspec.AcceptedGroupEvents, isEvent: hookspec.IsGroupEvent,
		unknown: func(n string) string { return hookspec.UnknownEventError(n, false) }, other: "note_events",
		parentHelp: "group id or full path", need: "a token of this group (Owner role)"}
	projectHooks = hookKind{name: "project", parent: "project", parentID: "project_id", flags: hookspec.GitLabProjectFlags,
		readOnly: []string{"repository_update_events"},
		events:   hookspec.ProjectEvents, accepted: hookspec.AcceptedProjectEvents, isEvent: hookspec.IsProjectEvent,
		unknown: hookspec.UnknownProjectEventError, other: "note_events",
		parentHelp: "project id or path with namespace", need: "a token with the Maintainer role on this project"}
	systemHooks = hookKind{name: "system", flags: systemFlags,
		events: hookspec.SystemEvents, accepted: hookspec.AcceptedSystemEvents, isEvent: hookspec.IsSystemEvent,
		unknown: func(n string) string { return hookspec.UnknownEventError(n, true) }, other: "tag_push_events",
		need: "an administrator's token"}
)

func (k hookKind) system() bool     { return k.parent == "" }
func (k hookKind) typeName() string { return "glsync_" + k.name + "_hook" }
func (k hookKind) official() string { return "gitlab_" + k.name + "_hook" }
func (k hookKind) parentTitle() string {
	if k.parent == "" {
		return "System"
	}
	return string(k.parent[0]-'a'+'A') + k.parent[1:]
}

// owner is whose hooks the calls to GitLab are about.
func (k hookKind) owner(parentID int64) hooks.Owner {
	switch k.name {
	case "project":
		return hooks.ProjectOwner(parentID)
	case "group":
		return hooks.GroupOwner(parentID)
	}
	return hooks.Owner{}
}

// ownerID is the id of the group or project a hook GitLab returned is on.
func (k hookKind) ownerID(e hooks.Existing) int64 {
	if k.name == "project" {
		return e.ProjectID
	}
	return e.GroupID
}

// importFormat is the import id, for docs and diagnostics.
func (k hookKind) importFormat() string {
	if k.system() {
		return "<hook_id>"
	}
	return fmt.Sprintf("<%s>:<hook_id>", k.parent)
}

// parentOf turns an id or path into the group's (project's) id and its
// full path (path with namespace).
func (k hookKind) parentOf(ctx context.Context, c *gitlab.Client, ref string) (int64, string, error) {
	if k.name == "project" {
		return projectOf(ctx, c, ref)
	}
	return groupOf(ctx, c, ref)
}

// resolveGroup turns an id or full path into the group's id.
func resolveGroup(ctx context.Context, c *gitlab.Client, group string) (int64, error) {
	id, _, err := groupOf(ctx, c, group)
	return id, err
}

// groupOf turns an id or full path into the group's id and full path.
func groupOf(ctx context.Context, c *gitlab.Client, group string) (int64, string, error) {
	var g struct {
		ID       int64  `json:"id"`
		FullPath string `json:"full_path"`
	}
	status, err := c.Do(ctx, http.MethodGet, "groups/"+gitlab.PathEscape(group), nil, &g)
	if status == http.StatusNotFound {
		return 0, "", fmt.Errorf("group %q: GitLab does not know this group, or the token cannot see it", group)
	}
	if err != nil {
		return 0, "", fmt.Errorf("group %q: %w", group, err)
	}
	return g.ID, g.FullPath, nil
}

// projectOf turns an id or path with namespace into the project's id and
// path with namespace.
func projectOf(ctx context.Context, c *gitlab.Client, project string) (int64, string, error) {
	var p struct {
		ID                int64  `json:"id"`
		PathWithNamespace string `json:"path_with_namespace"`
	}
	status, err := c.Do(ctx, http.MethodGet, "projects/"+gitlab.PathEscape(project), nil, &p)
	if status == http.StatusNotFound {
		return 0, "", fmt.Errorf("project %q: GitLab does not know this project, or the token cannot see it", project)
	}
	if err != nil {
		return 0, "", fmt.Errorf("project %q: %w", project, err)
	}
	return p.ID, p.PathWithNamespace, nil
}
