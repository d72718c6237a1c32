package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// glsync_groups (groups_data_source.go) and glsync_projects
// (projects_data_source.go) list what the provider's token sees, through
// the daemon's own crawler and globs. Each has its own model, embedding
// listModel; their lifecycle is listCore's, as the hook resources' is
// hookCore's: what differs (the objects listed, the list attribute and
// its items) is data.

// listModel holds the attributes both list data sources have.
type listModel struct {
	ID       types.String `tfsdk:"id"`
	Patterns types.List   `tfsdk:"patterns"`
}

// listModelOf is a list data source's model M, through its pointer: the
// embedded listModel and how one listed object becomes an item.
type listModelOf[M any] interface {
	*M
	common() *listModel
	add(o map[string]any)
}

// listCore is the lifecycle glsync_groups and glsync_projects share, over
// the data source's own model M.
type listCore[M any, P listModelOf[M]] struct {
	name        string                      // groups or projects: glsync_<name> and its list attribute
	description string                      // the data source's description
	items       map[string]schema.Attribute // the attributes of each listed item
	empty       func() M                    // a model with an empty (not null) list
	// list lists the objects src selects, page by page.
	list    func(src *crawl.Source, ctx context.Context, fn func(gitlab.Page) error) (crawl.Counts, error)
	clients *clients
}

func (d *listCore[M, P]) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + d.name
}

func (d *listCore[M, P]) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: d.description,
		Attributes: map[string]schema.Attribute{
			"id":       schema.StringAttribute{Computed: true},
			"patterns": patternsAttribute(),
			d.name:     schema.ListNestedAttribute{Computed: true, NestedObject: schema.NestedAttributeObject{Attributes: d.items}},
		},
	}
}

func (d *listCore[M, P]) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = configureClients(req.ProviderData, &resp.Diagnostics)
}

func (d *listCore[M, P]) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	m := d.empty()
	p := P(&m)
	src, id := listSource(ctx, req, d.clients, &p.common().Patterns, &resp.Diagnostics)
	if src == nil {
		return
	}
	p.common().ID = types.StringValue(id)
	_, err := d.list(src, ctx, func(pg gitlab.Page) error {
		for _, o := range pg.Items {
			p.add(o)
		}
		return nil
	})
	if err != nil {
		resp.Diagnostics.AddError("Listing "+d.name+" failed", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// dsGlob is globValidator for data sources (same rules).
type dsGlob = globValidator

// patternsAttribute is the patterns attribute of both list data sources.
func patternsAttribute() schema.ListAttribute {
	return schema.ListAttribute{Optional: true, ElementType: types.StringType,
		Description: "Globs as in a token mapping (default `[\"**\"]`).",
		Validators:  []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(dsGlob{})}}
}

// listSource reads patterns from the configuration into *patterns and
// returns the crawl source they select with the provider's token, and
// the data source's id; nil when the configuration or the provider
// settings do not allow a listing (diagnostics say why).
func listSource(ctx context.Context, req datasource.ReadRequest, c *clients, patterns *types.List, diags *diag.Diagnostics) (*crawl.Source, string) {
	diags.Append(req.Config.GetAttribute(ctx, pathRoot("patterns"), patterns)...)
	if diags.HasError() || !c.needGitLab(diags) {
		return nil, ""
	}
	globs := []string{"**"}
	if !patterns.IsNull() {
		globs = nil
		diags.Append(patterns.ElementsAs(ctx, &globs, false)...)
	}
	src := &crawl.Source{Entry: tokenmap.Entry{Token: c.token, Patterns: globs}, Client: c.gitlab}
	return src, fmt.Sprintf("%s %v", c.host, globs)
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
