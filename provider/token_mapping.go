package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
)

// tokenChangedOutside replaces the token in state when glsyncd holds a
// different one, so the plan shows the token will be set again.
const tokenChangedOutside = "(changed outside Terraform)"

type tokenMappingModel struct {
	ID                 types.String `tfsdk:"id"`
	Name               types.String `tfsdk:"name"`
	Token              types.String `tfsdk:"token"`
	Patterns           types.List   `tfsdk:"patterns"`
	GroupHooksOverride types.Map    `tfsdk:"group_hooks_override"`
	TokenSHA256        types.String `tfsdk:"token_sha256"`
}

type tokenMappingResource struct{ clients *clients }

var (
	_ resource.ResourceWithImportState    = (*tokenMappingResource)(nil)
	_ resource.ResourceWithValidateConfig = (*tokenMappingResource)(nil)
)

func newTokenMappingResource() resource.Resource { return &tokenMappingResource{} }

func (r *tokenMappingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_token_mapping"
}

// globValidator checks each pattern with the daemon's own rules.
type globValidator struct{}

func (globValidator) Description(context.Context) string {
	return "each pattern must be a valid doublestar glob"
}
func (globValidator) MarkdownDescription(ctx context.Context) string {
	return globValidator{}.Description(ctx)
}
func (globValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	in := adminapi.TokenMappingInput{Token: "x", Patterns: []string{req.ConfigValue.ValueString()}}
	for _, e := range in.Validate("x") {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid glob pattern", e.Rule)
	}
}

func (r *tokenMappingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A token mapping stored in a running glsyncd through its admin API (`daemon_url`, `daemon_admin_token`), " +
			"applied without a restart. It is the spec's `tokenMapping` entry for one token, with its optional " +
			"`tokenGroupHooksOverrideMapping`. Storing or deleting it makes glsyncd resync at once, so what its globs select is in the catalog without waiting for the next scheduled resync. A mapping changed through the API outside Terraform shows as drift. " +
			"glsyncd never returns the token; it reports its SHA-256, which is how a changed token is noticed.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "The mapping's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, Description: "Name of the mapping in glsyncd.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"token": schema.StringAttribute{Required: true, Sensitive: true, Description: "GitLab access token (group access token with the api scope)."},
			"patterns": schema.ListAttribute{Required: true, ElementType: types.StringType,
				Description: "Globs (doublestar) matched against projects' `path_with_namespace`, e.g. `**/DevopsTeam/*Service`.",
				Validators:  []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(globValidator{})}},
			"group_hooks_override": schema.MapAttribute{Optional: true, ElementType: types.ListType{ElemType: types.StringType},
				Description: "Group full path → hook events (empty list: all). Hooks only on these groups. Groups must not repeat or " +
					"contain each other; " + hookspec.AcceptedGroupEvents() + "."},
			"token_sha256": schema.StringAttribute{Computed: true, Description: "SHA-256 of the token, as glsyncd reports it."},
		},
	}
}

func (r *tokenMappingResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = configureClients(req.ProviderData, &resp.Diagnostics)
}

func overrideOf(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string][]string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	out := map[string][]string{}
	diags.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}

// ValidateConfig applies every rule of the spec to group_hooks_override at
// plan time, one diagnostic per broken rule, at the group's path.
func (r *tokenMappingResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m tokenMappingModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.GroupHooksOverride.IsUnknown() {
		return
	}
	groups := overrideOf(ctx, m.GroupHooksOverride, &resp.Diagnostics)
	for _, e := range adminapi.ValidateOverride(groups) {
		p := path.Root("group_hooks_override")
		if i := strings.Index(e.Field, "["); i > 0 {
			p = p.AtMapKey(strings.TrimSuffix(e.Field[i+1:], "]"))
		}
		resp.Diagnostics.AddAttributeError(p, "Invalid group_hooks_override", e.Rule)
	}
}

func (r *tokenMappingResource) input(ctx context.Context, m tokenMappingModel, diags *diag.Diagnostics) adminapi.TokenMappingInput {
	var patterns []string
	diags.Append(m.Patterns.ElementsAs(ctx, &patterns, false)...)
	return adminapi.TokenMappingInput{Token: m.Token.ValueString(), Patterns: patterns, GroupHooksOverride: overrideOf(ctx, m.GroupHooksOverride, diags)}
}

// fill writes glsyncd's view into the model.
func fillMapping(m *tokenMappingModel, got adminapi.TokenMapping, diags *diag.Diagnostics) {
	m.ID = types.StringValue(got.Name)
	m.Name = types.StringValue(got.Name)
	m.TokenSHA256 = types.StringValue(got.TokenSHA256)
	if !m.Token.IsNull() && adminapi.TokenHash(m.Token.ValueString()) != got.TokenSHA256 {
		m.Token = types.StringValue(tokenChangedOutside)
	}
	vals := make([]attr.Value, len(got.Patterns))
	for i, p := range got.Patterns {
		vals[i] = types.StringValue(p)
	}
	l, d := types.ListValue(types.StringType, vals)
	diags.Append(d...)
	m.Patterns = l
	if len(got.GroupHooksOverride) == 0 {
		if !m.GroupHooksOverride.IsNull() && len(m.GroupHooksOverride.Elements()) == 0 {
			return // {} in config, none stored: same thing
		}
		m.GroupHooksOverride = types.MapNull(types.ListType{ElemType: types.StringType})
		return
	}
	keys := make([]string, 0, len(got.GroupHooksOverride))
	for k := range got.GroupHooksOverride {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	elems := map[string]attr.Value{}
	for _, k := range keys {
		evs := make([]attr.Value, len(got.GroupHooksOverride[k]))
		for i, e := range got.GroupHooksOverride[k] {
			evs[i] = types.StringValue(e)
		}
		lv, d := types.ListValue(types.StringType, evs)
		diags.Append(d...)
		elems[k] = lv
	}
	mv, d := types.MapValue(types.ListType{ElemType: types.StringType}, elems)
	diags.Append(d...)
	m.GroupHooksOverride = mv
}

func (r *tokenMappingResource) put(ctx context.Context, m *tokenMappingModel, diags *diag.Diagnostics) {
	got, err := r.clients.daemon.PutTokenMapping(ctx, m.Name.ValueString(), r.input(ctx, *m, diags))
	if err != nil {
		addAPIError(diags, "Storing the token mapping in glsyncd failed", err)
		return
	}
	fillMapping(m, got, diags)
}

// addAPIError turns the daemon's field errors into attribute diagnostics.
func addAPIError(diags *diag.Diagnostics, summary string, err error) {
	var ae *adminapi.Error
	if errors.As(err, &ae) && len(ae.Fields) > 0 {
		for _, f := range ae.Fields {
			diags.AddAttributeError(path.Root(strings.SplitN(f.Field, "[", 2)[0]), summary, f.Error())
		}
		return
	}
	diags.AddError(summary, err.Error())
}

func (r *tokenMappingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.save(ctx, req.Plan, &resp.State, &resp.Diagnostics)
}

// save stores the planned mapping in glsyncd: creating and updating are
// the same PUT.
func (r *tokenMappingResource) save(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, diags *diag.Diagnostics) {
	var m tokenMappingModel
	diags.Append(plan.Get(ctx, &m)...)
	if diags.HasError() || !r.clients.needDaemon(diags) {
		return
	}
	r.put(ctx, &m, diags)
	if !diags.HasError() {
		diags.Append(state.Set(ctx, m)...)
	}
}

func (r *tokenMappingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m tokenMappingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !r.clients.needDaemon(&resp.Diagnostics) {
		return
	}
	got, err := r.clients.daemon.GetTokenMapping(ctx, m.Name.ValueString())
	if errors.Is(err, adminapi.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Reading the token mapping from glsyncd failed", err.Error())
		return
	}
	fillMapping(&m, got, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (r *tokenMappingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.save(ctx, req.Plan, &resp.State, &resp.Diagnostics)
}

func (r *tokenMappingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m tokenMappingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !r.clients.needDaemon(&resp.Diagnostics) {
		return
	}
	if _, err := r.clients.daemon.DeleteTokenMapping(ctx, m.Name.ValueString()); err != nil {
		resp.Diagnostics.AddError("Deleting the token mapping from glsyncd failed", err.Error())
	}
}

// ImportState imports by name. The token cannot be read back; the next
// plan sets it from the configuration.
func (r *tokenMappingResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !r.clients.needDaemon(&resp.Diagnostics) {
		return
	}
	got, err := r.clients.daemon.GetTokenMapping(ctx, req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import the token mapping", fmt.Sprintf("%q: %v", req.ID, err))
		return
	}
	m := tokenMappingModel{Token: types.StringValue(tokenChangedOutside), GroupHooksOverride: types.MapNull(types.ListType{ElemType: types.StringType})}
	fillMapping(&m, got, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
