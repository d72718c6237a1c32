package provider

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// hookConfig is a glsync_group_hook with the given body (attributes
// besides group and url).
func hookConfig(host, token, group, url, body string) string {
	return providerBlock(host, token) + fmt.Sprintf(`
resource "glsync_group_hook" "this" {
  group = %q
  url   = %q
%s
}
`, group, url, body)
}

// allAttributes sets every attribute a user can set, the way a
// gitlab_group_hook block does.
const allAttributes = `
  token                     = "first-secret-0001"
  name                      = "catalog"
  description               = "Catalog sync"
  enable_ssl_verification   = false
  push_events               = true
  push_events_branch_filter = "release/*"
  branch_filter_strategy    = "wildcard"
  merge_requests_events     = true
  note_events               = true
  issues_events             = false
  custom_webhook_template   = "{\"event\":\"{{object_kind}}\"}"
  custom_headers = [{ key = "X-Catalog", value = "header-secret" }]
  url_variables  = [{ key = "tenant", value = "acme" }]
`

// requiredProviders names the provider at the address the test harness
// serves it under.
func requiredProviders() string {
	host, ns := os.Getenv("TF_ACC_PROVIDER_HOST"), os.Getenv("TF_ACC_PROVIDER_NAMESPACE")
	if host == "" {
		host = "registry.terraform.io"
	}
	if ns == "" {
		ns = "hashicorp"
	}
	return fmt.Sprintf("terraform {\n  required_providers {\n    glsync = { source = \"%s/%s/glsync\" }\n  }\n}\n", host, ns)
}

func hookByID(sim *gitlabtest.Server, id int64) *gitlabtest.Hook {
	for _, h := range sim.Hooks() {
		if h.ID == id {
			h := h
			return &h
		}
	}
	return nil
}

// checkHook asserts what GitLab holds for the hook at url.
func checkHook(sim *gitlabtest.Server, url string, ok func(h *gitlabtest.Hook) bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		h := findHook(sim, url)
		if h == nil || !ok(h) {
			return fmt.Errorf("hook in GitLab: %+v", h)
		}
		return nil
	}
}

func TestAccGroupHookEveryAttribute(t *testing.T) {
	sim, org, host := simulator(t)
	tok := org.RootTokens[0]
	group := org.Roots[0].FullPath
	url := "https://glsync.example.com/integration/hook/{tenant}"
	url2 := "https://glsync2.example.com/integration/hook/{tenant}"
	var hookID int64
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			// Every attribute set reaches GitLab.
			{
				Config: hookConfig(host, tok, group, url, allAttributes),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool {
						hookID = h.ID
						return h.Token == "first-secret-0001" && h.Name == "catalog" && h.Description == "Catalog sync" && !h.EnableSSLVerification &&
							h.Events["push_events"] && h.Events["merge_requests_events"] && h.Events["note_events"] && !h.Events["issues_events"] &&
							h.PushEventsBranchFilter == "release/*" && h.BranchFilterStrategy == "wildcard" && h.CustomWebhookTemplate != "" &&
							h.CustomHeaders["X-Catalog"] == "header-secret" && h.URLVariables["tenant"] == "acme"
					}),
					resource.TestCheckResourceAttr("glsync_group_hook.this", "alert_status", "executable"),
					resource.TestCheckResourceAttrSet("glsync_group_hook.this", "created_at"),
					// Unset flags are read back as GitLab has them.
					resource.TestCheckResourceAttr("glsync_group_hook.this", "wiki_page_events", "false"),
				),
			},
			// Flags set by hand outside the configuration survive an
			// unrelated apply: the plan is empty, GitLab keeps them.
			{
				PreConfig: func() {
					sim.EditHook(hookID, func(h *gitlabtest.Hook) {
						h.Events["wiki_page_events"] = true
						h.Events["emoji_events"] = true
						// A flag of a newer GitLab no attribute knows yet.
						if h.ExtraFlags == nil {
							h.ExtraFlags = map[string]bool{}
						}
						h.ExtraFlags["future_events"] = true
					})
				},
				Config: hookConfig(host, tok, group, url, allAttributes),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool {
						return h.Events["wiki_page_events"] && h.Events["emoji_events"] && h.ExtraFlags["future_events"]
					}),
					resource.TestCheckResourceAttr("glsync_group_hook.this", "emoji_events", "true"),
				),
			},
			// Managed settings changed by hand show as drift and are repaired.
			{
				PreConfig: func() {
					sim.EditHook(hookID, func(h *gitlabtest.Hook) {
						h.Name = "renamed by hand"
						h.BranchFilterStrategy = "regex"
						h.Events["note_events"] = false
						h.EnableSSLVerification = true
					})
				},
				Config: hookConfig(host, tok, group, url, allAttributes),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.this", plancheck.ResourceActionUpdate),
				}},
				Check: checkHook(sim, url, func(h *gitlabtest.Hook) bool {
					return h.ID == hookID && h.Name == "catalog" && h.BranchFilterStrategy == "wildcard" && h.Events["note_events"] && !h.EnableSSLVerification
				}),
			},
			// A URL change with a known token keeps the hook and its secret.
			{
				Config: hookConfig(host, tok, group, url2, allAttributes),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.this", plancheck.ResourceActionUpdate),
				}},
				Check: checkHook(sim, url2, func(h *gitlabtest.Hook) bool { return h.ID == hookID && h.Token == "first-secret-0001" }),
			},
			// Back to defaults: the token removed is cleared in GitLab, TLS
			// verification returns to its default, the headers removed are
			// cleared; flags the configuration no longer sets stay as they are.
			{
				Config: hookConfig(host, tok, group, url2, `  push_events = true`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.this", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url2, func(h *gitlabtest.Hook) bool {
						return h.ID == hookID && h.Token == "" && h.EnableSSLVerification && len(h.CustomHeaders) == 0 && h.Events["merge_requests_events"]
					}),
					resource.TestCheckNoResourceAttr("glsync_group_hook.this", "token"),
				),
			},
			// GitLab stopped delivering after failures: the state says so,
			// and there is nothing to change.
			{
				PreConfig: func() { sim.DisableHook(hookID) },
				Config:    hookConfig(host, tok, group, url2, `  push_events = true`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: resource.TestCheckResourceAttr("glsync_group_hook.this", "alert_status", "disabled"),
			},
		},
	})
}

// TestAccGroupHookImport imports by numeric group id while the
// configuration names the group by path: no replacement, same hook.
func TestAccGroupHookImport(t *testing.T) {
	sim, org, host := simulator(t)
	tok := org.RootTokens[0]
	group := org.Roots[0].FullPath
	gid := sim.Group(group).ID
	url := "https://glsync.example.com/integration/hook/7"
	h := sim.AddHook(gitlabtest.Hook{GroupID: gid, URL: url, Token: "set-in-the-ui", EnableSSLVerification: true,
		Events: map[string]bool{"push_events": true, "issues_events": true}})
	// An import as the first step gets no generated required_providers:
	// name the provider as the test harness serves it (OpenTofu too).
	config := requiredProviders() + hookConfig(host, tok, group, url, `  issues_events = true`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config:             config,
				ResourceName:       "glsync_group_hook.this",
				ImportState:        true,
				ImportStateId:      fmt.Sprintf("%d:%d", gid, h.ID),
				ImportStatePersist: true,
				ImportStateCheck: func(s []*terraform.InstanceState) error {
					if len(s) != 1 || s[0].Attributes["group"] != group || s[0].Attributes["hook_id"] != strconv.FormatInt(h.ID, 10) {
						return fmt.Errorf("imported state %+v", s)
					}
					return nil
				},
			},
			// The same configuration plans nothing: no replacement.
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: checkHook(sim, url, func(g *gitlabtest.Hook) bool { return g.ID == h.ID && g.Token == "set-in-the-ui" }),
			},
			// Import by path gives the same state.
			{
				Config:            config,
				ResourceName:      "glsync_group_hook.this",
				ImportState:       true,
				ImportStateId:     fmt.Sprintf("%s:%d", group, h.ID),
				ImportStateVerify: true,
			},
			// A URL change while the secret is unknown: GitLab would drop
			// it, so the plan replaces the hook and says why.
			{
				Config: hookConfig(host, tok, group, url+"/moved", `  issues_events = true`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.this", plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: func(*terraform.State) error {
					if hookByID(sim, h.ID) != nil || findHook(sim, url+"/moved") == nil {
						return fmt.Errorf("hook not replaced: %+v", sim.Hooks())
					}
					return nil
				},
			},
		},
	})
}
