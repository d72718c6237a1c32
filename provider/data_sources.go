package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// listDataSource implements glsync_groups and glsync_projects: what the
// provider's token sees, through the daemon's own crawler and globs.
type listDataSource struct {
	projects bool
	clients  *clients
}

func newGroupsDataSource() datasource.DataSource   { return &listDataSource{} }
func newProjectsDataSource() datasource.DataSource { return &listDataSource{projects: true} }

func (d *listDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	if d.projects {
		resp.TypeName = req.ProviderTypeName + "_projects"
	} else {
		resp.TypeName = req.ProviderTypeName + "_groups"
	}
}

type groupItem struct {
	ID       types.Int64  `tfsdk:"id"`
	FullPath types.String `tfsdk:"full_path"`
	Name     types.String `tfsdk:"name"`
	ParentID types.Int64  `tfsdk:"parent_id"`
	WebURL   types.String `tfsdk:"web_url"`
}

type projectItem struct {
	ID                types.Int64  `tfsdk:"id"`
	PathWithNamespace types.String `tfsdk:"path_with_namespace"`
	DefaultBranch     types.String `tfsdk:"default_branch"`
	Archived          types.Bool   `tfsdk:"archived"`
	WebURL            types.String `tfsdk:"web_url"`
}

type groupsModel struct {
	ID       types.String `tfsdk:"id"`
	Patterns types.List   `tfsdk:"patterns"`
	Groups   []groupItem  `tfsdk:"groups"`
}

type projectsModel struct {
	ID       types.String  `tfsdk:"id"`
	Patterns types.List    `tfsdk:"patterns"`
	Projects []projectItem `tfsdk:"projects"`
}

func (d *listDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	patterns := schema.ListAttribute{Optional: true, ElementType: types.StringType,
		Description: "Globs as in a token mapping (default `[\"**\"]`).",
		Validators:  []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(dsGlob{})}}
	if d.projects {
		resp.Schema = schema.Schema{
			Description: "Projects the provider's token can see that the patterns select: a preview of what glsyncd will sync for this token mapping.",
			Attributes: map[string]schema.Attribute{
				"id":       schema.StringAttribute{Computed: true},
				"patterns": patterns,
				"projects": schema.ListNestedAttribute{Computed: true, NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":                  schema.Int64Attribute{Computed: true},
					"path_with_namespace": schema.StringAttribute{Computed: true},
					"default_branch":      schema.StringAttribute{Computed: true},
					"archived":            schema.BoolAttribute{Computed: true},
					"web_url":             schema.StringAttribute{Computed: true},
				}}},
			},
		}
		return
	}
	resp.Schema = schema.Schema{
		Description: "Groups the provider's token can see, optionally filtered by glob patterns (a group is kept when a pattern matches it or could hold a project it selects).",
		Attributes: map[string]schema.Attribute{
			"id":       schema.StringAttribute{Computed: true},
			"patterns": patterns,
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

// dsGlob is globValidator for data sources (same rules).
type dsGlob = globValidator

func (d *listDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = configureClients(req.ProviderData, &resp.Diagnostics)
}

func (d *listDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var patternsList types.List
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, pathRoot("patterns"), &patternsList)...)
	if resp.Diagnostics.HasError() || !d.clients.needGitLab(&resp.Diagnostics) {
		return
	}
	patterns := []string{"**"}
	if !patternsList.IsNull() {
		patterns = nil
		resp.Diagnostics.Append(patternsList.ElementsAs(ctx, &patterns, false)...)
	}
	src := &crawl.Source{Entry: tokenmap.Entry{Token: d.clients.token, Patterns: patterns}, Client: d.clients.gitlab}
	id := fmt.Sprintf("%s %v", d.clients.host, patterns)
	if d.projects {
		m := projectsModel{ID: types.StringValue(id), Patterns: patternsList, Projects: []projectItem{}}
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
		return
	}
	m := groupsModel{ID: types.StringValue(id), Patterns: patternsList, Groups: []groupItem{}}
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

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

func str(v any) types.String {
	s, ok := v.(string)
	if !ok {
		return types.StringNull()
	}
	return types.StringValue(s)
}
