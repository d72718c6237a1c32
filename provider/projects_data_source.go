package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// projectsDataSource implements glsync_projects: the projects the
// provider's token sees that the daemon's globs select.
type projectsDataSource struct{ clients *clients }

var _ datasource.DataSourceWithConfigure = (*projectsDataSource)(nil)

func newProjectsDataSource() datasource.DataSource { return &projectsDataSource{} }

type projectsModel struct {
	ID       types.String  `tfsdk:"id"`
	Patterns types.List    `tfsdk:"patterns"`
	Projects []projectItem `tfsdk:"projects"`
}

type projectItem struct {
	ID                types.Int64  `tfsdk:"id"`
	PathWithNamespace types.String `tfsdk:"path_with_namespace"`
	DefaultBranch     types.String `tfsdk:"default_branch"`
	Archived          types.Bool   `tfsdk:"archived"`
	WebURL            types.String `tfsdk:"web_url"`
}

func (d *projectsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_projects"
}

func (d *projectsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Projects the provider's token can see that the patterns select: a preview of what glsyncd will sync for this token mapping.",
		Attributes: map[string]schema.Attribute{
			"id":       schema.StringAttribute{Computed: true},
			"patterns": patternsAttribute(),
			"projects": schema.ListNestedAttribute{Computed: true, NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"id":                  schema.Int64Attribute{Computed: true},
				"path_with_namespace": schema.StringAttribute{Computed: true},
				"default_branch":      schema.StringAttribute{Computed: true},
				"archived":            schema.BoolAttribute{Computed: true},
				"web_url":             schema.StringAttribute{Computed: true},
			}}},
		},
	}
}

func (d *projectsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = configureClients(req.ProviderData, &resp.Diagnostics)
}

func (d *projectsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	m := projectsModel{Projects: []projectItem{}}
	src, id := listSource(ctx, req, d.clients, &m.Patterns, &resp.Diagnostics)
	if src == nil {
		return
	}
	m.ID = types.StringValue(id)
	_, err := src.Projects(ctx, func(p gitlab.Page) error {
		for _, o := range p.Items {
			m.Projects = append(m.Projects, projectItem{ID: types.Int64Value(num(o["id"])), PathWithNamespace: str(o["path_with_namespace"]),
				DefaultBranch: str(o["default_branch"]), Archived: types.BoolValue(o["archived"] == true), WebURL: str(o["web_url"])})
		}
		return nil
	})
	if err != nil {
		resp.Diagnostics.AddError("Listing projects failed", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
