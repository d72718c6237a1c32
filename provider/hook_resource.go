package provider

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
)

// hookCore is the lifecycle glsync_group_hook, glsync_project_hook and
// glsync_system_hook share (group_hook_resource.go,
// project_hook_resource.go, system_hook_resource.go), over the
// resource's own model M: each embeds it and adds its model and schema.
// What differs by kind is data (kind: the event flags and names, the
// owner) and the model's methods (a system hook has no parent and no
// owned fields).
type hookCore[M any, P hookModelOf[M]] struct {
	kind    hookKind
	clients *clients
}

// hookResource is what each hook resource implements.
type hookResource interface {
	resource.ResourceWithImportState
	resource.ResourceWithConfigure
	resource.ResourceWithValidateConfig
	resource.ResourceWithModifyPlan
	resource.ResourceWithMoveState
	hookReader
}

var (
	_ hookResource = (*groupHookResource)(nil)
	_ hookResource = (*projectHookResource)(nil)
	_ hookResource = (*systemHookResource)(nil)
)

func pathExpr(name string) path.Expression { return path.MatchRoot(name) }

func (r *hookCore[M, P]) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.kind.name + "_hook"
}

func (r *hookCore[M, P]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = configureClients(req.ProviderData, &resp.Diagnostics)
}

// eventFlags are the flags the events short form sets (nil: events unset).
func (r *hookCore[M, P]) eventFlags(ctx context.Context, set types.Set, diags *diag.Diagnostics) map[string]bool {
	if set.IsNull() || set.IsUnknown() {
		return nil
	}
	var events []string
	diags.Append(set.ElementsAs(ctx, &events, false)...)
	names := r.kind.events
	if len(events) == 0 {
		events = names
	}
	out := map[string]bool{}
	for _, n := range names { // flags events can name: off unless listed
		out[hookspec.Flag(n)] = false
	}
	for _, e := range events {
		out[hookspec.Flag(e)] = true
	}
	return out
}

// ValidateConfig refuses an event flag that disagrees with events.
func (r *hookCore[M, P]) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var config M
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	fromEvents := r.eventFlags(ctx, P(&config).common().Events, &resp.Diagnostics)
	flags := eventFlagFields(&config)
	for _, f := range r.kind.flags {
		b, set := boolean(*flags[f])
		if want, named := fromEvents[f]; set && named && b != want {
			resp.Diagnostics.AddAttributeError(path.Root(f), "Conflicting event settings",
				fmt.Sprintf("%s = %v, but events %s it. Set the flag or list the event, not both in disagreement.", f, b, map[bool]string{true: "lists", false: "does not list"}[want]))
		}
	}
}

// otherParent reports whether the planned group (project) is another one
// than the state's: "42" and "acme" may name the same one (after an
// import by id, say), which is no reason to replace the hook. It runs in
// ModifyPlan, where the resource is configured (a plan modifier of the
// schema is bound to an instance that never is).
func (r *hookCore[M, P]) otherParent(ctx context.Context, plan, state P) bool {
	prior, id := state.parent()
	if prior == nil {
		return false
	}
	planned, _ := plan.parent()
	if prior.IsNull() || planned.IsUnknown() || prior.Equal(*planned) {
		return false
	}
	if r.clients == nil || r.clients.gitlab == nil || id.IsNull() {
		return true
	}
	got, _, err := r.kind.parentOf(ctx, r.clients.gitlab, planned.ValueString())
	return err != nil || got != id.ValueInt64()
}

// planEventFlags plans the flags events sets: without it a flag kept from
// the state by UseStateForUnknown would disagree with what apply sends.
func (r *hookCore[M, P]) planEventFlags(ctx context.Context, config P, resp *resource.ModifyPlanResponse) {
	flags := eventFlagFields(config)
	for f, on := range r.eventFlags(ctx, config.common().Events, &resp.Diagnostics) {
		if _, set := boolean(*flags[f]); !set {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(f), types.BoolValue(on))...)
		}
	}
}

// ModifyPlan replaces a hook moved to another group (project), and one
// whose URL changes while its secret is not known: GitLab drops the secret
// on a URL change without one.
func (r *hookCore[M, P]) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var config, plan, state M
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	r.planEventFlags(ctx, &config, resp)
	if req.State.Raw.IsNull() {
		return
	}
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if r.otherParent(ctx, &plan, &state) {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root(r.kind.parent))
	}
	c, p, s := P(&config).common(), P(&plan).common(), P(&state).common()
	planSigningPresent(ctx, resp, c, s)
	if p.URL.IsUnknown() || s.URL.Equal(p.URL) {
		return
	}
	if s.Token.IsNull() && c.Token.IsNull() && c.TokenWO.IsNull() {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("url"))
		resp.Diagnostics.AddAttributeWarning(path.Root("url"), "The hook will be replaced",
			"Its URL changes and its secret is not known (imported without `token`): GitLab would drop the secret, so the hook is created again. Set `token` (or `token_wo`) to keep the hook.")
	}
}

// body is what to send GitLab: the fields the configuration sets, the
// flags events names, the token as its lifecycle needs. state is nil on
// create.
func (r *hookCore[M, P]) body(ctx context.Context, config, state P, create bool, diags *diag.Diagnostics) map[string]any {
	c := config.common()
	var prior *hookModel
	if state != nil {
		prior = state.common()
	}
	b := map[string]any{}
	u, _ := strVal(c.URL)
	b["url"] = u
	if ssl, ok := boolean(c.EnableSSLVerification); ok {
		b["enable_ssl_verification"] = ssl
	} else {
		b["enable_ssl_verification"] = true
	}
	for f, on := range r.eventFlags(ctx, c.Events, diags) {
		if slices.Contains(r.kind.flags, f) {
			b[f] = on
		}
	}
	flags := eventFlagFields(config)
	for _, f := range r.kind.flags {
		if on, ok := boolean(*flags[f]); ok {
			b[f] = on
		}
	}
	for name, v := range map[string]types.String{"name": c.Name, "description": c.Description} {
		if s, ok := strVal(v); ok {
			b[name] = s
		}
	}
	if o := config.owned(); o != nil {
		var was *ownedHookModel
		if state != nil {
			was = state.owned()
		}
		o.body(b, was, create)
	}
	// The secrets: the configured ones; cleared when removed; re-sent on
	// a URL change so GitLab keeps them, and a signing token GitLab lost.
	for _, sec := range hookSecrets {
		sec.send(b, c, prior, create, sec.name == signingSecret.name && signingLost(c, prior))
	}
	return b
}

// fill sets, from GitLab's view of the hook, every attribute GitLab
// returns; what m holds (the plan or the state) gives those it does not
// (token, group as written, events as written, header values).
func (r *hookCore[M, P]) fill(ctx context.Context, m P, e hooks.Existing, diags *diag.Diagnostics) {
	raw := e.Raw
	c := m.common()
	c.HookID = types.Int64Value(e.ID)
	c.URL = types.StringValue(e.URL)
	c.EnableSSLVerification = types.BoolValue(e.SSL)
	c.Name = types.StringValue(e.Name)
	c.Description = types.StringValue(e.Description)
	created, _ := raw["created_at"].(string)
	c.CreatedAt = types.StringValue(created)
	c.TokenWO, c.SigningTokenWO = types.StringNull(), types.StringNull() // write-only: never in the state
	if present, ok := raw["signing_token_present"].(bool); ok {
		c.SigningTokenPresent = types.BoolValue(present)
	} else {
		c.SigningTokenPresent = types.BoolNull() // GitLab < 19.0
	}
	flags := eventFlagFields(m)
	for _, f := range append(slices.Clone(r.kind.flags), r.kind.readOnly...) {
		b, _ := raw[f].(bool)
		*flags[f] = types.BoolValue(b)
	}
	if set := c.Events; !set.IsNull() && !set.IsUnknown() {
		var asked []string
		diags.Append(set.ElementsAs(ctx, &asked, false)...)
		got := e.EventsOf(r.kind.events, asked)
		if !(len(asked) == 0 && len(got) == len(r.kind.events)) {
			elems := make([]attr.Value, len(got))
			for i, g := range got {
				elems[i] = types.StringValue(g)
			}
			s, d := types.SetValue(types.StringType, elems)
			diags.Append(d...)
			c.Events = s
		}
	}
	_, parentID := m.parent()
	if parentID == nil {
		c.ID = types.StringValue(strconv.FormatInt(e.ID, 10))
		return
	}
	*parentID = types.Int64Value(r.kind.ownerID(e))
	c.ID = types.StringValue(fmt.Sprintf("%d:%d", r.kind.ownerID(e), e.ID))
	m.owned().fill(e, diags)
}

// parentIDOf is the group's (project's) id in m, 0 for a system hook.
func parentIDOf[P interface {
	parent() (*types.String, *types.Int64)
}](m P) int64 {
	if _, id := m.parent(); id != nil {
		return id.ValueInt64()
	}
	return 0
}

func (r *hookCore[M, P]) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() || !r.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	k := r.kind
	var groupID int64 // the group's or project's id
	if ref, _ := P(&plan).parent(); ref != nil {
		g, _ := strVal(*ref)
		id, _, err := k.parentOf(ctx, r.clients.gitlab, g)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root(k.parent), "Cannot find the "+k.parent, err.Error())
			return
		}
		groupID = id
	}
	body := r.body(ctx, &config, nil, true, &resp.Diagnostics)
	// A hook already at this URL (created by hand, by glsyncd, or by an
	// earlier apply whose state was lost) is not duplicated: GitLab would
	// deliver every event twice.
	u, _ := strVal(P(&plan).common().URL)
	found, err := hooks.FindByURLOf(ctx, r.clients.gitlab, k.owner(groupID), u)
	if err != nil {
		resp.Diagnostics.AddError("Looking for an existing hook failed", fmt.Sprintf("%s: %v", r.where(&plan, groupID), err))
		return
	}
	var e hooks.Existing
	switch adopt, _ := boolean(P(&config).common().AdoptExisting); {
	case found != nil && !adopt:
		resp.Diagnostics.AddAttributeError(path.Root("url"), "A hook at this URL already exists",
			fmt.Sprintf("%s already has hook %d delivering to %s; a second one would deliver every event twice. Bring it under Terraform with\n\n"+
				"  terraform import <this resource's address> %s\n\n"+
				"(e.g. terraform import %s.this %s, or an import block with that id), or set adopt_existing = true to take it over as configured.",
				r.where(&plan, groupID), found.ID, found.URL, r.importID(&plan, groupID, found.ID), k.typeName(), r.importID(&plan, groupID, found.ID)))
		return
	case found != nil:
		e, err = hooks.UpdateRawOf(ctx, r.clients.gitlab, k.owner(groupID), found.ID, body)
		if err != nil {
			resp.Diagnostics.AddError("Adopting the existing hook failed", fmt.Sprintf("hook %d: %v", found.ID, err))
			return
		}
	default:
		e, err = hooks.CreateRawOf(ctx, r.clients.gitlab, k.owner(groupID), body)
		if err != nil {
			resp.Diagnostics.AddError("Creating the hook failed", err.Error())
			return
		}
	}
	r.fill(ctx, &plan, e, &resp.Diagnostics)
	warnUnsigned(P(&config).common(), P(&plan).common(), &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// importID is the id ImportState takes for a hook: <group>:<hook_id> or
// <project>:<hook_id> (as configured), or <hook_id>.
func (r *hookCore[M, P]) importID(m P, groupID, hookID int64) string {
	ref, _ := m.parent()
	if ref == nil {
		return strconv.FormatInt(hookID, 10)
	}
	g, ok := strVal(*ref)
	if !ok {
		g = strconv.FormatInt(groupID, 10)
	}
	return fmt.Sprintf("%s:%d", g, hookID)
}

// where names the hook's group or project (or the system) in diagnostics.
func (r *hookCore[M, P]) where(m P, groupID int64) string {
	ref, _ := m.parent()
	if ref == nil {
		return "The system"
	}
	g, _ := strVal(*ref)
	return fmt.Sprintf("%s %q (id %d)", r.kind.parentTitle(), g, groupID)
}

// load reads the state into m and returns the hook's group (project) id
// (0 for a system hook) and its id; ok is false when the state cannot be
// read or GitLab is not configured (diagnostics say why).
func (r *hookCore[M, P]) load(ctx context.Context, from tfsdk.State, m *M, diags *diag.Diagnostics) (gid, hid int64, ok bool) {
	diags.Append(from.Get(ctx, m)...)
	if diags.HasError() || !r.clients.needGitLab(diags) {
		return 0, 0, false
	}
	return parentIDOf(P(m)), P(m).common().HookID.ValueInt64(), true
}

func (r *hookCore[M, P]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state M
	gid, hid, ok := r.load(ctx, req.State, &state, &resp.Diagnostics)
	if !ok {
		return
	}
	e, found, err := hooks.GetOf(ctx, r.clients.gitlab, r.kind.owner(gid), hid)
	if err != nil {
		resp.Diagnostics.AddError("Reading the hook failed", err.Error())
		return
	}
	// GitLab answers 404 both for a hook that is gone and for a group
	// (project) the token cannot see (or that is gone): only the first may
	// leave the state, or the next apply duplicates the hook.
	if !found && !r.parentReadable(ctx, &state, gid, &resp.Diagnostics) {
		return
	}
	if !found {
		resp.State.RemoveResource(ctx) // deleted outside Terraform: plan to create it again
		return
	}
	r.fill(ctx, &state, e, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *hookCore[M, P]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, config, state M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	gid, hid, ok := r.load(ctx, req.State, &state, &resp.Diagnostics)
	if !ok {
		return
	}
	body := r.body(ctx, &config, &state, false, &resp.Diagnostics)
	for _, sec := range hookSecrets {
		// A URL change without a new secret: send the known one, or
		// GitLab drops it.
		sec.keepOnURLChange(body, P(&state).common())
	}
	e, err := hooks.UpdateRawOf(ctx, r.clients.gitlab, r.kind.owner(gid), hid, body)
	if err != nil {
		resp.Diagnostics.AddError("Updating the hook failed", err.Error())
		return
	}
	r.fill(ctx, &plan, e, &resp.Diagnostics)
	if _, id := P(&plan).parent(); id != nil {
		_, was := P(&state).parent()
		*id = *was
		P(&plan).common().ID = types.StringValue(fmt.Sprintf("%d:%d", gid, e.ID))
	}
	warnUnsigned(P(&config).common(), P(&plan).common(), &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *hookCore[M, P]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state M
	gid, hid, ok := r.load(ctx, req.State, &state, &resp.Diagnostics)
	if !ok || !r.parentReadable(ctx, &state, gid, &resp.Diagnostics) {
		return // a 404 from the delete would be read as "already gone"
	}
	if err := hooks.DeleteOf(ctx, r.clients.gitlab, r.kind.owner(gid), hid); err != nil {
		resp.Diagnostics.AddError("Deleting the hook failed", err.Error())
	}
}

// parentReadable reports whether the provider's token can read the
// hook's group (project), adding an error diagnostic naming it and the
// token (masked) when it cannot. A system hook has none: always true.
func (r *hookCore[M, P]) parentReadable(ctx context.Context, state P, id int64, diags *diag.Diagnostics) bool {
	ref, _ := state.parent()
	if ref == nil {
		return true
	}
	k := r.kind
	_, _, err := k.parentOf(ctx, r.clients.gitlab, strconv.FormatInt(id, 10))
	if err == nil {
		return true
	}
	g, _ := strVal(*ref)
	diags.AddAttributeError(path.Root(k.parent), "Cannot read the hook's "+k.parent,
		fmt.Sprintf("%s %q (id %d) cannot be read with the provider's token %s: %v. The hook is kept in the state: "+
			"check that gitlab_token is %s. If the %s was deleted, run terraform state rm on this resource.",
			k.parentTitle(), g, id, r.clients.gitlab.Masked, err, k.need, k.parent))
	return false
}

// ImportState accepts "<group>:<hook_id>" (group id or full path) for a
// group hook, "<project>:<hook_id>" (project id or path with namespace)
// for a project hook and "<hook_id>" for the system hook; either form
// gives the same state (the full path). The token cannot be imported:
// GitLab never returns it.
func (r *hookCore[M, P]) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !r.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	idPart := req.ID
	var groupID int64
	group := ""
	if ref, _ := P(new(M)).parent(); ref != nil {
		k := r.kind
		i := strings.LastIndex(req.ID, ":")
		if i <= 0 {
			resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("Use %s (%s), got %q.", k.importFormat(), k.parentHelp, req.ID))
			return
		}
		var err error
		groupID, group, err = k.parentOf(ctx, r.clients.gitlab, req.ID[:i])
		if err != nil {
			resp.Diagnostics.AddError("Cannot find the "+k.parent, err.Error())
			return
		}
		idPart = req.ID[i+1:]
	}
	hookID, err := strconv.ParseInt(idPart, 10, 64)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("The hook id must be a number, got %q.", idPart))
		return
	}
	e, found, err := hooks.GetOf(ctx, r.clients.gitlab, r.kind.owner(groupID), hookID)
	if err != nil || !found {
		resp.Diagnostics.AddError("Cannot import the hook", fmt.Sprintf("hook %d: %v", hookID, orNotFound(err)))
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, r.imported(ctx, group, e, &resp.Diagnostics))...)
}

// imported is the model of hook e as an import writes it: its group
// (project) as parentPath, the rest as GitLab has it.
func (r *hookCore[M, P]) imported(ctx context.Context, parentPath string, e hooks.Existing, diags *diag.Diagnostics) *M {
	m := newHookModel[M, P]()
	if ref, _ := P(m).parent(); ref != nil {
		*ref = types.StringValue(parentPath)
	}
	r.fill(ctx, m, e, diags)
	return m
}

// importedValues are the attribute values of hook e as an import writes
// them: what the hook data sources show.
func (r *hookCore[M, P]) importedValues(ctx context.Context, parentPath string, e hooks.Existing, diags *diag.Diagnostics) map[string]attr.Value {
	o, d := types.ObjectValueFrom(ctx, attrTypes(r.attributes()), r.imported(ctx, parentPath, e, diags))
	diags.Append(d...)
	return o.Attributes()
}

// attributes are the resource's schema attributes.
func (r *hookCore[M, P]) attributes() map[string]schema.Attribute { return r.kind.attributes() }

// schemaAttributes are the resource's schema attributes, for the hook
// data sources.
func (r *hookCore[M, P]) schemaAttributes() map[string]schema.Attribute { return r.attributes() }

func (r *hookCore[M, P]) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{Description: r.kind.description(), Attributes: r.attributes()}
}

// attrTypes are the types of a schema's attributes, by name.
func attrTypes(attrs map[string]schema.Attribute) map[string]attr.Type {
	out := make(map[string]attr.Type, len(attrs))
	for name, a := range attrs {
		out[name] = a.GetType()
	}
	return out
}

func orNotFound(err error) error {
	if err == nil {
		return fmt.Errorf("GitLab has no such hook")
	}
	return err
}
