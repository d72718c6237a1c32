package provider

import (
	"context"

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
	return &projectHookResource{hookCore[projectHookModel, *projectHookModel]{kind: projectHooks, attributes: projectHookAttributes}}
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

func projectHookAttributes() map[string]schema.Attribute {
	return withOwner(hookAttributes(projectHooks), projectHooks)
}

func (r *projectHookResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Attributes:  projectHookAttributes(),
		Description: hookDescription(projectHooks, ownedImportHelp(projectHooks)),
	}
}
