package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// groupsDataSource implements glsync_groups: the groups the provider's
// token sees, filtered by the daemon's globs.
type groupsDataSource struct{ clients *clients }

var _ datasource.DataSourceWithConfigure = (*groupsDataSource)(nil)

func newGroupsDataSource() datasource.DataSource { return &groupsDataSource{} }

type groupsModel struct {
	ID       types.String `tfsdk:"id"`
	Patterns types.List   `tfsdk:"patterns"`
	Groups   []groupItem  `tfsdk:"groups"`
}

type groupItem struct {
	ID       types.Int64  `tfsdk:"id"`
	FullPath types.String `tfsdk:"full_path"`
	Name     types.String `tfsdk:"name"`
	ParentID types.Int64  `tfsdk:"parent_id"`
	WebURL   types.String `tfsdk:"web_url"`
}

func (d *groupsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_groups"
}

func (d *groupsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Groups the provider's token can see, optionally filtered by glob patterns (a group is kept when a pattern matches it or could hold a project it selects).",
		Attributes: map[string]schema.Attribute{
			"id":       schema.StringAttribute{Computed: true},
			"patterns": patternsAttribute(),
			"groups": schema.ListNestedAttribute{Computed: true, NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"id":        schema.Int64Attribute{Computed: true},
				"full_path": schema.StringAttribute{Computed: true},
				"name":      schema.StringAttribute{Computed: true},
				"parent_id": schema.Int64Attribute{Computed: true},
				"web_url":   schema.StringAttribute{Computed: true},
			}}},
		},
	}
}

func (d *groupsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = configureClients(req.ProviderData, &resp.Diagnostics)
}

func (d *groupsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	m := groupsModel{Groups: []groupItem{}}
	src, id := listSource(ctx, req, d.clients, &m.Patterns, &resp.Diagnostics)
	if src == nil {
		return
	}
	m.ID = types.StringValue(id)
	_, err := src.Groups(ctx, func(p gitlab.Page) error {
		for _, o := range p.Items {
			parent := types.Int64Null()
			if o["parent_id"] != nil {
				parent = types.Int64Value(num(o["parent_id"]))
			}
			m.Groups = append(m.Groups, groupItem{ID: types.Int64Value(num(o["id"])), FullPath: str(o["full_path"]), Name: str(o["name"]),
				ParentID: parent, WebURL: str(o["web_url"])})
		}
		return nil
	})
	if err != nil {
		resp.Diagnostics.AddError("Listing groups failed", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
