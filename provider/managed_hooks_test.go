package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

const managedApp = "https://glsync.example.com"

func managedConfig(host, token, admin, extra string) string {
	return providerBlock(host, token, fmt.Sprintf("daemon_url = %q", admin), fmt.Sprintf("daemon_admin_token = %q", testAdminToken)) + fmt.Sprintf(`
resource "glsync_managed_hooks" "this" {
  app_host = %q
  %s
}
`, managedApp, extra)
}

func ourHooks(sim *gitlabtest.Server) []gitlabtest.Hook {
	var out []gitlabtest.Hook
	for _, h := range sim.Hooks() {
		if strings.HasPrefix(h.URL, managedApp) {
			out = append(out, h)
		}
	}
	return out
}

func TestAccManagedHooks(t *testing.T) {
	sim, org, host := simulator(t)
	admin := daemon(t, host, org, "")
	secrets := adminapi.Secrets{C: adminapi.NewClient(admin, testAdminToken)}
	count := func(n int) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if got := len(ourHooks(sim)); got != n {
				return fmt.Errorf("%d glsync hooks in GitLab, want %d", got, n)
			}
			for _, h := range ourHooks(sim) {
				if _, ok, _ := secrets.HookSecret(context.Background(), fmt.Sprintf("group:%d", h.GroupID)); !ok {
					return fmt.Errorf("glsyncd does not hold the secret of the hook on group %d", h.GroupID)
				}
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		CheckDestroy: func(*terraform.State) error {
			if n := len(ourHooks(sim)); n != 0 {
				return fmt.Errorf("%d hooks left", n)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config:      managedConfig(host, org.AdminToken, admin, `group_hooks_override = { "a/b" = [], "a/b/c" = ["pushes"] }`),
				ExpectError: regexp.MustCompile(`(?s)unsupported event "pushes".*groups "a/b" and "a/b/c" are hierarchical`),
			},
			{
				Config: managedConfig(host, org.AdminToken, admin, ""),
				Check: resource.ComposeAggregateTestCheckFunc(count(2),
					resource.TestCheckResourceAttr("glsync_managed_hooks.this", "hooks.%", "2"),
					resource.TestCheckResourceAttrSet("glsync_managed_hooks.this", "hooks."+org.Roots[0].FullPath)),
			},
			// A new root group without a hook shows in the plan.
			{
				PreConfig: func() { sim.AddGroup(nil, "NewRoot") },
				Config:    managedConfig(host, org.AdminToken, admin, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_managed_hooks.this", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(count(3), resource.TestCheckResourceAttrSet("glsync_managed_hooks.this", "hooks.NewRoot")),
			},
			// A hook deleted by hand shows in the plan and comes back.
			{
				PreConfig: func() { sim.DeleteHook(ourHooks(sim)[0].ID) },
				Config:    managedConfig(host, org.AdminToken, admin, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_managed_hooks.this", plancheck.ResourceActionUpdate),
				}},
				Check: count(3),
			},
			{
				ResourceName: "glsync_managed_hooks.this", ImportState: true, ImportStateId: managedApp, ImportStateVerify: true,
			},
			// Nothing changed: an empty plan.
			{
				Config: managedConfig(host, org.AdminToken, admin, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
			// The override mapping: one hook, the others removed.
			{
				Config: managedConfig(host, org.AdminToken, admin, fmt.Sprintf(`group_hooks_override = { %q = ["push_events"] }`, org.Roots[0].FullPath+"/DevopsTeam")),
				Check: resource.ComposeAggregateTestCheckFunc(count(1), func(*terraform.State) error {
					h := ourHooks(sim)[0]
					if h.GroupID != sim.Group(org.Roots[0].FullPath+"/DevopsTeam").ID || !h.Events["push_events"] || h.Events["issues_events"] {
						return fmt.Errorf("override hook %+v", h)
					}
					return nil
				}),
			},
		},
	})
}
