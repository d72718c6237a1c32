package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
)

// hookModel is the state of glsync_group_hook and glsync_system_hook (the
// group attributes stay null for the system hook).
type hookModel struct {
	ID                     types.String `tfsdk:"id"`
	HookID                 types.Int64  `tfsdk:"hook_id"`
	Group                  types.String `tfsdk:"group"`
	GroupID                types.Int64  `tfsdk:"group_id"`
	URL                    types.String `tfsdk:"url"`
	Events                 types.Set    `tfsdk:"events"`
	Token                  types.String `tfsdk:"token"`
	EnableSSLVerification  types.Bool   `tfsdk:"enable_ssl_verification"`
	PushEventsBranchFilter types.String `tfsdk:"push_events_branch_filter"`
	Name                   types.String `tfsdk:"name"`
	Description            types.String `tfsdk:"description"`
	CustomWebhookTemplate  types.String `tfsdk:"custom_webhook_template"`
}

// systemHookModel is glsync_system_hook's state.
type systemHookModel struct {
	ID                    types.String `tfsdk:"id"`
	HookID                types.Int64  `tfsdk:"hook_id"`
	URL                   types.String `tfsdk:"url"`
	Events                types.Set    `tfsdk:"events"`
	Token                 types.String `tfsdk:"token"`
	EnableSSLVerification types.Bool   `tfsdk:"enable_ssl_verification"`
}

func (m systemHookModel) hook() hookModel {
	return hookModel{ID: m.ID, HookID: m.HookID, URL: m.URL, Events: m.Events, Token: m.Token, EnableSSLVerification: m.EnableSSLVerification,
		Group: types.StringNull(), GroupID: types.Int64Null()}
}

func (m hookModel) system() systemHookModel {
	return systemHookModel{ID: m.ID, HookID: m.HookID, URL: m.URL, Events: m.Events, Token: m.Token, EnableSSLVerification: m.EnableSSLVerification}
}

// hookResource implements both hook resources; system selects which.
type hookResource struct {
	system  bool
	clients *clients
}

var (
	_ resource.ResourceWithImportState = (*hookResource)(nil)
	_ resource.ResourceWithConfigure   = (*hookResource)(nil)
)

func newGroupHookResource() resource.Resource  { return &hookResource{} }
func newSystemHookResource() resource.Resource { return &hookResource{system: true} }

func (r *hookResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	if r.system {
		resp.TypeName = req.ProviderTypeName + "_system_hook"
	} else {
		resp.TypeName = req.ProviderTypeName + "_group_hook"
	}
}

// httpURL validates a hook URL at plan time.
type httpURL struct{}

func (httpURL) Description(context.Context) string         { return "must be an http(s) URL" }
func (httpURL) MarkdownDescription(context.Context) string { return "must be an http(s) URL" }
func (httpURL) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	u, err := url.Parse(req.ConfigValue.ValueString())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid hook URL", fmt.Sprintf("url must be an http(s) URL GitLab can reach, got %q.", req.ConfigValue.ValueString()))
	}
}

func (r *hookResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	events := hookspec.GroupEvents
	kind := "group"
	if r.system {
		events = hookspec.SystemEvents
		kind = "system"
	}
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{Computed: true, Description: "`group_id:hook_id` for a group hook, the hook id for a system hook.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		"hook_id": schema.Int64Attribute{Computed: true, Description: "GitLab's id of the hook.",
			PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}},
		"url": schema.StringAttribute{Required: true, Description: "URL GitLab delivers to, e.g. `https://glsync.example.com/integration/hook/42`.",
			Validators: []validator.String{httpURL{}}},
		"events": schema.SetAttribute{Optional: true, ElementType: types.StringType,
			Description: "Events to deliver, among " + strings.Join(events, ", ") + ". Empty or unset: all of them.",
			Validators:  []validator.Set{setvalidator.ValueStringsAre(stringvalidator.OneOf(events...))}},
		"token": schema.StringAttribute{Optional: true, Sensitive: true,
			Description: "Secret GitLab sends in `X-Gitlab-Token`. GitLab never returns it, so it is kept in the state as given: " +
				"a change made outside Terraform cannot be seen."},
		"enable_ssl_verification": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
			Description: "Verify the TLS certificate of `url` (default true)."},
	}
	if !r.system {
		attrs["group"] = schema.StringAttribute{Required: true, Description: "Group id or full path.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}}
		attrs["group_id"] = schema.Int64Attribute{Computed: true, Description: "Numeric id of the group.",
			PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}}
		for name, desc := range map[string]string{
			"push_events_branch_filter": "Deliver push events only for branches matching this wildcard.",
			"name":                      "Name of the hook.",
			"description":               "Description of the hook.",
			"custom_webhook_template":   "Custom payload template.",
		} {
			attrs[name] = schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(""), Description: desc}
		}
	}
	resp.Schema = schema.Schema{
		Description: fmt.Sprintf("A GitLab %s hook. `terraform plan` shows a change when the hook's URL or events were changed in GitLab, "+
			"and plans to create it again when it was deleted. Import with %s.", kind, map[bool]string{true: "`terraform import glsync_system_hook.x <hook_id>`", false: "`terraform import glsync_group_hook.x <group>:<hook_id>`"}[r.system]),
		Attributes: attrs,
	}
}

func (r *hookResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = configureClients(req.ProviderData, &resp.Diagnostics)
}

func (r *hookResource) get(ctx context.Context, g getter, diags *diag.Diagnostics) hookModel {
	var m hookModel
	if r.system {
		var s systemHookModel
		diags.Append(g.Get(ctx, &s)...)
		return s.hook()
	}
	diags.Append(g.Get(ctx, &m)...)
	return m
}

func (r *hookResource) set(ctx context.Context, s setter, m hookModel, diags *diag.Diagnostics) {
	if r.system {
		diags.Append(s.Set(ctx, m.system())...)
		return
	}
	diags.Append(s.Set(ctx, m)...)
}

type getter interface {
	Get(context.Context, any) diag.Diagnostics
}

type setter interface {
	Set(context.Context, any) diag.Diagnostics
}

func stringsOf(ctx context.Context, s types.Set, diags *diag.Diagnostics) []string {
	if s.IsNull() || s.IsUnknown() {
		return nil
	}
	var out []string
	diags.Append(s.ElementsAs(ctx, &out, false)...)
	sort.Strings(out)
	return out
}

func (r *hookResource) spec(ctx context.Context, m hookModel, groupID int64, diags *diag.Diagnostics) hooks.Spec {
	return hooks.Spec{GroupID: groupID, URL: m.URL.ValueString(), Events: stringsOf(ctx, m.Events, diags), Token: m.Token.ValueString(),
		EnableSSLVerification: m.EnableSSLVerification.ValueBool(), Name: m.Name.ValueString(), Description: m.Description.ValueString(),
		PushEventsBranchFilter: m.PushEventsBranchFilter.ValueString(), CustomWebhookTemplate: m.CustomWebhookTemplate.ValueString()}
}

// resolveGroup turns an id or full path into the group's id.
func resolveGroup(ctx context.Context, c *gitlab.Client, group string) (int64, error) {
	var g struct {
		ID int64 `json:"id"`
	}
	status, err := c.Do(ctx, http.MethodGet, "groups/"+gitlab.PathEscape(group), nil, &g)
	if status == http.StatusNotFound {
		return 0, fmt.Errorf("group %q: GitLab does not know this group, or the token cannot see it", group)
	}
	if err != nil {
		return 0, err
	}
	return g.ID, nil
}

// fill writes GitLab's view of the hook into the model. Events read back
// keep the user's choice where GitLab cannot tell (one flag for the three
// membership events; unset meaning all).
func (r *hookResource) fill(ctx context.Context, m *hookModel, e hooks.Existing, diags *diag.Diagnostics) {
	m.HookID = types.Int64Value(e.ID)
	m.URL = types.StringValue(e.URL)
	m.EnableSSLVerification = types.BoolValue(e.SSL)
	prior := stringsOf(ctx, m.Events, diags)
	got := e.Events(r.system, prior)
	all := hookspec.GroupEvents
	if r.system {
		all = hookspec.SystemEvents
	}
	if len(prior) == 0 && len(got) == len(all) {
		// unset or empty means all: nothing changed
	} else {
		vals := make([]attr.Value, len(got))
		for i, v := range got {
			vals[i] = types.StringValue(v)
		}
		set, d := types.SetValue(types.StringType, vals)
		diags.Append(d...)
		m.Events = set
	}
	if r.system {
		m.ID = types.StringValue(strconv.FormatInt(e.ID, 10))
		return
	}
	m.GroupID = types.Int64Value(e.GroupID)
	m.ID = types.StringValue(fmt.Sprintf("%d:%d", e.GroupID, e.ID))
	m.Name = types.StringValue(e.Name)
	m.Description = types.StringValue(e.Description)
	m.PushEventsBranchFilter = types.StringValue(e.PushEventsBranchFilter)
	m.CustomWebhookTemplate = types.StringValue(e.CustomWebhookTemplate)
}

func (r *hookResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	m := r.get(ctx, req.Plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !r.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	var groupID int64
	if !r.system {
		id, err := resolveGroup(ctx, r.clients.gitlab, m.Group.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("group"), "Cannot find the group", err.Error())
			return
		}
		groupID = id
	}
	e, err := hooks.Create(ctx, r.clients.gitlab, r.spec(ctx, m, groupID, &resp.Diagnostics))
	if err != nil {
		resp.Diagnostics.AddError("Creating the hook failed", err.Error())
		return
	}
	r.fill(ctx, &m, e, &resp.Diagnostics)
	r.set(ctx, &resp.State, m, &resp.Diagnostics)
}

func (r *hookResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	m := r.get(ctx, req.State, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !r.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	groupID := m.GroupID.ValueInt64()
	e, found, err := hooks.Get(ctx, r.clients.gitlab, groupID, m.HookID.ValueInt64())
	if err != nil {
		resp.Diagnostics.AddError("Reading the hook failed", err.Error())
		return
	}
	if !found {
		resp.State.RemoveResource(ctx) // deleted outside Terraform: plan to create it again
		return
	}
	r.fill(ctx, &m, e, &resp.Diagnostics)
	r.set(ctx, &resp.State, m, &resp.Diagnostics)
}

func (r *hookResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	m := r.get(ctx, req.Plan, &resp.Diagnostics)
	state := r.get(ctx, req.State, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !r.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	groupID := state.GroupID.ValueInt64()
	e, err := hooks.Update(ctx, r.clients.gitlab, state.HookID.ValueInt64(), r.spec(ctx, m, groupID, &resp.Diagnostics))
	if err != nil {
		resp.Diagnostics.AddError("Updating the hook failed", err.Error())
		return
	}
	m.GroupID = state.GroupID
	r.fill(ctx, &m, e, &resp.Diagnostics)
	r.set(ctx, &resp.State, m, &resp.Diagnostics)
}

func (r *hookResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	m := r.get(ctx, req.State, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !r.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	if err := hooks.Delete(ctx, r.clients.gitlab, m.GroupID.ValueInt64(), m.HookID.ValueInt64()); err != nil {
		resp.Diagnostics.AddError("Deleting the hook failed", err.Error())
	}
}

// ImportState accepts "<group>:<hook_id>" (group id or full path) for a
// group hook and "<hook_id>" for the system hook. The token cannot be
// imported: GitLab never returns it.
func (r *hookResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !r.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	idPart := req.ID
	var groupID int64
	group := ""
	if !r.system {
		i := strings.LastIndex(req.ID, ":")
		if i <= 0 {
			resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("Use <group>:<hook_id> (group id or full path), got %q.", req.ID))
			return
		}
		group, idPart = req.ID[:i], req.ID[i+1:]
		id, err := resolveGroup(ctx, r.clients.gitlab, group)
		if err != nil {
			resp.Diagnostics.AddError("Cannot find the group", err.Error())
			return
		}
		groupID = id
	}
	hookID, err := strconv.ParseInt(idPart, 10, 64)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("The hook id must be a number, got %q.", idPart))
		return
	}
	e, found, err := hooks.Get(ctx, r.clients.gitlab, groupID, hookID)
	if err != nil || !found {
		resp.Diagnostics.AddError("Cannot import the hook", fmt.Sprintf("hook %d: %v", hookID, orNotFound(err)))
		return
	}
	m := hookModel{Events: types.SetNull(types.StringType), Token: types.StringNull()}
	if !r.system {
		m.Group = types.StringValue(group)
	}
	r.fill(ctx, &m, e, &resp.Diagnostics)
	r.set(ctx, &resp.State, m, &resp.Diagnostics)
}

func orNotFound(err error) error {
	if err == nil {
		return fmt.Errorf("GitLab has no such hook")
	}
	return err
}
