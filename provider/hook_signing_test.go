package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

const (
	signingToken1 = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	signingToken2 = "whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
)

// signing_token on glsync_group_hook: sent to GitLab (which reports
// signing_token_present), a bad format refused at plan time without being
// shown, a signing token GitLab lost (cleared by hand) planned as an
// update that sends it again, and removed from the configuration cleared
// in GitLab.
func TestAccGroupHookSigningToken(t *testing.T) {
	sim, org, host := simulator(t)
	tok := org.RootTokens[0]
	group := org.Roots[0].FullPath
	url := "https://glsync.example.com/integration/hook/signed"
	cfg := func(body string) string { return hookConfig(host, tok, group, url, body) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config:      cfg(`  signing_token = "whsec_not-32-bytes"`),
				ExpectError: regexp.MustCompile(`GitLab takes a signing token of the form whsec_`),
			},
			{
				Config: cfg(fmt.Sprintf("  token = \"legacy-secret-1\"\n  signing_token = %q", signingToken1)),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.SigningToken == signingToken1 && h.Token == "legacy-secret-1" }),
					resource.TestCheckResourceAttr("glsync_group_hook.this", "signing_token_present", "true"),
				),
			},
			// GitLab lost it: the refresh shows it, the plan sends it again.
			{
				PreConfig: func() { sim.EditHook(findHook(sim, url).ID, func(h *gitlabtest.Hook) { h.SigningToken = "" }) },
				Config:    cfg(fmt.Sprintf("  token = \"legacy-secret-1\"\n  signing_token = %q", signingToken1)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.this", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("glsync_group_hook.this", tfjsonpath.New("signing_token_present")),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.SigningToken == signingToken1 }),
					resource.TestCheckResourceAttr("glsync_group_hook.this", "signing_token_present", "true"),
				),
			},
			// Nothing changed: nothing to do.
			{
				Config: cfg(fmt.Sprintf("  token = \"legacy-secret-1\"\n  signing_token = %q", signingToken1)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
			// Removed: cleared in GitLab.
			{
				Config: cfg(`  token = "legacy-secret-1"`),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.SigningToken == "" && h.Token == "legacy-secret-1" }),
					resource.TestCheckResourceAttr("glsync_group_hook.this", "signing_token_present", "false"),
				),
			},
		},
	})
}

// signing_token on glsync_system_hook, and signing_token_present false
// where the feature flag is off: GitLab ignored the token.
func TestAccSystemHookSigningToken(t *testing.T) {
	sim, org, host := simulator(t)
	url := "https://glsync.example.com/integration/system/hook"
	cfg := providerBlock(host, org.AdminToken) + fmt.Sprintf(`
resource "glsync_system_hook" "this" {
  url           = %q
  token         = "system-hook-secret-123"
  signing_token = %q
}
`, url, signingToken2)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.SigningToken == signingToken2 && h.GroupID == 0 }),
					resource.TestCheckResourceAttr("glsync_system_hook.this", "signing_token_present", "true"),
				),
			},
			// The flag turned off and the token lost: every plan tries
			// again, each apply warns, and the state says false.
			{
				PreConfig: func() {
					sim.SetSigningSupport(gitlabtest.SigningFlagOff)
					sim.EditHook(findHook(sim, url).ID, func(h *gitlabtest.Hook) { h.SigningToken = "" })
				},
				Config:             cfg,
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.SigningToken == "" }),
					resource.TestCheckResourceAttr("glsync_system_hook.this", "signing_token_present", "false"),
				),
			},
		},
	})
}

// signing_token_wo: sent on create and when its version changes, never
// in the state files (Terraform 1.11+).
func TestAccGroupHookSigningTokenWriteOnly(t *testing.T) {
	work := t.TempDir()
	t.Setenv("TF_ACC_TEMP_DIR", work)
	sim, org, host := simulator(t)
	tok := org.RootTokens[0]
	group := org.Roots[0].FullPath
	url := "https://glsync.example.com/integration/hook/signed-wo"
	cfg := func(token string, version int) string {
		return hookConfig(host, tok, group, url, fmt.Sprintf("  signing_token_wo = %q\n  signing_token_wo_version = %d", token, version))
	}
	notInState := func(secret string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			hits, files, err := stateFilesContain(work, secret)
			if err != nil || files == 0 || len(hits) > 0 {
				return fmt.Errorf("state files %d, holding the signing token: %v (%v)", files, hits, err)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []resource.TestStep{
			{
				Config: cfg(signingToken1, 1),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.SigningToken == signingToken1 }),
					resource.TestCheckResourceAttr("glsync_group_hook.this", "signing_token_present", "true"),
					notInState(signingToken1),
				),
			},
			{
				Config: cfg(signingToken2, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
			{
				Config: cfg(signingToken2, 2),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.SigningToken == signingToken2 }),
					notInState(signingToken2),
				),
			},
			// Lost in GitLab: the write-only value is sent again.
			{
				PreConfig: func() { sim.EditHook(findHook(sim, url).ID, func(h *gitlabtest.Hook) { h.SigningToken = "" }) },
				Config:    cfg(signingToken2, 2),
				Check:     checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.SigningToken == signingToken2 }),
			},
		},
	})
}
