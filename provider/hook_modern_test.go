package provider

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// These tests need a Terraform newer than the 1.5.7 CI builds from the
// module proxy: write-only attributes came in 1.11, moved blocks across
// resource types in 1.8. `make testacc-modern` runs them with the
// Terraform of the machine image (1.11.4 here).

// stateFilesContain reports the state files under dir holding s.
func stateFilesContain(dir, s string) ([]string, int, error) {
	var hits []string
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tfstate") {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), s) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits, files, err
}

func TestAccGroupHookTokenWriteOnly(t *testing.T) {
	work := t.TempDir()
	t.Setenv("TF_ACC_TEMP_DIR", work) // the state files land here: the test reads them
	sim, org, host := simulator(t)
	tok := org.RootTokens[0]
	group := org.Roots[0].FullPath
	url := "https://glsync.example.com/integration/hook/wo"
	config := func(secret string, version int) string {
		return hookConfig(host, tok, group, url, fmt.Sprintf("  token_wo = %q\n  token_wo_version = %d", secret, version))
	}
	noSecretInState := func(secret string) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			if v := s.RootModule().Resources["glsync_group_hook.this"].Primary.Attributes["token_wo"]; v != "" {
				return fmt.Errorf("token_wo in state: %q", v)
			}
			hits, files, err := stateFilesContain(work, secret)
			if err != nil || files == 0 || len(hits) > 0 {
				return fmt.Errorf("state files %d, holding the secret: %v (%v)", files, hits, err)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []resource.TestStep{
			{
				Config: config("write-only-secret-1", 1),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.Token == "write-only-secret-1" }),
					noSecretInState("write-only-secret-1"),
				),
			},
			// A new value without a new version is not compared, not sent.
			{
				Config: config("write-only-secret-2", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.Token == "write-only-secret-1" }),
			},
			// A new version sends it.
			{
				Config: config("write-only-secret-2", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.this", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.Token == "write-only-secret-2" }),
					noSecretInState("write-only-secret-2"),
				),
			},
			// A URL change keeps the write-only secret: it is sent again.
			{
				Config: hookConfig(host, tok, group, url+"/2", "  token_wo = \"write-only-secret-2\"\n  token_wo_version = 2"),
				Check:  checkHook(sim, url+"/2", func(h *gitlabtest.Hook) bool { return h.Token == "write-only-secret-2" }),
			},
		},
	})
}

// TestAccGroupHookMovedFromGitLab moves a hook created by a
// gitlab_group_hook into glsync_group_hook with a moved block: same hook,
// nothing re-created, nothing to change.
func TestAccGroupHookMovedFromGitLab(t *testing.T) {
	sim, org, host := simulator(t)
	tok := org.RootTokens[0]
	group := org.Roots[0].FullPath
	url := "https://glsync.example.com/integration/hook/moved"
	attrs := `
  token                     = "official-secret-1"
  push_events               = true
  merge_requests_events     = true
  note_events               = true
  push_events_branch_filter = "main"
  custom_headers = [{ key = "X-Catalog", value = "v1" }]
`
	official := fmt.Sprintf(`
provider "gitlab" {
  base_url = %q
  token    = %q
}
resource "gitlab_group_hook" "x" {
  group = %q
  url   = %q
%s
}
`, host, tok, group, url, attrs)
	moved := providerBlock(host, tok) + fmt.Sprintf(`
moved {
  from = gitlab_group_hook.x
  to   = glsync_group_hook.x
}
resource "glsync_group_hook" "x" {
  group = %q
  url   = %q
%s
}
`, group, url, attrs)
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
					return h.Token == "official-secret-1" && h.Events["note_events"]
				}),
			},
			{
				Config: moved,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.x", plancheck.ResourceActionNoop),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool {
						return h.ID == hookID && h.Token == "official-secret-1" && h.Events["note_events"] && h.CustomHeaders["X-Catalog"] == "v1"
					}),
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

// TestAccGroupHookRemovedAndImported is the migration guide's second path
// (Terraform before 1.8, OpenTofu): a removed block forgets the
// gitlab_group_hook without destroying the hook, an import block adopts it.
func TestAccGroupHookRemovedAndImported(t *testing.T) {
	sim, org, host := simulator(t)
	tok := org.RootTokens[0]
	group := org.Roots[0].FullPath
	url := "https://glsync.example.com/integration/hook/removed"
	official := fmt.Sprintf(`
provider "gitlab" {
  base_url = %q
  token    = %q
}
resource "gitlab_group_hook" "x" {
  group       = %q
  url         = %q
  token       = "official-secret-2"
  note_events = true
}
`, host, tok, group, url)
	hookID := sim.NextHookID() // the hook the first step creates
	migrated := func() string {
		return fmt.Sprintf(`
provider "gitlab" {
  base_url = %q
  token    = %q
}
removed {
  from = gitlab_group_hook.x
  lifecycle {
    destroy = false
  }
}
import {
  to = glsync_group_hook.this
  id = "%s:%d"
}
`, host, tok, group, hookID) + hookConfig(host, tok, group, url, `  token = "official-secret-2"
  note_events = true`)
	}
	factories := map[string]func() (tfprotov6.ProviderServer, error){
		"glsync": providers["glsync"],
		"gitlab": providerserver.NewProtocol6WithError(&officialProvider{}),
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_7_0)},
		Steps: []resource.TestStep{
			{
				Config: official,
				Check:  checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.ID == hookID && h.Events["note_events"] }),
			},
			{
				Config: migrated(),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// Only the secret GitLab never returns is sent again.
					plancheck.ExpectResourceAction("glsync_group_hook.this", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					h := hookByID(sim, hookID)
					if len(sim.Hooks()) != 1 || h == nil || h.Token != "official-secret-2" || !h.Events["note_events"] {
						return fmt.Errorf("hooks after the migration: %+v", sim.Hooks())
					}
					return nil
				},
			},
		},
	})
}

// TestAccSystemHookMovedFromGitLab: the same for gitlab_system_hook.
func TestAccSystemHookMovedFromGitLab(t *testing.T) {
	sim, org, host := simulator(t)
	url := "https://glsync.example.com/integration/system/hook"
	attrs := `
  token                    = "official-system-secret"
  merge_requests_events    = true
  repository_update_events = true
`
	official := fmt.Sprintf(`
provider "gitlab" {
  base_url = %q
  token    = %q
}
resource "gitlab_system_hook" "x" {
  url = %q
%s
}
`, host, org.AdminToken, url, attrs)
	moved := providerBlock(host, org.AdminToken) + fmt.Sprintf(`
moved {
  from = gitlab_system_hook.x
  to   = glsync_system_hook.x
}
resource "glsync_system_hook" "x" {
  url = %q
%s
}
`, url, attrs)
	factories := map[string]func() (tfprotov6.ProviderServer, error){
		"glsync": providers["glsync"],
		"gitlab": providerserver.NewProtocol6WithError(&officialProvider{}),
	}
	hookID := sim.NextHookID()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		Steps: []resource.TestStep{
			{
				Config: official,
				Check:  checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.ID == hookID && h.GroupID == 0 }),
			},
			{
				Config: moved,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_system_hook.x", plancheck.ResourceActionNoop),
				}},
				Check: checkHook(sim, url, func(h *gitlabtest.Hook) bool {
					return h.ID == hookID && len(sim.Hooks()) == 1 && h.Token == "official-system-secret" && h.Events["repository_update_events"]
				}),
			},
		},
	})
}
