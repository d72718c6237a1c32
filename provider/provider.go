// Package provider is the glsync Terraform provider: GitLab group, project and
// system hooks, token mappings stored in a running glsyncd, the daemon's
// managed hook set, and data sources previewing what glsync syncs. It uses
// the same shared packages as the daemon (GitLab client, crawler, hook
// reconciliation, validation), so the two never disagree.
package provider

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// Environment variables the provider reads when an attribute is not set.
const (
	EnvGitLabToken = "GITLAB_TOKEN"
	EnvGitLabHost  = "GLSYNC_GITLAB_HOST"
	EnvDaemonURL   = "GLSYNC_DAEMON_URL"
	EnvAdminToken  = "GLSYNC_ADMIN_TOKEN"
)

// Provider is the glsync provider.
type Provider struct {
	version string
	// Options tune the GitLab client (tests shorten backoffs).
	Options gitlab.Options
}

var _ provider.Provider = (*Provider)(nil)

// New returns a constructor for the provider at a release version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &Provider{version: version} }
}

type providerModel struct {
	GitLabHost       types.String `tfsdk:"gitlab_host"`
	GitLabToken      types.String `tfsdk:"gitlab_token"`
	DaemonURL        types.String `tfsdk:"daemon_url"`
	DaemonAdminToken types.String `tfsdk:"daemon_admin_token"`
}

// Metadata names the provider "glsync".
func (p *Provider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "glsync"
	resp.Version = p.version
}

// Schema describes the provider configuration.
func (p *Provider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Manages the GitLab hooks and token mappings of glsync, which keeps a software catalog in sync with GitLab. " +
			"Use one provider alias per GitLab token.",
		Attributes: map[string]schema.Attribute{
			"gitlab_host": schema.StringAttribute{
				Optional:    true,
				Description: "GitLab base URL. Default `https://gitlab.com`, or `" + EnvGitLabHost + "`.",
			},
			"gitlab_token": schema.StringAttribute{
				Optional:    true,
				Sensitive:   true,
				Description: "GitLab access token (a group access token, or an administrator's for the system hook). Or `" + EnvGitLabToken + "`.",
			},
			"daemon_url": schema.StringAttribute{
				Optional:    true,
				Description: "URL of glsyncd's admin API, e.g. `http://127.0.0.1:8001`. Needed by `glsync_token_mapping` and `glsync_managed_hooks`. Or `" + EnvDaemonURL + "`.",
			},
			"daemon_admin_token": schema.StringAttribute{
				Optional:    true,
				Sensitive:   true,
				Description: "glsyncd's `adminToken`. Or `" + EnvAdminToken + "`.",
			},
		},
	}
}

// clients is what resources and data sources get: built from the provider
// configuration, with errors deferred to the resources that need them.
type clients struct {
	host       string
	token      string
	gitlab     *gitlab.Client
	gitlabErr  string
	daemon     *adminapi.Client
	daemonErr  string
	daemonPath path.Path
}

func pick(v types.String, env string) string {
	if !v.IsNull() && !v.IsUnknown() && v.ValueString() != "" {
		return v.ValueString()
	}
	return os.Getenv(env)
}

// Configure builds the shared GitLab client and the daemon client.
func (p *Provider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := &clients{host: pick(m.GitLabHost, EnvGitLabHost)}
	if c.host == "" {
		c.host = config.DefaultGitLabHost
	}
	if !strings.HasPrefix(c.host, "http://") && !strings.HasPrefix(c.host, "https://") {
		resp.Diagnostics.AddAttributeError(path.Root("gitlab_host"), "Invalid GitLab host",
			fmt.Sprintf("gitlab_host must be an http(s) URL like %s, got %q.", config.DefaultGitLabHost, c.host))
		return
	}
	c.token = pick(m.GitLabToken, EnvGitLabToken)
	if c.token == "" {
		c.gitlabErr = "Set gitlab_token in the provider block or the " + EnvGitLabToken + " environment variable: this resource talks to GitLab."
	} else {
		client, err := p.gitlabClient(ctx, c.host, c.token)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("gitlab_host"), "Cannot build the GitLab client", err.Error())
			return
		}
		c.gitlab = client
	}
	daemonURL := pick(m.DaemonURL, EnvDaemonURL)
	adminToken := pick(m.DaemonAdminToken, EnvAdminToken)
	switch {
	case daemonURL == "":
		c.daemonErr, c.daemonPath = "Set daemon_url in the provider block or the "+EnvDaemonURL+" environment variable: this resource is stored in glsyncd.", path.Root("daemon_url")
	case adminToken == "":
		c.daemonErr, c.daemonPath = "Set daemon_admin_token in the provider block or the "+EnvAdminToken+" environment variable (glsyncd's adminToken).", path.Root("daemon_admin_token")
	default:
		c.daemon = adminapi.NewClient(daemonURL, adminToken)
	}
	resp.ResourceData = c
	resp.DataSourceData = c
}

// gitlabClient builds the GitLab client, logging (retries, 429 waits,
// pacing) to Terraform's log of ctx unless Options names a logger.
func (p *Provider) gitlabClient(ctx context.Context, host, token string) (*gitlab.Client, error) {
	opts := p.Options
	if opts.Logger == nil {
		opts.Logger = newTFLogger(ctx)
	}
	// A redirect to another origin is refused (the token never follows
	// it); the error says which attribute to fix.
	opts.HostSetting = "gitlab_host"
	return gitlab.New(host, token, opts, nil)
}

// needGitLab reports a diagnostic when no GitLab token is configured.
func (c *clients) needGitLab(diags *diag.Diagnostics) bool {
	if c == nil {
		diags.AddError("Provider not configured", "The glsync provider was not configured.")
		return false
	}
	if c.gitlab == nil {
		diags.AddAttributeError(path.Root("gitlab_token"), "Missing GitLab token", c.gitlabErr)
		return false
	}
	return true
}

// needDaemon reports a diagnostic when the daemon API is not configured.
func (c *clients) needDaemon(diags *diag.Diagnostics) bool {
	if c == nil {
		diags.AddError("Provider not configured", "The glsync provider was not configured.")
		return false
	}
	if c.daemon == nil {
		diags.AddAttributeError(c.daemonPath, "Missing glsyncd admin API settings", c.daemonErr)
		return false
	}
	return true
}

// Resources lists the provider's resources.
func (p *Provider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newGroupHookResource,
		newProjectHookResource,
		newSystemHookResource,
		newTokenMappingResource,
		newManagedHooksResource,
	}
}

// DataSources lists the provider's data sources.
func (p *Provider) DataSources(context.Context) []func() datasource.DataSource {
	return append([]func() datasource.DataSource{newGroupsDataSource, newProjectsDataSource}, newHookDataSources()...)
}

func pathRoot(name string) path.Path { return path.Root(name) }

// configureClients is the Configure of every resource and data source.
func configureClients(data any, diags *diag.Diagnostics) *clients {
	if data == nil {
		return nil // provider not configured yet (validation)
	}
	c, ok := data.(*clients)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("got %T", data))
		return nil
	}
	return c
}
