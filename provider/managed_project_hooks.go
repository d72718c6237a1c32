package provider

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
)

// Personal projects' hooks in glsync_managed_hooks. Reconciliation also
// wants a project hook on each personal project of the token (see
// shared/hooks/projects.go); the hooks map names them projectKeyPrefix +
// the project's path, apart from the groups' full paths.
const projectKeyPrefix = "project:"

// projectHookKey is the hooks map key of a project hook action, "" for
// other hooks.
func projectHookKey(a hooks.Action) string {
	if a.Desired.ProjectID == 0 {
		return ""
	}
	return projectKeyPrefix + a.Desired.ProjectPath
}

// deleteProjectHook removes the hook of the project a hooks map key
// names, and its secret in glsyncd; a project gone took its hook with it.
func (r *managedHooksResource) deleteProjectHook(ctx context.Context, key string, hookID int64) (scope string, err error) {
	var p struct {
		ID int64 `json:"id"`
	}
	path := strings.TrimPrefix(key, projectKeyPrefix)
	status, err := r.clients.gitlab.Do(ctx, http.MethodGet, "projects/"+gitlab.PathEscape(path), nil, &p)
	if status == http.StatusNotFound {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading project %q: %w", path, err)
	}
	if err := hooks.DeleteProjectHook(ctx, r.clients.gitlab, p.ID, hookID); err != nil {
		return "", err
	}
	return hooks.ProjectScope(p.ID), nil
}

func isProjectKey(key string) bool { return strings.HasPrefix(key, projectKeyPrefix) }
