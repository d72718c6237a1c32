package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// groupHookResource implements glsync_group_hook: a group's hook with
// every field of GitLab's group hooks API. Its lifecycle is hookCore's,
// over groupHookModel.
type groupHookResource struct {
	hookCore[groupHookModel, *groupHookModel]
}

func newGroupHookResource() resource.Resource {
	return &groupHookResource{hookCore[groupHookModel, *groupHookModel]{kind: groupHooks, attributes: groupHookAttributes}}
}

// groupHookModel is glsync_group_hook's plan, state and configuration.
type groupHookModel struct {
	hookModel
	ownedHookModel
	Group          types.String `tfsdk:"group"`
	GroupID        types.Int64  `tfsdk:"group_id"`
	SubgroupEvents types.Bool   `tfsdk:"subgroup_events"`
	MemberEvents   types.Bool   `tfsdk:"member_events"`
	ProjectEvents  types.Bool   `tfsdk:"project_events"`
}

func (m *groupHookModel) common() *hookModel                    { return &m.hookModel }
func (m *groupHookModel) owned() *ownedHookModel                { return &m.ownedHookModel }
func (m *groupHookModel) parent() (*types.String, *types.Int64) { return &m.Group, &m.GroupID }

func groupHookAttributes() map[string]schema.Attribute {
	return withOwner(hookAttributes(groupHooks), groupHooks)
}

func (r *groupHookResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: hookDescription(groupHooks, ownedImportHelp(groupHooks)),
		Attributes:  groupHookAttributes(),
	}
}
