package provider

import (
	"reflect"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/hooks"
)

// The hook resources' models. Each resource has its own (groupHookModel,
// projectHookModel, systemHookModel, beside its resource), read and
// written whole with Get and Set; they embed hookModel, the attributes
// every hook has, and group and project hooks also ownedHookModel.

// hookModel holds the attributes every hook resource has: GitLab's fields
// of any hook, the two secrets and the configuration's shorthands.
type hookModel struct {
	ID                    types.String `tfsdk:"id"`
	HookID                types.Int64  `tfsdk:"hook_id"`
	URL                   types.String `tfsdk:"url"`
	Events                types.Set    `tfsdk:"events"`
	EnableSSLVerification types.Bool   `tfsdk:"enable_ssl_verification"`
	Name                  types.String `tfsdk:"name"`
	Description           types.String `tfsdk:"description"`
	AdoptExisting         types.Bool   `tfsdk:"adopt_existing"`
	CreatedAt             types.String `tfsdk:"created_at"`
	Token                 types.String `tfsdk:"token"`
	TokenWO               types.String `tfsdk:"token_wo"`
	TokenWOVersion        types.Int64  `tfsdk:"token_wo_version"`
	SigningToken          types.String `tfsdk:"signing_token"`
	SigningTokenWO        types.String `tfsdk:"signing_token_wo"`
	SigningTokenWOVersion types.Int64  `tfsdk:"signing_token_wo_version"`
	SigningTokenPresent   types.Bool   `tfsdk:"signing_token_present"`
}

// ownedHookModel holds what a group's and a project's hook have and a
// system hook has not: the fields only their APIs take and report, and
// the event flags they share.
type ownedHookModel struct {
	PushEventsBranchFilter types.String `tfsdk:"push_events_branch_filter"`
	BranchFilterStrategy   types.String `tfsdk:"branch_filter_strategy"`
	CustomWebhookTemplate  types.String `tfsdk:"custom_webhook_template"`
	CustomHeaders          types.List   `tfsdk:"custom_headers"`
	URLVariables           types.List   `tfsdk:"url_variables"`
	AlertStatus            types.String `tfsdk:"alert_status"`
	DisabledUntil          types.String `tfsdk:"disabled_until"`

	PushEvents                types.Bool `tfsdk:"push_events"`
	TagPushEvents             types.Bool `tfsdk:"tag_push_events"`
	MergeRequestsEvents       types.Bool `tfsdk:"merge_requests_events"`
	IssuesEvents              types.Bool `tfsdk:"issues_events"`
	ConfidentialIssuesEvents  types.Bool `tfsdk:"confidential_issues_events"`
	NoteEvents                types.Bool `tfsdk:"note_events"`
	ConfidentialNoteEvents    types.Bool `tfsdk:"confidential_note_events"`
	JobEvents                 types.Bool `tfsdk:"job_events"`
	PipelineEvents            types.Bool `tfsdk:"pipeline_events"`
	WikiPageEvents            types.Bool `tfsdk:"wiki_page_events"`
	DeploymentEvents          types.Bool `tfsdk:"deployment_events"`
	ReleasesEvents            types.Bool `tfsdk:"releases_events"`
	FeatureFlagEvents         types.Bool `tfsdk:"feature_flag_events"`
	EmojiEvents               types.Bool `tfsdk:"emoji_events"`
	ResourceAccessTokenEvents types.Bool `tfsdk:"resource_access_token_events"`
	MilestoneEvents           types.Bool `tfsdk:"milestone_events"`
	VulnerabilityEvents       types.Bool `tfsdk:"vulnerability_events"`
}

// body adds the owned fields the configuration sets to b; removed lists
// are cleared (was: the state, nil on create).
func (o *ownedHookModel) body(b map[string]any, was *ownedHookModel, create bool) {
	for name, v := range map[string]types.String{"push_events_branch_filter": o.PushEventsBranchFilter,
		"branch_filter_strategy": o.BranchFilterStrategy, "custom_webhook_template": o.CustomWebhookTemplate} {
		if s, ok := strVal(v); ok {
			b[name] = s
		}
	}
	lists := map[string]func(*ownedHookModel) types.List{
		"custom_headers": func(m *ownedHookModel) types.List { return m.CustomHeaders },
		"url_variables":  func(m *ownedHookModel) types.List { return m.URLVariables },
	}
	for name, of := range lists {
		list := of(o)
		if list.IsNull() || list.IsUnknown() {
			if !create && was != nil {
				if prior := of(was); !prior.IsNull() && len(prior.Elements()) > 0 {
					b[name] = []any{} // removed from the configuration: cleared
				}
			}
			continue
		}
		b[name] = keyValues(list)
	}
}

// fill sets the owned fields GitLab returns; the prior lists give the
// header and variable values GitLab does not.
func (o *ownedHookModel) fill(e hooks.Existing, diags *diag.Diagnostics) {
	raw := e.Raw
	o.PushEventsBranchFilter = types.StringValue(e.PushEventsBranchFilter)
	o.CustomWebhookTemplate = types.StringValue(e.CustomWebhookTemplate)
	strategy, _ := raw["branch_filter_strategy"].(string)
	o.BranchFilterStrategy = types.StringValue(strategy)
	alert, _ := raw["alert_status"].(string)
	o.AlertStatus = types.StringValue(alert)
	if until, ok := raw["disabled_until"].(string); ok {
		o.DisabledUntil = types.StringValue(until)
	} else {
		o.DisabledUntil = types.StringNull()
	}
	o.CustomHeaders = keysFromGitLab(raw["custom_headers"], o.CustomHeaders, diags)
	o.URLVariables = keysFromGitLab(raw["url_variables"], o.URLVariables, diags)
}

// hookModelOf is what the shared lifecycle (hookCore) needs of a hook
// resource's model M, through its pointer.
type hookModelOf[M any] interface {
	*M
	common() *hookModel
	// owned is nil for a system hook.
	owned() *ownedHookModel
	// parent is the group (project) as written and its id; nil for a
	// system hook.
	parent() (*types.String, *types.Int64)
}

// newHookModel is a model whose every attribute is null, as an import
// or a move starts from.
func newHookModel[M any, P hookModelOf[M]]() *M {
	m := new(M)
	P(m).common().Events = types.SetNull(types.StringType)
	if o := P(m).owned(); o != nil {
		o.CustomHeaders = types.ListNull(keyValueType)
		o.URLVariables = types.ListNull(keyValueType)
	}
	return m
}

// eventFlagFields are the event flag attributes of a model (pointer),
// by name: the flags differ by kind, and events, the body and the read
// back treat them by the names hookspec gives.
func eventFlagFields(model any) map[string]*types.Bool {
	out := map[string]*types.Bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.Anonymous {
				walk(v.Field(i))
				continue
			}
			name := f.Tag.Get("tfsdk")
			if b, ok := v.Field(i).Addr().Interface().(*types.Bool); ok && strings.HasSuffix(name, "_events") {
				out[name] = b
			}
		}
	}
	walk(reflect.ValueOf(model).Elem())
	return out
}
