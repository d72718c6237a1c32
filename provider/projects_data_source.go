package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/crawl"
)

// projectsDataSource implements glsync_projects: the projects the
// provider's token sees that the daemon's globs select. Its lifecycle is
// listCore's, over projectsModel.
type projectsDataSource struct {
	listCore[projectsModel, *projectsModel]
}

var _ datasource.DataSourceWithConfigure = (*projectsDataSource)(nil)

func newProjectsDataSource() datasource.DataSource {
	return &projectsDataSource{listCore[projectsModel, *projectsModel]{name: "projects",
		description: "Projects the provider's token can see that the patterns select: a preview of what glsyncd will sync for this token mapping.",
		items: map[string]schema.Attribute{
			"id":                  schema.Int64Attribute{Computed: true},
			"path_with_namespace": schema.StringAttribute{Computed: true},
			"default_branch":      schema.StringAttribute{Computed: true},
			"archived":            schema.BoolAttribute{Computed: true},
			"web_url":             schema.StringAttribute{Computed: true},
		},
		empty: func() projectsModel { return projectsModel{Projects: []projectItem{}} },
		list:  (*crawl.Source).Projects}}
}

// projectsModel is glsync_projects' state.
type projectsModel struct {
	listModel
	Projects []projectItem `tfsdk:"projects"`
}

type projectItem struct {
	ID                types.Int64  `tfsdk:"id"`
	PathWithNamespace types.String `tfsdk:"path_with_namespace"`
	DefaultBranch     types.String `tfsdk:"default_branch"`
	Archived          types.Bool   `tfsdk:"archived"`
	WebURL            types.String `tfsdk:"web_url"`
}

func (m *projectsModel) common() *listModel { return &m.listModel }

func (m *projectsModel) add(o map[string]any) {
	m.Projects = append(m.Projects, projectItem{ID: types.Int64Value(num(o["id"])), PathWithNamespace: str(o["path_with_namespace"]),
		DefaultBranch: str(o["default_branch"]), Archived: types.BoolValue(o["archived"] == true), WebURL: str(o["web_url"])})
}
