package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/crawl"
)

// groupsDataSource implements glsync_groups: the groups the provider's
// token sees, filtered by the daemon's globs. Its lifecycle is
// listCore's, over groupsModel.
type groupsDataSource struct {
	listCore[groupsModel, *groupsModel]
}

var _ datasource.DataSourceWithConfigure = (*groupsDataSource)(nil)

func newGroupsDataSource() datasource.DataSource {
	return &groupsDataSource{listCore[groupsModel, *groupsModel]{name: "groups",
		description: "Groups the provider's token can see, optionally filtered by glob patterns (a group is kept when a pattern matches it or could hold a project it selects).",
		items: map[string]schema.Attribute{
			"id":        schema.Int64Attribute{Computed: true},
			"full_path": schema.StringAttribute{Computed: true},
			"name":      schema.StringAttribute{Computed: true},
			"parent_id": schema.Int64Attribute{Computed: true},
			"web_url":   schema.StringAttribute{Computed: true},
		},
		empty: func() groupsModel { return groupsModel{Groups: []groupItem{}} },
		list:  (*crawl.Source).Groups}}
}

// groupsModel is glsync_groups' state.
type groupsModel struct {
	listModel
	Groups []groupItem `tfsdk:"groups"`
}

type groupItem struct {
	ID       types.Int64  `tfsdk:"id"`
	FullPath types.String `tfsdk:"full_path"`
	Name     types.String `tfsdk:"name"`
	ParentID types.Int64  `tfsdk:"parent_id"`
	WebURL   types.String `tfsdk:"web_url"`
}

func (m *groupsModel) common() *listModel { return &m.listModel }

func (m *groupsModel) add(o map[string]any) {
	parent := types.Int64Null()
	if o["parent_id"] != nil {
		parent = types.Int64Value(num(o["parent_id"]))
	}
	m.Groups = append(m.Groups, groupItem{ID: types.Int64Value(num(o["id"])), FullPath: str(o["full_path"]), Name: str(o["name"]),
		ParentID: parent, WebURL: str(o["web_url"])})
}
