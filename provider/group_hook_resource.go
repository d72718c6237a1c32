package provider

import (
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
	return &groupHookResource{hookCore[groupHookModel, *groupHookModel]{kind: groupHooks}}
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

// groupHookAttributes are glsync_group_hook's schema attributes.
func groupHookAttributes() map[string]schema.Attribute { return groupHooks.attributes() }
