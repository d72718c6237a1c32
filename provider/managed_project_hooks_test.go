package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// glsync_managed_hooks with a personal access token: the personal
// project's hook is in the hooks map under project:alice/notes, a second
// plan is empty, and destroying the resource removes the project hook.
func TestAccManagedHooksPersonalProject(t *testing.T) {
	sim, org, host := simulator(t)
	ns := sim.AddUser(0, "alice", "Alice Liddell")
	notes := sim.AddProject(ns, "notes")
	sim.AddToken(gitlabtest.Token{Value: "glpat-alice-personal", Kind: gitlabtest.PersonalToken, UserID: ns.OwnerID})
	admin := daemon(t, host, org, "")
	projectHooks := func() int {
		n := 0
		for _, h := range ourHooks(sim) {
			if h.ProjectID == notes.ID {
				n++
			}
		}
		return n
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		CheckDestroy: func(*terraform.State) error {
			if n := projectHooks(); n != 0 {
				return fmt.Errorf("%d project hooks left", n)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: managedConfig(host, "glpat-alice-personal", admin, ""),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("glsync_managed_hooks.this", "hooks.%", "1"),
					resource.TestCheckResourceAttrSet("glsync_managed_hooks.this", "hooks.project:alice/notes.hook_id"),
					resource.TestCheckResourceAttr("glsync_managed_hooks.this", "hooks.project:alice/notes.url", fmt.Sprintf("%s/integration/project/hook/%d", managedApp, notes.ID)),
					func(*terraform.State) error {
						if n := projectHooks(); n != 1 {
							return fmt.Errorf("%d project hooks, want 1", n)
						}
						return nil
					}),
			},
			{
				Config: managedConfig(host, "glpat-alice-personal", admin, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
		},
	})
}
