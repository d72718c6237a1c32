package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/hooks"
)

// hookDataSource implements glsync_group_hook(s), glsync_project_hook(s)
// and glsync_system_hook(s), as terraform-provider-gitlab's data sources
// of those names: one hook by id, or every hook of the group, the project
// or the system. A hook is read as the resource of its kind imports it
// (hookReader), so the two show the same values; no secret is an
// attribute (GitLab never returns one: signing_token_present says whether
// a signing token is set).
type hookDataSource struct {
	kind    hookKind
	res     hookReader // the resource of this kind
	list    bool
	clients *clients
}

// hookReader is what a hook data source uses of the resource of its
// kind: its attributes, and a hook's values as its import reads them.
type hookReader interface {
	schemaAttributes() map[string]rschema.Attribute
	importedValues(ctx context.Context, parentPath string, e hooks.Existing, diags *diag.Diagnostics) map[string]attr.Value
}

func newHookDataSources() []func() datasource.DataSource {
	var out []func() datasource.DataSource
	for _, k := range []struct {
		kind hookKind
		res  func() resource.Resource
	}{{groupHooks, newGroupHookResource}, {projectHooks, newProjectHookResource}, {systemHooks, newSystemHookResource}} {
		for _, list := range []bool{false, true} {
			out = append(out, func() datasource.DataSource {
				return &hookDataSource{kind: k.kind, res: k.res().(hookReader), list: list}
			})
		}
	}
	return out
}

// notInDataSources are the resource attributes a data source has not:
// the secrets (write-only in GitLab) and what only configures the
// resource (events is the configuration's shorthand of the flags; header
// and variable values are never returned).
var notInDataSources = map[string]bool{"adopt_existing": true, "events": true, "custom_headers": true, "url_variables": true}

// dataAttributes are the resource attributes a hook data source reads.
func (d *hookDataSource) dataAttributes() map[string]rschema.Attribute {
	out := map[string]rschema.Attribute{}
	for name, a := range d.res.schemaAttributes() {
		secret := false
		for _, sec := range hookSecrets {
			secret = secret || name == sec.name || name == sec.wo() || name == sec.version()
		}
		if !secret && !notInDataSources[name] {
			out[name] = a
		}
	}
	return out
}

func (d *hookDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + d.kind.name + "_hook"
	if d.list {
		resp.TypeName += "s"
	}
}

func (d *hookDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = configureClients(req.ProviderData, &resp.Diagnostics)
}

// dataDescription documents a hook data source attribute: what GitLab
// has, not what a configuration does.
func dataDescription(k hookKind, name string) string {
	switch {
	case name == "id" && k.system():
		return "The hook id."
	case name == "id":
		return fmt.Sprintf("`%s:hook_id`.", k.parentID)
	case name == k.parent:
		return fmt.Sprintf("The %s's full path.", k.parent)
	case name == k.parentID:
		return "Numeric id of the " + k.parent + "."
	case name == "hook_id":
		return "GitLab's id of the hook."
	case name == "signing_token_present":
		return "Whether GitLab holds a signing token for the hook (null on a GitLab older than 19.0). The tokens themselves are never returned."
	case strings.HasSuffix(name, "_events"):
		return fmt.Sprintf("Whether GitLab delivers %s events to the hook.", strings.ReplaceAll(strings.TrimSuffix(name, "_events"), "_", " "))
	}
	return map[string]string{
		"url":                       "URL GitLab delivers to.",
		"enable_ssl_verification":   "Whether GitLab verifies the TLS certificate of `url`.",
		"name":                      "Name of the hook.",
		"description":               "Description of the hook.",
		"created_at":                "When GitLab created the hook.",
		"push_events_branch_filter": "Branch filter of push events.",
		"branch_filter_strategy":    "How the branch filter matches: `wildcard`, `regex` or `all_branches`.",
		"custom_webhook_template":   "Custom payload template.",
		"alert_status":              "`executable`, or `temporarily_disabled` / `disabled` when GitLab stopped delivering after failures.",
		"disabled_until":            "Until when GitLab holds deliveries of a temporarily disabled hook.",
	}[name]
}

// dataAttribute is a resource attribute as a computed data source one.
func dataAttribute(a rschema.Attribute, desc string) dschema.Attribute {
	switch a.(type) {
	case rschema.BoolAttribute:
		return dschema.BoolAttribute{Computed: true, Description: desc}
	case rschema.Int64Attribute:
		return dschema.Int64Attribute{Computed: true, Description: desc}
	}
	return dschema.StringAttribute{Computed: true, Description: desc}
}

func (d *hookDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	k := d.kind
	attrs := map[string]dschema.Attribute{}
	for name, a := range d.dataAttributes() {
		attrs[name] = dataAttribute(a, dataDescription(k, name))
	}
	whose := "the system"
	if !k.system() {
		whose = "a " + k.parent
	}
	if d.list {
		resp.Schema = dschema.Schema{
			Description: fmt.Sprintf("Every hook of %s, as terraform-provider-gitlab's `%ss` lists them (no token: GitLab never returns one).", whose, k.official()),
			Attributes: map[string]dschema.Attribute{
				"id": dschema.StringAttribute{Computed: true, Description: map[bool]string{true: "`system`.", false: "The " + k.parent + "'s id."}[k.system()]},
				"hooks": dschema.ListNestedAttribute{Computed: true, Description: "The hooks, by id.",
					NestedObject: dschema.NestedAttributeObject{Attributes: attrs}},
			},
		}
		if !k.system() {
			resp.Schema.Attributes[k.parent] = dschema.StringAttribute{Required: true, Description: fmt.Sprintf("The %s (%s).", k.parent, k.parentHelp)}
		}
		return
	}
	attrs["hook_id"] = dschema.Int64Attribute{Required: true, Description: "GitLab's id of the hook."}
	if !k.system() {
		attrs[k.parent] = dschema.StringAttribute{Required: true, Description: fmt.Sprintf("The %s (%s).", k.parent, k.parentHelp)}
	}
	resp.Schema = dschema.Schema{
		Description: fmt.Sprintf("One hook of %s by id, as terraform-provider-gitlab's `%s` reads it (no token: GitLab never returns one).", whose, k.official()),
		Attributes:  attrs,
	}
}

// hookValues reads one hook GitLab returned as the resource of its kind
// would, keeping the data source's attributes.
func (d *hookDataSource) hookValues(ctx context.Context, parentPath string, e hooks.Existing, diags *diag.Diagnostics) map[string]attr.Value {
	all := d.res.importedValues(ctx, parentPath, e, diags)
	out := map[string]attr.Value{}
	for name := range d.dataAttributes() {
		out[name] = all[name]
	}
	return out
}

func (d *hookDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	k := d.kind
	if !d.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	var parentID int64
	var ref types.String // the group or project as written: kept as it is
	parentPath, id := "", "system"
	if !k.system() {
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(k.parent), &ref)...)
		if resp.Diagnostics.HasError() {
			return
		}
		var err error
		parentID, parentPath, err = k.parentOf(ctx, d.clients.gitlab, ref.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root(k.parent), "Cannot find the "+k.parent, err.Error())
			return
		}
		id = fmt.Sprint(parentID)
	}
	if !d.list {
		var hookID types.Int64
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("hook_id"), &hookID)...)
		if resp.Diagnostics.HasError() {
			return
		}
		e, found, err := hooks.GetOf(ctx, d.clients.gitlab, k.owner(parentID), hookID.ValueInt64())
		if err != nil || !found {
			resp.Diagnostics.AddAttributeError(path.Root("hook_id"), "Cannot read the hook",
				fmt.Sprintf("%s: hook %d: %v", d.where(parentPath), hookID.ValueInt64(), orNotFound(err)))
			return
		}
		v := d.hookValues(ctx, parentPath, e, &resp.Diagnostics)
		if !k.system() {
			v[k.parent] = ref
		}
		for _, name := range sortedNames(v) {
			resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), v[name])...)
		}
		return
	}
	list, err := hooks.List(ctx, d.clients.gitlab, k.owner(parentID))
	if err != nil {
		resp.Diagnostics.AddError("Listing the hooks failed", fmt.Sprintf("%s: %v", d.where(parentPath), err))
		return
	}
	attrTypes := map[string]attr.Type{}
	for name, a := range d.dataAttributes() {
		attrTypes[name] = nullOf(a).Type(ctx)
	}
	elems := make([]attr.Value, 0, len(list))
	for _, e := range list {
		o, diags := types.ObjectValue(attrTypes, d.hookValues(ctx, parentPath, e, &resp.Diagnostics))
		resp.Diagnostics.Append(diags...)
		elems = append(elems, o)
	}
	l, diags := types.ListValue(types.ObjectType{AttrTypes: attrTypes}, elems)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), types.StringValue(id))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("hooks"), l)...)
	if !k.system() {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(k.parent), ref)...)
	}
}

// where names the group, the project or the system in diagnostics.
func (d *hookDataSource) where(parentPath string) string {
	if d.kind.system() {
		return "The system"
	}
	return fmt.Sprintf("%s %q", d.kind.parentTitle(), parentPath)
}

func sortedNames(v map[string]attr.Value) []string {
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
