package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// systemHookResource implements glsync_system_hook: a hook of the whole
// instance (GitLab's system hooks API, an administrator's token). It has
// no group or project and fewer fields and flags than the others; its
// lifecycle is hookCore's, over systemHookModel.
type systemHookResource struct {
	hookCore[systemHookModel, *systemHookModel]
}

func newSystemHookResource() resource.Resource {
	return &systemHookResource{hookCore[systemHookModel, *systemHookModel]{kind: systemHooks}}
}

// systemHookModel is glsync_system_hook's plan, state and configuration.
type systemHookModel struct {
	hookModel
	PushEvents             types.Bool `tfsdk:"push_events"`
	TagPushEvents          types.Bool `tfsdk:"tag_push_events"`
	MergeRequestsEvents    types.Bool `tfsdk:"merge_requests_events"`
	RepositoryUpdateEvents types.Bool `tfsdk:"repository_update_events"`
}

func (m *systemHookModel) common() *hookModel                    { return &m.hookModel }
func (m *systemHookModel) owned() *ownedHookModel                { return nil }
func (m *systemHookModel) parent() (*types.String, *types.Int64) { return nil, nil }

// systemHookAttributes are glsync_system_hook's schema attributes.
func systemHookAttributes() map[string]schema.Attribute { return systemHooks.attributes() }
