package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// projectHookResource implements glsync_project_hook: a project's hook
// with every field of GitLab's project hooks API. Its lifecycle is
// hookCore's, over projectHookModel.
type projectHookResource struct {
	hookCore[projectHookModel, *projectHookModel]
}

func newProjectHookResource() resource.Resource {
	return &projectHookResource{hookCore[projectHookModel, *projectHookModel]{kind: projectHooks}}
}

// projectHookModel is glsync_project_hook's plan, state and
// configuration. repository_update_events is read only (GitLab reports
// it, its API does not set it).
type projectHookModel struct {
	hookModel
	ownedHookModel
	Project                   types.String `tfsdk:"project"`
	ProjectID                 types.Int64  `tfsdk:"project_id"`
	ResourceDeployTokenEvents types.Bool   `tfsdk:"resource_deploy_token_events"`
	RepositoryUpdateEvents    types.Bool   `tfsdk:"repository_update_events"`
}

func (m *projectHookModel) common() *hookModel     { return &m.hookModel }
func (m *projectHookModel) owned() *ownedHookModel { return &m.ownedHookModel }
func (m *projectHookModel) parent() (*types.String, *types.Int64) {
	return &m.Project, &m.ProjectID
}

// projectHookAttributes are glsync_project_hook's schema attributes.
func projectHookAttributes() map[string]schema.Attribute { return projectHooks.attributes() }
