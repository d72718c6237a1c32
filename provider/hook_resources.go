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
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
)

// hookResource implements glsync_group_hook, glsync_project_hook and
// glsync_system_hook; kind selects which. Attributes are read and written
// one by one (the schemas differ), through the helpers of hook_values.go.
type hookResource struct {
	kind    hookKind
	clients *clients
}

var (
	_ resource.ResourceWithImportState    = (*hookResource)(nil)
	_ resource.ResourceWithConfigure      = (*hookResource)(nil)
	_ resource.ResourceWithValidateConfig = (*hookResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*hookResource)(nil)
	_ resource.ResourceWithMoveState      = (*hookResource)(nil)
)

func newGroupHookResource() resource.Resource   { return &hookResource{kind: groupHooks} }
func newProjectHookResource() resource.Resource { return &hookResource{kind: projectHooks} }
func newSystemHookResource() resource.Resource  { return &hookResource{kind: systemHooks} }

func pathExpr(name string) path.Expression { return path.MatchRoot(name) }

func (r *hookResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.kind.name + "_hook"
}

func (r *hookResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	k := r.kind
	imp := "`" + k.importFormat() + "`"
	if !k.system() {
		imp += " (" + k.parentHelp + ")"
	}
	resp.Schema = schema.Schema{
		Description: fmt.Sprintf("A GitLab %s hook, with every field of GitLab's hook API under the names of terraform-provider-gitlab's `%s`: "+
			"renaming the resource type (and a `moved` block, Terraform 1.8+) is the whole migration. Fields the configuration leaves out are not sent "+
			"and are read back, so nothing set by hand is rewritten. Import with %s.", k.name, k.official(), imp),
		Attributes: r.hookAttributes(),
	}
}

func (r *hookResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = configureClients(req.ProviderData, &resp.Diagnostics)
}

// eventFlags are the flags the events short form sets (nil: events unset).
func (r *hookResource) eventFlags(ctx context.Context, v values, diags *diag.Diagnostics) map[string]bool {
	set, _ := v["events"].(types.Set)
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
func (r *hookResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	v := r.read(ctx, req.Config, &resp.Diagnostics)
	fromEvents := r.eventFlags(ctx, v, &resp.Diagnostics)
	for _, f := range r.kind.flags {
		b, set := boolean(v[f])
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
func (r *hookResource) otherParent(ctx context.Context, req resource.ModifyPlanRequest, diags *diag.Diagnostics) bool {
	k := r.kind
	if k.system() {
		return false
	}
	var prior, planned types.String
	var id types.Int64
	diags.Append(req.State.GetAttribute(ctx, path.Root(k.parent), &prior)...)
	diags.Append(req.Plan.GetAttribute(ctx, path.Root(k.parent), &planned)...)
	diags.Append(req.State.GetAttribute(ctx, path.Root(k.parentID), &id)...)
	if prior.IsNull() || planned.IsUnknown() || prior.Equal(planned) {
		return false
	}
	if r.clients == nil || r.clients.gitlab == nil || id.IsNull() {
		return true
	}
	got, _, err := k.parentOf(ctx, r.clients.gitlab, planned.ValueString())
	return err != nil || got != id.ValueInt64()
}

// planEventFlags plans the flags events sets: without it a flag kept from
// the state by UseStateForUnknown would disagree with what apply sends.
func (r *hookResource) planEventFlags(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	config := r.read(ctx, req.Config, &resp.Diagnostics)
	for f, on := range r.eventFlags(ctx, config, &resp.Diagnostics) {
		if _, set := boolean(config[f]); !set {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(f), types.BoolValue(on))...)
		}
	}
}

// ModifyPlan replaces a hook moved to another group (project), and one
// whose URL changes while its secret is not known: GitLab drops the secret
// on a URL change without one.
func (r *hookResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	r.planEventFlags(ctx, req, resp)
	if req.State.Raw.IsNull() {
		return
	}
	if r.otherParent(ctx, req, &resp.Diagnostics) {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root(r.kind.parent))
	}
	planSigningPresent(ctx, resp, r.read(ctx, req.Config, &resp.Diagnostics), r.read(ctx, req.State, &resp.Diagnostics))
	var stateURL, planURL, stateToken, configToken, configWO types.String
	req.State.GetAttribute(ctx, path.Root("url"), &stateURL)
	req.Plan.GetAttribute(ctx, path.Root("url"), &planURL)
	req.State.GetAttribute(ctx, path.Root("token"), &stateToken)
	req.Config.GetAttribute(ctx, path.Root("token"), &configToken)
	req.Config.GetAttribute(ctx, path.Root("token_wo"), &configWO)
	if planURL.IsUnknown() || stateURL.Equal(planURL) {
		return
	}
	if stateToken.IsNull() && configToken.IsNull() && configWO.IsNull() {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("url"))
		resp.Diagnostics.AddAttributeWarning(path.Root("url"), "The hook will be replaced",
			"Its URL changes and its secret is not known (imported without `token`): GitLab would drop the secret, so the hook is created again. Set `token` (or `token_wo`) to keep the hook.")
	}
}

// body is what to send GitLab: the fields the configuration sets, the
// flags events names, the token as its lifecycle needs.
func (r *hookResource) body(ctx context.Context, config, state values, create bool, diags *diag.Diagnostics) map[string]any {
	b := map[string]any{}
	u, _ := strVal(config["url"])
	b["url"] = u
	if ssl, ok := boolean(config["enable_ssl_verification"]); ok {
		b["enable_ssl_verification"] = ssl
	} else {
		b["enable_ssl_verification"] = true
	}
	for f, on := range r.eventFlags(ctx, config, diags) {
		if slices.Contains(r.kind.flags, f) {
			b[f] = on
		}
	}
	for _, f := range r.kind.flags {
		if on, ok := boolean(config[f]); ok {
			b[f] = on
		}
	}
	for _, name := range []string{"name", "description", "push_events_branch_filter", "branch_filter_strategy", "custom_webhook_template"} {
		if s, ok := strVal(config[name]); ok {
			b[name] = s
		}
	}
	for _, name := range []string{"custom_headers", "url_variables"} {
		list, _ := config[name].(types.List)
		if list.IsNull() || list.IsUnknown() {
			if !create && state != nil {
				if prior, _ := state[name].(types.List); !prior.IsNull() && len(prior.Elements()) > 0 {
					b[name] = []any{} // removed from the configuration: cleared
				}
			}
			continue
		}
		b[name] = keyValues(list)
	}
	// The secrets: the configured ones; cleared when removed; re-sent on
	// a URL change so GitLab keeps them, and a signing token GitLab lost.
	for _, sec := range hookSecrets {
		sec.send(b, config, state, create, sec.name == signingSecret.name && signingLost(config, state))
	}
	return b
}

// fill sets, from GitLab's view of the hook, every attribute GitLab
// returns; prior (the plan or the state) gives those it does not (token,
// group as written, events as written, header values).
func (r *hookResource) fill(ctx context.Context, prior values, e hooks.Existing, diags *diag.Diagnostics) values {
	out := values{}
	for k, v := range prior {
		out[k] = v
	}
	raw := e.Raw
	out["hook_id"] = types.Int64Value(e.ID)
	out["url"] = types.StringValue(e.URL)
	out["enable_ssl_verification"] = types.BoolValue(e.SSL)
	out["name"] = types.StringValue(e.Name)
	out["description"] = types.StringValue(e.Description)
	created, _ := raw["created_at"].(string)
	out["created_at"] = types.StringValue(created)
	for _, sec := range hookSecrets {
		out[sec.wo()] = types.StringNull() // write-only: never in the state
	}
	if present, ok := raw["signing_token_present"].(bool); ok {
		out["signing_token_present"] = types.BoolValue(present)
	} else {
		out["signing_token_present"] = types.BoolNull() // GitLab < 19.0
	}
	for _, f := range append(slices.Clone(r.kind.flags), r.kind.readOnly...) {
		b, _ := raw[f].(bool)
		out[f] = types.BoolValue(b)
	}
	if set, _ := prior["events"].(types.Set); !set.IsNull() && !set.IsUnknown() {
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
			out["events"] = s
		}
	}
	if r.kind.system() {
		out["id"] = types.StringValue(strconv.FormatInt(e.ID, 10))
		return out
	}
	out[r.kind.parentID] = types.Int64Value(r.kind.ownerID(e))
	out["id"] = types.StringValue(fmt.Sprintf("%d:%d", r.kind.ownerID(e), e.ID))
	out["push_events_branch_filter"] = types.StringValue(e.PushEventsBranchFilter)
	out["custom_webhook_template"] = types.StringValue(e.CustomWebhookTemplate)
	strategy, _ := raw["branch_filter_strategy"].(string)
	out["branch_filter_strategy"] = types.StringValue(strategy)
	alert, _ := raw["alert_status"].(string)
	out["alert_status"] = types.StringValue(alert)
	if until, ok := raw["disabled_until"].(string); ok {
		out["disabled_until"] = types.StringValue(until)
	} else {
		out["disabled_until"] = types.StringNull()
	}
	for _, name := range []string{"custom_headers", "url_variables"} {
		out[name] = keysFromGitLab(raw[name], prior[name], diags)
	}
	return out
}

func (r *hookResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	plan := r.read(ctx, req.Plan, &resp.Diagnostics)
	config := r.read(ctx, req.Config, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !r.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	var groupID int64 // the group's or project's id
	if k := r.kind; !k.system() {
		g, _ := strVal(plan[k.parent])
		id, _, err := k.parentOf(ctx, r.clients.gitlab, g)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root(k.parent), "Cannot find the "+k.parent, err.Error())
			return
		}
		groupID = id
	}
	body := r.body(ctx, config, nil, true, &resp.Diagnostics)
	// A hook already at this URL (created by hand, by glsyncd, or by an
	// earlier apply whose state was lost) is not duplicated: GitLab would
	// deliver every event twice.
	u, _ := strVal(plan["url"])
	found, err := hooks.FindByURLOf(ctx, r.clients.gitlab, r.kind.owner(groupID), u)
	if err != nil {
		resp.Diagnostics.AddError("Looking for an existing hook failed", fmt.Sprintf("%s: %v", r.where(plan, groupID), err))
		return
	}
	var e hooks.Existing
	switch adopt, _ := boolean(config["adopt_existing"]); {
	case found != nil && !adopt:
		resp.Diagnostics.AddAttributeError(path.Root("url"), "A hook at this URL already exists",
			fmt.Sprintf("%s already has hook %d delivering to %s; a second one would deliver every event twice. Bring it under Terraform with\n\n"+
				"  terraform import <this resource's address> %s\n\n"+
				"(e.g. terraform import %s.this %s, or an import block with that id), or set adopt_existing = true to take it over as configured.",
				r.where(plan, groupID), found.ID, found.URL, r.importID(plan, groupID, found.ID), r.typeName(), r.importID(plan, groupID, found.ID)))
		return
	case found != nil:
		e, err = hooks.UpdateRawOf(ctx, r.clients.gitlab, r.kind.owner(groupID), found.ID, body)
		if err != nil {
			resp.Diagnostics.AddError("Adopting the existing hook failed", fmt.Sprintf("hook %d: %v", found.ID, err))
			return
		}
	default:
		e, err = hooks.CreateRawOf(ctx, r.clients.gitlab, r.kind.owner(groupID), body)
		if err != nil {
			resp.Diagnostics.AddError("Creating the hook failed", err.Error())
			return
		}
	}
	out := r.fill(ctx, plan, e, &resp.Diagnostics)
	warnUnsigned(config, out, &resp.Diagnostics)
	r.write(ctx, &resp.State, out, &resp.Diagnostics)
}

// typeName is the resource type, for commands the diagnostics suggest.
func (r *hookResource) typeName() string { return r.kind.typeName() }

// importID is the id ImportState takes for a hook: <group>:<hook_id> or
// <project>:<hook_id> (as configured), or <hook_id>.
func (r *hookResource) importID(v values, groupID, hookID int64) string {
	if r.kind.system() {
		return strconv.FormatInt(hookID, 10)
	}
	g, ok := strVal(v[r.kind.parent])
	if !ok {
		g = strconv.FormatInt(groupID, 10)
	}
	return fmt.Sprintf("%s:%d", g, hookID)
}

// where names the hook's group or project (or the system) in diagnostics.
func (r *hookResource) where(v values, groupID int64) string {
	if r.kind.system() {
		return "The system"
	}
	g, _ := strVal(v[r.kind.parent])
	return fmt.Sprintf("%s %q (id %d)", r.kind.parentTitle(), g, groupID)
}

func (r *hookResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state := r.read(ctx, req.State, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !r.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	gid, _ := state[r.kind.parentID].(types.Int64)
	hid, _ := state["hook_id"].(types.Int64)
	e, found, err := hooks.GetOf(ctx, r.clients.gitlab, r.kind.owner(gid.ValueInt64()), hid.ValueInt64())
	if err != nil {
		resp.Diagnostics.AddError("Reading the hook failed", err.Error())
		return
	}
	// GitLab answers 404 both for a hook that is gone and for a group
	// (project) the token cannot see (or that is gone): only the first may
	// leave the state, or the next apply duplicates the hook.
	if !found && !r.kind.system() && !r.parentReadable(ctx, state, gid.ValueInt64(), &resp.Diagnostics) {
		return
	}
	if !found {
		resp.State.RemoveResource(ctx) // deleted outside Terraform: plan to create it again
		return
	}
	r.write(ctx, &resp.State, r.fill(ctx, state, e, &resp.Diagnostics), &resp.Diagnostics)
}

func (r *hookResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	plan := r.read(ctx, req.Plan, &resp.Diagnostics)
	config := r.read(ctx, req.Config, &resp.Diagnostics)
	state := r.read(ctx, req.State, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !r.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	gid, _ := state[r.kind.parentID].(types.Int64)
	hid, _ := state["hook_id"].(types.Int64)
	body := r.body(ctx, config, state, false, &resp.Diagnostics)
	for _, sec := range hookSecrets {
		// A URL change without a new secret: send the known one, or
		// GitLab drops it.
		sec.keepOnURLChange(body, state)
	}
	e, err := hooks.UpdateRawOf(ctx, r.clients.gitlab, r.kind.owner(gid.ValueInt64()), hid.ValueInt64(), body)
	if err != nil {
		resp.Diagnostics.AddError("Updating the hook failed", err.Error())
		return
	}
	out := r.fill(ctx, plan, e, &resp.Diagnostics)
	if !r.kind.system() {
		out[r.kind.parentID] = gid
		out["id"] = types.StringValue(fmt.Sprintf("%d:%d", gid.ValueInt64(), e.ID))
	}
	warnUnsigned(config, out, &resp.Diagnostics)
	r.write(ctx, &resp.State, out, &resp.Diagnostics)
}

func (r *hookResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state := r.read(ctx, req.State, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !r.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	gid, _ := state[r.kind.parentID].(types.Int64)
	hid, _ := state["hook_id"].(types.Int64)
	if !r.kind.system() && !r.parentReadable(ctx, state, gid.ValueInt64(), &resp.Diagnostics) {
		return // a 404 from the delete would be read as "already gone"
	}
	if err := hooks.DeleteOf(ctx, r.clients.gitlab, r.kind.owner(gid.ValueInt64()), hid.ValueInt64()); err != nil {
		resp.Diagnostics.AddError("Deleting the hook failed", err.Error())
	}
}

// parentReadable reports whether the provider's token can read the
// hook's group (project), adding an error diagnostic naming it and the
// token (masked) when it cannot.
func (r *hookResource) parentReadable(ctx context.Context, state values, id int64, diags *diag.Diagnostics) bool {
	k := r.kind
	_, _, err := k.parentOf(ctx, r.clients.gitlab, strconv.FormatInt(id, 10))
	if err == nil {
		return true
	}
	g, _ := strVal(state[k.parent])
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
func (r *hookResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !r.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	idPart := req.ID
	var groupID int64
	group := ""
	if k := r.kind; !k.system() {
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
	prior := values{}
	for name, a := range r.hookAttributes() {
		prior[name] = nullOf(a)
	}
	if !r.kind.system() {
		prior[r.kind.parent] = types.StringValue(group)
	}
	r.write(ctx, &resp.State, r.fill(ctx, prior, e, &resp.Diagnostics), &resp.Diagnostics)
}

func orNotFound(err error) error {
	if err == nil {
		return fmt.Errorf("GitLab has no such hook")
	}
	return err
}
