// Package provider is the glsync Terraform provider. Its resources and
// data sources (group hooks, the system hook, token mappings) are built on
// the same shared core as the glsyncd daemon.
package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// Provider is the glsync provider.
type Provider struct {
	version string
}

var _ provider.Provider = (*Provider)(nil)

// New returns a constructor for the provider at a release version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &Provider{version: version} }
}

// Metadata names the provider "glsync".
func (p *Provider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "glsync"
	resp.Version = p.version
}

// Schema describes the provider configuration (none yet).
func (p *Provider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Manages the GitLab hooks and token mappings of glsync.",
	}
}

// Configure has nothing to configure yet.
func (p *Provider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

// Resources lists the provider's resources.
func (p *Provider) Resources(context.Context) []func() resource.Resource { return nil }

// DataSources lists the provider's data sources.
func (p *Provider) DataSources(context.Context) []func() datasource.DataSource { return nil }
