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
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// glsync_groups (groups_data_source.go) and glsync_projects
// (projects_data_source.go) list what the provider's token sees, through
// the daemon's own crawler and globs. Each has its own type and model;
// they share the patterns attribute and the crawl source built here.

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
