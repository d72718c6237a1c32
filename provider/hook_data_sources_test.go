package provider

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// TestAccHookDataSources: the six hook data sources read what the
// simulator has: one hook of a group, a project and the system by id
// (every flag, the branch filter, the alert status, signing_token_present,
// and no secret anywhere in the state), and each one's list (only that
// owner's hooks, in id order).
func TestAccHookDataSources(t *testing.T) {
	sim, org, host := simulator(t)
	group := org.Roots[0].FullPath + "/DevopsTeam"
	gid := sim.Group(group).ID
	p := ownProjects(sim, org, 0)[0]
	g1 := sim.AddHook(gitlabtest.Hook{GroupID: gid, URL: "https://a.example.com/g1", Token: "group-secret-1", SigningToken: signingToken1,
		Events: map[string]bool{"push_events": true, "member_events": true}, PushEventsBranchFilter: "main", EnableSSLVerification: true})
	g2 := sim.AddHook(gitlabtest.Hook{GroupID: gid, URL: "https://a.example.com/g2", Name: "second"})
	sim.AddHook(gitlabtest.Hook{GroupID: org.Roots[1].ID, URL: "https://a.example.com/other-root"})
	p1 := sim.AddHook(gitlabtest.Hook{ProjectID: p.ID, URL: "https://a.example.com/p1", Token: "project-secret-1",
		Events: map[string]bool{"job_events": true, "resource_deploy_token_events": true}, BranchFilterStrategy: "regex", PushEventsBranchFilter: "^rel"})
	sim.EditHook(p1.ID, func(h *gitlabtest.Hook) {
		h.AlertStatus, h.DisabledUntil = "temporarily_disabled", time.Now().Add(time.Hour).UTC()
	})
	s1 := sim.AddHook(gitlabtest.Hook{URL: "https://a.example.com/system", Token: "system-secret-1", Name: "sys",
		Events: map[string]bool{"repository_update_events": true}})
	cfg := providerBlock(host, org.AdminToken) + fmt.Sprintf(`
data "glsync_group_hook" "g1" {
  group   = %q
  hook_id = %d
}
data "glsync_group_hooks" "g" {
  group = %q
}
data "glsync_project_hook" "p1" {
  project = "%d"
  hook_id = %d
}
data "glsync_project_hooks" "p" {
  project = %q
}
data "glsync_system_hook" "s1" {
  hook_id = %d
}
data "glsync_system_hooks" "s" {}
`, group, g1.ID, group, p.ID, p1.ID, p.PathWithNamespace, s1.ID)
	noSecret := func(s *terraform.State) error {
		for addr, r := range s.RootModule().Resources {
			for k, v := range r.Primary.Attributes {
				if strings.Contains(v, "secret-1") || strings.Contains(v, "whsec_") || strings.Contains(k, "token") && !strings.HasSuffix(k, "_present") && !strings.HasSuffix(k, "token_events") {
					return fmt.Errorf("%s.%s = %q: a secret in the state", addr, k, v)
				}
			}
		}
		return nil
	}
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("data.glsync_group_hook.g1", "id", fmt.Sprintf("%d:%d", gid, g1.ID)),
				resource.TestCheckResourceAttr("data.glsync_group_hook.g1", "group_id", id(gid)),
				resource.TestCheckResourceAttr("data.glsync_group_hook.g1", "url", "https://a.example.com/g1"),
				resource.TestCheckResourceAttr("data.glsync_group_hook.g1", "member_events", "true"),
				resource.TestCheckResourceAttr("data.glsync_group_hook.g1", "issues_events", "false"),
				resource.TestCheckResourceAttr("data.glsync_group_hook.g1", "push_events_branch_filter", "main"),
				resource.TestCheckResourceAttr("data.glsync_group_hook.g1", "signing_token_present", "true"),
				resource.TestCheckResourceAttr("data.glsync_group_hooks.g", "hooks.#", "2"),
				resource.TestCheckResourceAttr("data.glsync_group_hooks.g", "id", id(gid)),
				resource.TestCheckResourceAttr("data.glsync_group_hooks.g", "hooks.0.hook_id", id(g1.ID)),
				resource.TestCheckResourceAttr("data.glsync_group_hooks.g", "hooks.0.group", group),
				resource.TestCheckResourceAttr("data.glsync_group_hooks.g", "hooks.1.hook_id", id(g2.ID)),
				resource.TestCheckResourceAttr("data.glsync_group_hooks.g", "hooks.1.name", "second"),
				resource.TestCheckResourceAttr("data.glsync_group_hooks.g", "hooks.1.signing_token_present", "false"),
				resource.TestCheckResourceAttr("data.glsync_project_hook.p1", "project", id(p.ID)),
				resource.TestCheckResourceAttr("data.glsync_project_hook.p1", "project_id", id(p.ID)),
				resource.TestCheckResourceAttr("data.glsync_project_hook.p1", "job_events", "true"),
				resource.TestCheckResourceAttr("data.glsync_project_hook.p1", "resource_deploy_token_events", "true"),
				resource.TestCheckResourceAttr("data.glsync_project_hook.p1", "repository_update_events", "false"),
				resource.TestCheckResourceAttr("data.glsync_project_hook.p1", "branch_filter_strategy", "regex"),
				resource.TestCheckResourceAttr("data.glsync_project_hook.p1", "alert_status", "temporarily_disabled"),
				resource.TestCheckResourceAttrSet("data.glsync_project_hook.p1", "disabled_until"),
				resource.TestCheckResourceAttr("data.glsync_project_hooks.p", "hooks.#", "1"),
				resource.TestCheckResourceAttr("data.glsync_project_hooks.p", "hooks.0.project", p.PathWithNamespace),
				resource.TestCheckResourceAttr("data.glsync_project_hooks.p", "hooks.0.url", "https://a.example.com/p1"),
				resource.TestCheckResourceAttr("data.glsync_system_hook.s1", "id", id(s1.ID)),
				resource.TestCheckResourceAttr("data.glsync_system_hook.s1", "name", "sys"),
				resource.TestCheckResourceAttr("data.glsync_system_hook.s1", "repository_update_events", "true"),
				resource.TestCheckResourceAttr("data.glsync_system_hook.s1", "push_events", "false"),
				resource.TestCheckResourceAttr("data.glsync_system_hooks.s", "hooks.#", "1"),
				resource.TestCheckResourceAttr("data.glsync_system_hooks.s", "hooks.0.hook_id", id(s1.ID)),
				noSecret,
			),
		}},
	})
}

// TestAccHookDataSourceErrors: a hook id GitLab does not have, and a
// project the token cannot see, are errors naming them.
func TestAccHookDataSourceErrors(t *testing.T) {
	sim, org, host := simulator(t)
	p := ownProjects(sim, org, 0)[0]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config:      providerBlock(host, org.RootTokens[0]) + fmt.Sprintf("data \"glsync_project_hook\" \"x\" {\n  project = %q\n  hook_id = 999999\n}\n", p.PathWithNamespace),
				ExpectError: regexp.MustCompile(`(?s)Cannot read the hook.*` + words(fmt.Sprintf("Project %q: hook 999999: GitLab has no such hook", p.PathWithNamespace))),
			},
			{
				Config:      providerBlock(host, org.RootTokens[1]) + fmt.Sprintf("data \"glsync_project_hooks\" \"x\" {\n  project = %q\n}\n", p.PathWithNamespace),
				ExpectError: regexp.MustCompile(`(?s)Cannot find the project.*` + words("GitLab does not know this project, or the token cannot see it")),
			},
		},
	})
}
