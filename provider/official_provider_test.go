package provider

import (
	"context"
	"fmt"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
)

// officialProvider stands in for terraform-provider-gitlab in the migration
// tests: its gitlab_group_hook (gitlab_project_hook, gitlab_system_hook)
// has the official schema (names and types
// from the provider's documentation), creates the hook through GitLab's API
// and writes the state the official provider writes, which a `moved` block
// then hands to glsync_group_hook. The real provider cannot be downloaded
// here (no registry access).
type officialProvider struct{}

func (p *officialProvider) Metadata(_ context.Context, _ fwprovider.MetadataRequest, resp *fwprovider.MetadataResponse) {
	resp.TypeName = "gitlab"
}

func (p *officialProvider) Schema(_ context.Context, _ fwprovider.SchemaRequest, resp *fwprovider.SchemaResponse) {
	resp.Schema = pschema.Schema{Attributes: map[string]pschema.Attribute{
		"base_url": pschema.StringAttribute{Optional: true},
		"token":    pschema.StringAttribute{Optional: true, Sensitive: true},
	}}
}

func (p *officialProvider) Configure(ctx context.Context, req fwprovider.ConfigureRequest, resp *fwprovider.ConfigureResponse) {
	var host, token types.String
	req.Config.GetAttribute(ctx, pathRoot("base_url"), &host)
	req.Config.GetAttribute(ctx, pathRoot("token"), &token)
	c, err := gitlab.New(host.ValueString(), token.ValueString(), gitlab.Options{}, nil)
	if err != nil {
		resp.Diagnostics.AddError("client", err.Error())
		return
	}
	resp.ResourceData = c
}

func (p *officialProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		func() resource.Resource { return &officialGroupHook{kind: groupHooks} },
		func() resource.Resource { return &officialGroupHook{kind: projectHooks} },
		func() resource.Resource { return &officialGroupHook{kind: systemHooks} },
	}
}

func (p *officialProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

// officialGroupHook is gitlab_group_hook, gitlab_project_hook or
// gitlab_system_hook, as kind says.
type officialGroupHook struct {
	c    *gitlab.Client
	kind hookKind
}

// flags are the hook type's event flags.
func (r *officialGroupHook) flags() []string { return r.kind.flags }

// officialStrings are gitlab_group_hook's string arguments.
var officialStrings = []string{"name", "description", "push_events_branch_filter", "branch_filter_strategy", "custom_webhook_template"}

func (r *officialGroupHook) Metadata(_ context.Context, _ resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = r.kind.official()
}

func (r *officialGroupHook) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	if r.kind.system() {
		a := map[string]schema.Attribute{
			"id":                      schema.StringAttribute{Computed: true},
			"url":                     schema.StringAttribute{Required: true},
			"token":                   schema.StringAttribute{Optional: true, Sensitive: true},
			"enable_ssl_verification": schema.BoolAttribute{Optional: true, Computed: true},
			"created_at":              schema.StringAttribute{Computed: true},
		}
		for _, f := range systemFlags {
			a[f] = schema.BoolAttribute{Optional: true, Computed: true}
		}
		resp.Schema = schema.Schema{Attributes: a}
		return
	}
	a := map[string]schema.Attribute{
		"id":                      schema.StringAttribute{Computed: true},
		r.kind.parent:             schema.StringAttribute{Required: true},
		r.kind.parentID:           schema.Int64Attribute{Computed: true},
		"hook_id":                 schema.Int64Attribute{Computed: true},
		"url":                     schema.StringAttribute{Required: true},
		"token":                   schema.StringAttribute{Optional: true, Sensitive: true},
		"enable_ssl_verification": schema.BoolAttribute{Optional: true, Computed: true},
		"custom_headers": schema.ListNestedAttribute{Optional: true, NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"key": schema.StringAttribute{Required: true}, "value": schema.StringAttribute{Required: true, Sensitive: true},
		}}},
	}
	for _, s := range officialStrings {
		a[s] = schema.StringAttribute{Optional: true, Computed: true}
	}
	for _, f := range r.flags() {
		a[f] = schema.BoolAttribute{Optional: true, Computed: true}
	}
	for _, f := range r.kind.readOnly {
		a[f] = schema.BoolAttribute{Computed: true}
	}
	resp.Schema = schema.Schema{Attributes: a}
}

func (r *officialGroupHook) Configure(_ context.Context, req resource.ConfigureRequest, _ *resource.ConfigureResponse) {
	if c, ok := req.ProviderData.(*gitlab.Client); ok {
		r.c = c
	}
}

func (r *officialGroupHook) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var group, url, token types.String
	req.Plan.GetAttribute(ctx, pathRoot("url"), &url)
	req.Plan.GetAttribute(ctx, pathRoot("token"), &token)
	body := map[string]any{"url": url.ValueString(), "token": token.ValueString()}
	for _, f := range r.flags() {
		var b types.Bool
		req.Plan.GetAttribute(ctx, pathRoot(f), &b)
		if !b.IsUnknown() && !b.IsNull() {
			body[f] = b.ValueBool()
		}
	}
	var gid int64
	var headers types.List
	if !r.kind.system() {
		for _, name := range officialStrings {
			var v types.String
			req.Plan.GetAttribute(ctx, pathRoot(name), &v)
			if !v.IsUnknown() && !v.IsNull() {
				body[name] = v.ValueString()
			}
		}
		req.Plan.GetAttribute(ctx, pathRoot("custom_headers"), &headers)
		if !headers.IsNull() {
			body["custom_headers"] = keyValues(headers)
		}
		req.Plan.GetAttribute(ctx, pathRoot(r.kind.parent), &group)
		var err error
		if gid, _, err = r.kind.parentOf(ctx, r.c, group.ValueString()); err != nil {
			resp.Diagnostics.AddError(r.kind.parent, err.Error())
			return
		}
	}
	e, err := hooks.CreateRawOf(ctx, r.c, r.kind.owner(gid), body)
	if err != nil {
		resp.Diagnostics.AddError("create", err.Error())
		return
	}
	st := &resp.State
	set := func(name string, v attr.Value) { resp.Diagnostics.Append(st.SetAttribute(ctx, pathRoot(name), v)...) }
	set("url", url)
	set("token", token)
	set("enable_ssl_verification", types.BoolValue(e.SSL))
	for _, f := range append(r.flags(), r.kind.readOnly...) {
		b, _ := e.Raw[f].(bool)
		set(f, types.BoolValue(b))
	}
	if r.kind.system() {
		created, _ := e.Raw["created_at"].(string)
		set("id", types.StringValue(fmt.Sprint(e.ID)))
		set("created_at", types.StringValue(created))
		return
	}
	set("id", types.StringValue(fmt.Sprintf("%s:%d", group.ValueString(), e.ID)))
	set(r.kind.parent, group)
	set(r.kind.parentID, types.Int64Value(gid))
	set("hook_id", types.Int64Value(e.ID))
	set("custom_headers", headers)
	for _, s := range officialStrings {
		v, _ := e.Raw[s].(string)
		set(s, types.StringValue(v))
	}
}

func (r *officialGroupHook) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

func (r *officialGroupHook) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.AddError("not supported", "the migration tests never update the official resource")
}

func (r *officialGroupHook) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var gid, hid types.Int64
	if r.kind.system() {
		var id types.String
		req.State.GetAttribute(ctx, pathRoot("id"), &id)
		n, _ := strconv.ParseInt(id.ValueString(), 10, 64)
		hid = types.Int64Value(n)
	} else {
		req.State.GetAttribute(ctx, pathRoot(r.kind.parentID), &gid)
		req.State.GetAttribute(ctx, pathRoot("hook_id"), &hid)
	}
	if err := hooks.DeleteOf(ctx, r.c, r.kind.owner(gid.ValueInt64()), hid.ValueInt64()); err != nil {
		resp.Diagnostics.AddError("delete", err.Error())
	}
}
