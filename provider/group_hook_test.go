package provider

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

func groupHookConfig(host, token, group, url, events string) string {
	return providerBlock(host, token) + fmt.Sprintf(`
resource "glsync_group_hook" "this" {
  group  = %q
  url    = %q
  events = %s
  token  = "hook-secret-value-1234"
  push_events_branch_filter = "main"
}
`, group, url, events)
}

func findHook(sim *gitlabtest.Server, url string) *gitlabtest.Hook {
	for _, h := range sim.Hooks() {
		if h.URL == url {
			h := h
			return &h
		}
	}
	return nil
}

func TestAccGroupHook(t *testing.T) {
	sim, org, host := simulator(t)
	tok := org.RootTokens[0]
	group := org.Roots[0].FullPath + "/DevopsTeam"
	url := "https://glsync.example.com/integration/hook/1"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		CheckDestroy: func(*terraform.State) error {
			if h := findHook(sim, url); h != nil {
				return fmt.Errorf("hook %d still exists", h.ID)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: groupHookConfig(host, tok, group, url, `["push_events", "merge_requests_events"]`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("glsync_group_hook.this", "events.#", "2"),
					resource.TestCheckResourceAttr("glsync_group_hook.this", "group_id", strconv.FormatInt(sim.Group(group).ID, 10)),
					resource.TestCheckResourceAttrSet("glsync_group_hook.this", "hook_id"),
					func(*terraform.State) error {
						h := findHook(sim, url)
						if h == nil || !h.Events["push_events"] || !h.Events["merge_requests_events"] || h.Events["issues_events"] || h.Token != "hook-secret-value-1234" || h.PushEventsBranchFilter != "main" {
							return fmt.Errorf("hook in GitLab: %+v", h)
						}
						return nil
					},
				),
			},
			// Import by group path and hook id. GitLab never returns the token,
			// and events is a shorthand of the configuration: an import reads
			// the flags, which carry the same settings.
			{
				ResourceName:            "glsync_group_hook.this",
				ImportState:             true,
				ImportStateIdFunc:       func(*terraform.State) (string, error) { return fmt.Sprintf("%s:%d", group, findHook(sim, url).ID), nil },
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"token", "events"},
			},
			// Update in place: more events.
			{
				Config: groupHookConfig(host, tok, group, url, `["push_events", "merge_requests_events", "user_add_to_group"]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.this", plancheck.ResourceActionUpdate),
					// Terraform redacts it in plan and show output.
					plancheck.ExpectSensitiveValue("glsync_group_hook.this", tfjsonpath.New("token")),
				}},
				Check: func(*terraform.State) error {
					if h := findHook(sim, url); h == nil || !h.Events["member_events"] {
						return fmt.Errorf("member_events not enabled: %+v", h)
					}
					return nil
				},
			},
			// Drift: events changed by hand show as an in-place update.
			{
				PreConfig: func() {
					h := findHook(sim, url)
					sim.SetHookEvents(h.ID, map[string]bool{"push_events": true})
				},
				Config: groupHookConfig(host, tok, group, url, `["push_events", "merge_requests_events", "user_add_to_group"]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.this", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if h := findHook(sim, url); h == nil || !h.Events["merge_requests_events"] {
						return fmt.Errorf("drift not fixed: %+v", h)
					}
					return nil
				},
			},
			// Drift: deleted by hand is planned for creation again.
			{
				PreConfig: func() { sim.DeleteHook(findHook(sim, url).ID) },
				Config:    groupHookConfig(host, tok, group, url, `["push_events", "merge_requests_events", "user_add_to_group"]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.this", plancheck.ResourceActionCreate),
				}},
				Check: func(*terraform.State) error {
					if findHook(sim, url) == nil {
						return fmt.Errorf("hook not re-created")
					}
					return nil
				},
			},
			// The same group written as its id: updated in place, not
			// replaced (the plan modifier that decided this used to run
			// unconfigured and always replaced).
			{
				Config: groupHookConfig(host, tok, strconv.FormatInt(sim.Group(group).ID, 10), url, `["push_events", "merge_requests_events", "user_add_to_group"]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.this", plancheck.ResourceActionUpdate),
				}},
			},
			// Another group: replacement.
			{
				Config: groupHookConfig(host, tok, org.Roots[0].FullPath, url, `[]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.this", plancheck.ResourceActionDestroyBeforeCreate),
				}},
			},
		},
	})
}

func TestAccGroupHookValidation(t *testing.T) {
	_, org, host := simulator(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config:      groupHookConfig(host, org.RootTokens[0], "acme", "https://x.example.com/h", `["pipeline_evnts"]`),
				ExpectError: regexp.MustCompile(`(?s)unsupported\s+event\s+"pipeline_evnts".*job_events\s+\(also\s+jobs_events\).*pipeline_events\s+\(also\s+pipelines_events\)`),
			},
			{
				Config:      groupHookConfig(host, org.RootTokens[0], "acme", "ftp://x.example.com/h", `[]`),
				ExpectError: regexp.MustCompile(`url must be an http\(s\) URL`),
			},
			{
				Config:      groupHookConfig(host, "", "acme", "https://x.example.com/h", `[]`),
				ExpectError: regexp.MustCompile(`(?s)Missing GitLab token.*GITLAB_TOKEN`),
			},
		},
	})
}
