package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// TestAccProjectHookMovedFromGitLab moves a hook created by a
// gitlab_project_hook (the stand-in for the official provider) into
// glsync_project_hook with a moved block: the same hook, nothing
// re-created, nothing to change (Terraform 1.8+).
func TestAccProjectHookMovedFromGitLab(t *testing.T) {
	sim, org, host := simulator(t)
	tok := org.RootTokens[0]
	p := ownProjects(sim, org, 0)[0]
	url := "https://glsync.example.com/integration/hook/project-moved"
	attrs := `
  token                        = "official-project-secret"
  push_events                  = true
  job_events                   = true
  resource_deploy_token_events = true
  push_events_branch_filter    = "main"
  custom_headers = [{ key = "X-Catalog", value = "v1" }]
`
	official := fmt.Sprintf(`
provider "gitlab" {
  base_url = %q
  token    = %q
}
resource "gitlab_project_hook" "x" {
  project = %q
  url     = %q
%s
}
`, host, tok, p.PathWithNamespace, url, attrs)
	moved := providerBlock(host, tok) + fmt.Sprintf(`
moved {
  from = gitlab_project_hook.x
  to   = glsync_project_hook.x
}
resource "glsync_project_hook" "x" {
  project = %q
  url     = %q
%s
}
`, p.PathWithNamespace, url, attrs)
	factories := map[string]func() (tfprotov6.ProviderServer, error){
		"glsync": providers["glsync"],
		"gitlab": providerserver.NewProtocol6WithError(&officialProvider{}),
	}
	var hookID int64
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		Steps: []resource.TestStep{
			{
				Config: official,
				Check: checkHook(sim, url, func(h *gitlabtest.Hook) bool {
					hookID = h.ID
					return h.ProjectID == p.ID && h.Token == "official-project-secret" && h.Events["resource_deploy_token_events"]
				}),
			},
			{
				Config: moved,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_project_hook.x", plancheck.ResourceActionNoop),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool {
						return h.ID == hookID && h.ProjectID == p.ID && h.Token == "official-project-secret" && h.Events["job_events"] && h.CustomHeaders["X-Catalog"] == "v1"
					}),
					func(s *terraform.State) error {
						return resource.TestCheckResourceAttr("glsync_project_hook.x", "id", fmt.Sprintf("%d:%d", p.ID, hookID))(s)
					},
					func(*terraform.State) error {
						if n := len(sim.Hooks()); n != 1 {
							return fmt.Errorf("%d hooks, want the one moved", n)
						}
						return nil
					},
				),
			},
		},
	})
}

// TestAccProjectHookTokenWriteOnly: token_wo and signing_token_wo reach
// GitLab and never the state files; a new version sends a new value
// (Terraform 1.11+).
func TestAccProjectHookTokenWriteOnly(t *testing.T) {
	work := t.TempDir()
	t.Setenv("TF_ACC_TEMP_DIR", work) // the state files land here: the test reads them
	sim, org, host := simulator(t)
	p := ownProjects(sim, org, 0)[0]
	url := "https://glsync.example.com/integration/hook/project-wo"
	config := func(secret, signing string, version int) string {
		return projectHookConfig(host, org.RootTokens[0], p.PathWithNamespace, url, fmt.Sprintf(
			"  token_wo = %q\n  token_wo_version = %d\n  signing_token_wo = %q\n  signing_token_wo_version = %d", secret, version, signing, version))
	}
	noSecretInState := func(secrets ...string) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			for _, secret := range secrets {
				hits, files, err := stateFilesContain(work, secret)
				if err != nil || files == 0 || len(hits) > 0 {
					return fmt.Errorf("state files %d, holding a secret: %v (%v)", files, hits, err)
				}
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []resource.TestStep{
			{
				Config: config("project-wo-secret-1", signingToken1, 1),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool {
						return h.Token == "project-wo-secret-1" && h.SigningToken == signingToken1
					}),
					resource.TestCheckResourceAttr("glsync_project_hook.this", "signing_token_present", "true"),
					noSecretInState("project-wo-secret-1", signingToken1),
				),
			},
			{
				Config: config("project-wo-secret-2", signingToken2, 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_project_hook.this", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool {
						return h.Token == "project-wo-secret-2" && h.SigningToken == signingToken2
					}),
					noSecretInState("project-wo-secret-2", signingToken2),
				),
			},
		},
	})
}
