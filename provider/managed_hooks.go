package provider

import (
	"context"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// systemKey names the system hook in the hooks map.
const systemKey = "(system)"

type managedHooksModel struct {
	ID                 types.String `tfsdk:"id"`
	AppHost            types.String `tfsdk:"app_host"`
	UseSystemHook      types.Bool   `tfsdk:"use_system_hook"`
	Patterns           types.List   `tfsdk:"patterns"`
	GroupHooksOverride types.Map    `tfsdk:"group_hooks_override"`
	Hooks              types.Map    `tfsdk:"hooks"`
}

// managedHooksResource declares the hooks glsyncd needs for the
// provider's token: computed and applied with the daemon's own
// reconciliation, the secrets stored in glsyncd.
type managedHooksResource struct{ clients *clients }

var (
	_ resource.ResourceWithModifyPlan     = (*managedHooksResource)(nil)
	_ resource.ResourceWithValidateConfig = (*managedHooksResource)(nil)
	_ resource.ResourceWithImportState    = (*managedHooksResource)(nil)
)

// ImportState takes the app_host; Read then finds the hooks in place.
func (r *managedHooksResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	m := managedHooksModel{ID: types.StringValue(req.ID), AppHost: types.StringValue(req.ID), UseSystemHook: types.BoolValue(false),
		Patterns: types.ListNull(types.StringType), GroupHooksOverride: types.MapNull(types.ListType{ElemType: types.StringType}),
		Hooks: types.MapNull(types.Int64Type)}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func newManagedHooksResource() resource.Resource { return &managedHooksResource{} }

func (r *managedHooksResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_managed_hooks"
}

func (r *managedHooksResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The hook set glsyncd needs for the provider's token, declared in Terraform: a group hook on every root group the token " +
			"sees (or on the groups of `group_hooks_override`), or one system hook. It is computed and applied with the same reconciliation " +
			"glsyncd runs, and the hook secrets are stored in glsyncd (`daemon_url`). `terraform plan` shows a change when a root group has no hook, " +
			"a hook was changed or deleted by hand, or GitLab disabled it. Leave glsyncd's own `appHost` unset when Terraform manages the hooks.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"app_host": schema.StringAttribute{Required: true, Description: "Public URL of glsyncd (the spec's appHost); hooks deliver to `{app_host}/integration/hook/{group_id}` or `{app_host}/integration/system/hook`.",
				Validators: []validator.String{httpURL{}}},
			"use_system_hook": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				Description: "One system hook instead of group hooks (needs an administrator's token)."},
			"patterns": schema.ListAttribute{Optional: true, ElementType: types.StringType,
				Description: "The token mapping's globs (informational for hooks, which cover whole root groups; default `[\"**\"]`).",
				Validators:  []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(globValidator{})}},
			"group_hooks_override": schema.MapAttribute{Optional: true, ElementType: types.ListType{ElemType: types.StringType},
				Description: "Group full path → events (empty list: all): hooks only on these groups, as `tokenGroupHooksOverrideMapping`."},
			"hooks": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				Description: "Group full path (or `(system)`) → GitLab hook id of the hooks in place."},
		},
	}
}

func (r *managedHooksResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = configureClients(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks group_hooks_override with the spec's rules.
func (r *managedHooksResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m managedHooksModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.GroupHooksOverride.IsUnknown() {
		return
	}
	for _, e := range adminapi.ValidateOverride(overrideOf(ctx, m.GroupHooksOverride, &resp.Diagnostics)) {
		resp.Diagnostics.AddAttributeError(path.Root("group_hooks_override"), "Invalid group_hooks_override", e.Error())
	}
}

// reconcile computes the plan of the shared reconciliation for m.
func (r *managedHooksResource) reconcile(ctx context.Context, m managedHooksModel, diags *diag.Diagnostics) *hooks.Plan {
	if !r.clients.needGitLab(diags) || !r.clients.needDaemon(diags) {
		return nil
	}
	st := hooks.Settings{AppHost: m.AppHost.ValueString(), UseSystemHook: m.UseSystemHook.ValueBool()}
	if groups := overrideOf(ctx, m.GroupHooksOverride, diags); len(groups) > 0 {
		in := adminapi.TokenMappingInput{Token: r.clients.token, GroupHooksOverride: groups}
		_, th := in.Entry()
		st.Override = hookspec.OverrideMapping{th}
	}
	src := &crawl.Source{Entry: tokenmap.Entry{Token: r.clients.token, Patterns: []string{"**"}}, Client: r.clients.gitlab}
	desired, problems, err := hooks.DesiredHooks(ctx, st, []*crawl.Source{src})
	if err != nil {
		diags.AddError("Working out the hooks failed", err.Error())
		return nil
	}
	plan, err := hooks.MakePlan(ctx, st.AppHost, desired, problems, adminapi.Secrets{C: r.clients.daemon})
	if err != nil {
		diags.AddError("Reading the existing hooks failed", err.Error())
		return nil
	}
	return plan
}

// current is the hooks map of the hooks that already match (kept).
func current(plan *hooks.Plan, diags *diag.Diagnostics) types.Map {
	elems := map[string]attr.Value{}
	for _, a := range plan.Actions {
		if a.Op != hooks.OpKeep {
			continue
		}
		key := a.Desired.GroupPath
		if a.Desired.Scope == hooks.SystemScope {
			key = systemKey
		}
		elems[key] = types.Int64Value(a.Existing.ID)
	}
	m, d := types.MapValue(types.Int64Type, elems)
	diags.Append(d...)
	return m
}

// ModifyPlan recomputes the wanted hooks at plan time: a root group
// without a hook, or a hook changed or deleted in GitLab, makes the plan
// an update.
func (r *managedHooksResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() || r.clients == nil {
		return // create or destroy
	}
	var plan, state managedHooksModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || plan.AppHost.IsUnknown() {
		return
	}
	changed := !plan.AppHost.Equal(state.AppHost) || !plan.UseSystemHook.Equal(state.UseSystemHook) || !plan.GroupHooksOverride.Equal(state.GroupHooksOverride)
	if !changed {
		p := r.reconcile(ctx, plan, &resp.Diagnostics)
		if p == nil {
			return
		}
		changed = p.Changes() > 0
	}
	if changed {
		plan.Hooks = types.MapUnknown(types.Int64Type)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
	}
}

func (r *managedHooksResource) apply(ctx context.Context, m *managedHooksModel, diags *diag.Diagnostics) {
	plan := r.reconcile(ctx, *m, diags)
	if plan == nil {
		return
	}
	res := hooks.Apply(ctx, plan, adminapi.Secrets{C: r.clients.daemon}, nil)
	for _, p := range plan.Problems {
		diags.AddWarning("Hook not managed", p.Error())
	}
	for _, f := range res.Failed {
		diags.AddError("Hook change failed", f.Error())
	}
	after := r.reconcile(ctx, *m, diags)
	if after == nil {
		return
	}
	m.Hooks = current(after, diags)
	m.ID = types.StringValue(m.AppHost.ValueString())
}

func (r *managedHooksResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m managedHooksModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &m, &resp.Diagnostics)
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
	}
}

func (r *managedHooksResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m managedHooksModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan := r.reconcile(ctx, m, &resp.Diagnostics)
	if plan == nil {
		return
	}
	m.Hooks = current(plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (r *managedHooksResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m, prior managedHooksModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &m, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// Hooks the new settings no longer want (e.g. after switching to an
	// override) are removed.
	now := map[string]int64{}
	resp.Diagnostics.Append(m.Hooks.ElementsAs(ctx, &now, false)...)
	was := map[string]int64{}
	resp.Diagnostics.Append(prior.Hooks.ElementsAs(ctx, &was, false)...)
	for k, id := range was {
		if _, kept := now[k]; !kept {
			r.deleteHook(ctx, k, id, &resp.Diagnostics)
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// Delete removes the hooks in the state and their secrets in glsyncd.
func (r *managedHooksResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m managedHooksModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !r.clients.needGitLab(&resp.Diagnostics) || !r.clients.needDaemon(&resp.Diagnostics) {
		return
	}
	ids := map[string]int64{}
	resp.Diagnostics.Append(m.Hooks.ElementsAs(ctx, &ids, false)...)
	keys := make([]string, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.deleteHook(ctx, k, ids[k], &resp.Diagnostics)
	}
}

// deleteHook removes one hook of the hooks map and its secret in glsyncd.
func (r *managedHooksResource) deleteHook(ctx context.Context, key string, hookID int64, diags *diag.Diagnostics) {
	var groupID int64
	scope := hooks.SystemScope
	if key != systemKey {
		id, err := resolveGroup(ctx, r.clients.gitlab, key)
		if err != nil {
			return // the group is gone, and its hook with it
		}
		groupID, scope = id, hooks.GroupScope(id)
	}
	if err := hooks.Delete(ctx, r.clients.gitlab, groupID, hookID); err != nil {
		diags.AddError("Deleting a hook failed", err.Error())
		return
	}
	if err := (adminapi.Secrets{C: r.clients.daemon}).DeleteHookSecret(ctx, scope); err != nil {
		diags.AddWarning("Forgetting a hook secret in glsyncd failed", err.Error())
	}
}
