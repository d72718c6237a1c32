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
	_ resource.ResourceWithUpgradeState   = (*managedHooksResource)(nil)
)

// UpgradeState reads the version 0 state, whose hooks map held hook ids
// only: each id is kept (so destroy still finds its hook before a
// refresh), the other attributes wait for the refresh that precedes
// every plan.
func (r *managedHooksResource) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	v0 := schema.Schema{Attributes: map[string]schema.Attribute{
		"id":                   schema.StringAttribute{Computed: true},
		"app_host":             schema.StringAttribute{Required: true},
		"use_system_hook":      schema.BoolAttribute{Optional: true, Computed: true},
		"patterns":             schema.ListAttribute{Optional: true, ElementType: types.StringType},
		"group_hooks_override": schema.MapAttribute{Optional: true, ElementType: types.ListType{ElemType: types.StringType}},
		"hooks":                schema.MapAttribute{Computed: true, ElementType: types.Int64Type},
	}}
	return map[int64]resource.StateUpgrader{0: {PriorSchema: &v0, StateUpgrader: upgradeManagedHooksV0}}
}

func upgradeManagedHooksV0(ctx context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
	var m managedHooksModel // the same attributes; hooks' elements differ
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !m.Hooks.IsNull() && !m.Hooks.IsUnknown() {
		ids := map[string]int64{}
		resp.Diagnostics.Append(m.Hooks.ElementsAs(ctx, &ids, false)...)
		elems := map[string]attr.Value{}
		for k, id := range ids {
			elems[k] = hookObject(map[string]attr.Value{
				"hook_id": types.Int64Value(id), "url": types.StringNull(), "flags": types.MapNull(types.BoolType),
				"alert_status": types.StringNull(), "secret_held": types.BoolNull(), "extra_hook_ids": types.ListNull(types.Int64Type),
			}, &resp.Diagnostics)
		}
		hooksMap, d := types.MapValue(hookObjType, elems)
		resp.Diagnostics.Append(d...)
		m.Hooks = hooksMap
	} else {
		m.Hooks = types.MapNull(hookObjType)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// ImportState takes the app_host; Read then finds the hooks in place.
func (r *managedHooksResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	m := managedHooksModel{ID: types.StringValue(req.ID), AppHost: types.StringValue(req.ID), UseSystemHook: types.BoolValue(false),
		Patterns: types.ListNull(types.StringType), GroupHooksOverride: types.MapNull(types.ListType{ElemType: types.StringType}),
		Hooks: types.MapNull(hookObjType)}
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
			"hooks": schema.MapNestedAttribute{Computed: true,
				Description: "Group full path (or `(system)`, or `project:` and a personal project's path) → the hook in place, as GitLab has it. `terraform plan` shows what reconciliation would change " +
					"attribute by attribute (a flag turned off by hand: `~ push_events = false -> true`), as `glsyncd hooks plan` does.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"hook_id": schema.Int64Attribute{Computed: true, Description: "GitLab's id of the hook (known after apply when the hook is created or re-created)."},
					"url":     schema.StringAttribute{Computed: true, Description: "Where the hook delivers."},
					"flags": schema.MapAttribute{Computed: true, ElementType: types.BoolType,
						Description: "The event flags reconciliation manages, as GitLab has them."},
					"alert_status": schema.StringAttribute{Computed: true,
						Description: "GitLab's `alert_status`: `executable`, or `temporarily_disabled` / `disabled` after failed deliveries (re-created or resumed on apply)."},
					"secret_held": schema.BoolAttribute{Computed: true,
						Description: "Whether glsyncd holds the hook's secret (false: deliveries are refused until apply gives it a new one)."},
					"extra_hook_ids": schema.ListAttribute{Computed: true, ElementType: types.Int64Type,
						Description: "Other hooks on the group at glsync's or Ocean's routes (duplicates), deleted on apply."},
				}},
			},
		},
		Version: 1,
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

// hookObjType is an element of the hooks map.
var hookObjType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"hook_id": types.Int64Type, "url": types.StringType, "flags": types.MapType{ElemType: types.BoolType},
	"alert_status": types.StringType, "secret_held": types.BoolType, "extra_hook_ids": types.ListType{ElemType: types.Int64Type},
}}

// hookKey is an action's key in the hooks map: the group's full path,
// a personal project's (projectHookKey), or systemKey.
func hookKey(a hooks.Action) string {
	if k := projectHookKey(a); k != "" {
		return k
	}
	if a.Desired.Scope == hooks.SystemScope || (a.Op == hooks.OpDelete && a.Desired.GroupID == 0) {
		return systemKey
	}
	return a.Desired.GroupPath
}

// flagsValue is the managed flags of a hook type, off unless on in set.
func flagsValue(system bool, set map[string]bool, diags *diag.Diagnostics) attr.Value {
	elems := map[string]attr.Value{}
	for _, f := range hooks.ManagedFlags(system) {
		elems[f] = types.BoolValue(set[f])
	}
	m, d := types.MapValue(types.BoolType, elems)
	diags.Append(d...)
	return m
}

func int64List(ids []int64, diags *diag.Diagnostics) attr.Value {
	elems := make([]attr.Value, len(ids))
	for i, id := range ids {
		elems[i] = types.Int64Value(id)
	}
	l, d := types.ListValue(types.Int64Type, elems)
	diags.Append(d...)
	return l
}

// extras are the ids of the hooks a plan deletes, by hooks map key.
func extras(plan *hooks.Plan) map[string][]int64 {
	out := map[string][]int64{}
	for _, a := range plan.Actions {
		if a.Op == hooks.OpDelete {
			out[hookKey(a)] = append(out[hookKey(a)], a.Existing.ID)
		}
	}
	for k := range out {
		sort.Slice(out[k], func(i, j int) bool { return out[k][i] < out[k][j] })
	}
	return out
}

// observed is the hooks map as GitLab (and glsyncd's secrets) have it
// now: every wanted hook GitLab has, whatever reconciliation would do to
// it, so that the plan can show the difference attribute by attribute.
func (r *managedHooksResource) observed(ctx context.Context, plan *hooks.Plan, diags *diag.Diagnostics) types.Map {
	extra := extras(plan)
	secrets := adminapi.Secrets{C: r.clients.daemon}
	elems := map[string]attr.Value{}
	for _, a := range plan.Actions {
		if a.Op == hooks.OpDelete || a.Existing == nil {
			continue
		}
		_, held, err := secrets.HookSecret(ctx, a.Desired.Scope)
		if err != nil {
			diags.AddError("Reading a hook secret from glsyncd failed", err.Error())
			return types.MapNull(hookObjType)
		}
		e := a.Existing
		elems[hookKey(a)] = hookObject(map[string]attr.Value{
			"hook_id": types.Int64Value(e.ID), "url": types.StringValue(e.URL),
			"flags": flagsValue(a.Desired.Scope == hooks.SystemScope, e.Flags, diags), "alert_status": types.StringValue(e.AlertStatus),
			"secret_held": types.BoolValue(held), "extra_hook_ids": int64List(extra[hookKey(a)], diags),
		}, diags)
	}
	m, d := types.MapValue(hookObjType, elems)
	diags.Append(d...)
	return m
}

func hookObject(v map[string]attr.Value, diags *diag.Diagnostics) attr.Value {
	o, d := types.ObjectValue(hookObjType.AttrTypes, v)
	diags.Append(d...)
	return o
}

// planned is the hooks map after applying plan: a kept hook as the state
// has it; a changed one with the wanted URL and flags, its secret held and
// no extra hooks; what apply alone can know (a new hook's id, the status
// of a hook resumed or re-created) unknown.
func planned(plan *hooks.Plan, state types.Map, diags *diag.Diagnostics) types.Map {
	prior := state.Elements()
	extra := extras(plan)
	elems := map[string]attr.Value{}
	for _, a := range plan.Actions {
		if a.Op == hooks.OpDelete {
			continue
		}
		key := hookKey(a)
		if p, ok := prior[key].(types.Object); ok && a.Op == hooks.OpKeep {
			if len(extra[key]) == 0 {
				elems[key] = p
				continue
			}
			v := p.Attributes()
			v["extra_hook_ids"] = int64List(nil, diags)
			elems[key] = hookObject(v, diags)
			continue
		}
		v := map[string]attr.Value{
			"hook_id": types.Int64Unknown(), "url": types.StringValue(a.Desired.URL),
			"flags": flagsValue(a.Desired.Scope == hooks.SystemScope, a.Desired.Flags, diags), "alert_status": types.StringUnknown(),
			"secret_held": types.BoolValue(true), "extra_hook_ids": int64List(nil, diags),
		}
		if e := a.Existing; e != nil && (a.Op == hooks.OpUpdate || a.Op == hooks.OpResume || a.Op == hooks.OpKeep) {
			v["hook_id"] = types.Int64Value(e.ID) // changed in place
			if e.AlertStatus == "executable" && a.Op != hooks.OpResume {
				v["alert_status"] = types.StringValue(e.AlertStatus)
			}
		}
		elems[key] = hookObject(v, diags)
	}
	m, d := types.MapValue(hookObjType, elems)
	diags.Append(d...)
	return m
}

// hookIDs reads the hooks map's ids.
func hookIDs(m types.Map) map[string]int64 {
	out := map[string]int64{}
	for k, el := range m.Elements() {
		o, _ := el.(types.Object)
		if id, ok := o.Attributes()["hook_id"].(types.Int64); ok && !id.IsNull() && !id.IsUnknown() {
			out[k] = id.ValueInt64()
		}
	}
	return out
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
	if !plan.AppHost.Equal(state.AppHost) || !plan.UseSystemHook.Equal(state.UseSystemHook) || !plan.GroupHooksOverride.Equal(state.GroupHooksOverride) {
		plan.Hooks = types.MapUnknown(hookObjType) // other settings: other hooks
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
		return
	}
	p := r.reconcile(ctx, plan, &resp.Diagnostics)
	if p == nil || p.Changes() == 0 {
		return
	}
	// The refreshed state has the hooks as GitLab has them; the plan has
	// them as reconciliation leaves them, so the difference shows on the
	// attribute that differs.
	plan.Hooks = planned(p, state.Hooks, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
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
	m.Hooks = r.observed(ctx, after, diags)
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
	m.Hooks = r.observed(ctx, plan, &resp.Diagnostics)
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
	now, was := hookIDs(m.Hooks), hookIDs(prior.Hooks)
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
	ids := hookIDs(m.Hooks)
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
	if isProjectKey(key) {
		scope, err := r.deleteProjectHook(ctx, key, hookID)
		if err != nil {
			diags.AddError("Deleting a hook failed", err.Error())
			return
		}
		if scope != "" {
			if err := (adminapi.Secrets{C: r.clients.daemon}).DeleteHookSecret(ctx, scope); err != nil {
				diags.AddWarning("Forgetting a hook secret in glsyncd failed", err.Error())
			}
		}
		return
	}
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
