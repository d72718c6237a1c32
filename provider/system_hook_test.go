package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

func systemHookConfig(host, token, events string) string {
	return providerBlock(host, token) + fmt.Sprintf(`
resource "glsync_system_hook" "this" {
  url    = "https://glsync.example.com/integration/system/hook"
  events = %s
  token  = "system-hook-secret-123"
}
`, events)
}

func TestAccSystemHook(t *testing.T) {
	sim, org, host := simulator(t)
	url := "https://glsync.example.com/integration/system/hook"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		CheckDestroy: func(*terraform.State) error {
			if h := findHook(sim, url); h != nil {
				return fmt.Errorf("system hook %d still exists", h.ID)
			}
			return nil
		},
		Steps: []resource.TestStep{
			// A group token cannot create system hooks: say so.
			{
				Config:      systemHookConfig(host, org.RootTokens[0], `["push_events"]`),
				ExpectError: regexp.MustCompile(`system\s+hooks\s+need\s+an\s+administrator's\s+token`),
			},
			{
				Config:      systemHookConfig(host, org.AdminToken, `["issues_events"]`),
				ExpectError: regexp.MustCompile(`(?s)unsupported\s+event\s+"issues_events".*repository_update_events`),
			},
			{
				Config: systemHookConfig(host, org.AdminToken, `["push_events", "merge_requests_events"]`),
				Check: func(*terraform.State) error {
					h := findHook(sim, url)
					if h == nil || h.GroupID != 0 || !h.Events["push_events"] || !h.Events["merge_requests_events"] || h.Events["repository_update_events"] || h.Token != "system-hook-secret-123" {
						return fmt.Errorf("system hook in GitLab: %+v", h)
					}
					return nil
				},
			},
			{
				ResourceName: "glsync_system_hook.this", ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"token", "events"},
			},
			{
				PreConfig: func() { sim.SetHookEvents(findHook(sim, url).ID, map[string]bool{"push_events": true}) },
				Config:    systemHookConfig(host, org.AdminToken, `["push_events", "merge_requests_events"]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_system_hook.this", plancheck.ResourceActionUpdate),
				}},
			},
			{
				PreConfig: func() { sim.DeleteHook(findHook(sim, url).ID) },
				Config:    systemHookConfig(host, org.AdminToken, `["push_events", "merge_requests_events"]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_system_hook.this", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}
