package provider

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// words matches s in a diagnostic however Terraform wraps it.
func words(s string) string {
	parts := strings.Fields(s)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return strings.Join(parts, `\s+`)
}

func hooksAt(sim *gitlabtest.Server, url string) []gitlabtest.Hook {
	var out []gitlabtest.Hook
	for _, h := range sim.Hooks() {
		if h.URL == url {
			out = append(out, h)
		}
	}
	return out
}

// TestAccGroupHookWrongTokenKeepsState: a refresh with a valid token that
// cannot see the hook's group (GitLab: 404 Group Not Found) is an error
// naming the group and the token, masked; the state keeps the hook, so
// going back to the right token plans nothing and GitLab still has one
// hook at the URL (before, the hook left the state and the next apply
// created a second one).
func TestAccGroupHookWrongTokenKeepsState(t *testing.T) {
	sim, org, host := simulator(t)
	group := org.Roots[0].FullPath + "/DevopsTeam"
	url := "https://glsync.example.com/integration/hook/wrong-token"
	right, wrong := org.RootTokens[0], org.RootTokens[1]
	gid := sim.Group(group).ID
	one := func(*terraform.State) error {
		if n := len(hooksAt(sim, url)); n != 1 {
			return fmt.Errorf("%d hooks at %s, want 1", n, url)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{Config: groupHookConfig(host, right, group, url, `["push_events"]`), Check: one},
			{
				Config: groupHookConfig(host, wrong, group, url, `["push_events"]`),
				ExpectError: regexp.MustCompile(`(?s)Cannot read the hook's group.*` + words(fmt.Sprintf("Group %q (id %d) cannot be read with the provider's token %s", group, gid, tokenmap.Mask(wrong))) +
					`.*` + words("The hook is kept in the state")),
			},
			{
				Config: groupHookConfig(host, right, group, url, `["push_events"]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: one,
			},
		},
	})
}

// TestAccGroupHookExistingURL: creating a hook where one already delivers
// to the URL refuses with the terraform import command (the id
// ImportState takes, which the next step imports), and adopt_existing
// takes the hook over in place: same hook id, the configuration applied,
// no second hook; the plan after is empty.
func TestAccGroupHookExistingURL(t *testing.T) {
	sim, org, host := simulator(t)
	group := org.Roots[0].FullPath + "/DevopsTeam"
	url := "https://glsync.example.com/integration/hook/existing"
	pre := sim.AddHook(gitlabtest.Hook{GroupID: sim.Group(group).ID, URL: url, Events: map[string]bool{"push_events": true}})
	adopt := strings.Replace(groupHookConfig(host, org.RootTokens[0], group, url, `["push_events", "job_events"]`), "url    =", "adopt_existing = true\n  url    =", 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config: groupHookConfig(host, org.RootTokens[0], group, url, `["push_events", "job_events"]`),
				ExpectError: regexp.MustCompile(`(?s)A hook at this URL already exists.*` +
					words(fmt.Sprintf("terraform import <this resource's address> %s:%d", group, pre.ID)) + `.*` + words("adopt_existing = true")),
			},
			{
				Config: adopt,
				Check: resource.ComposeAggregateTestCheckFunc(
					func(*terraform.State) error {
						got := hooksAt(sim, url)
						if len(got) != 1 || got[0].ID != pre.ID || !got[0].Events["job_events"] || got[0].Token != "hook-secret-value-1234" {
							return fmt.Errorf("hooks at the URL after adopting hook %d: %+v", pre.ID, got)
						}
						return nil
					},
					func(s *terraform.State) error {
						return resource.TestCheckResourceAttr("glsync_group_hook.this", "hook_id", strconv.FormatInt(pre.ID, 10))(s)
					},
				),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// TestAccGroupHookImportCommandWorks: the id the refusal prints is one
// ImportState takes: imported, the hook is managed, not duplicated.
func TestAccGroupHookImportCommandWorks(t *testing.T) {
	sim, org, host := simulator(t)
	group := org.Roots[0].FullPath + "/DevopsTeam"
	url := "https://glsync.example.com/integration/hook/import"
	pre := sim.AddHook(gitlabtest.Hook{GroupID: sim.Group(group).ID, URL: url, Events: map[string]bool{"push_events": true}, Token: "hook-secret-value-1234", PushEventsBranchFilter: "main"})
	cfg := groupHookConfig(host, org.RootTokens[0], group, url, `["push_events"]`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config:      cfg,
				ExpectError: regexp.MustCompile(`(?s)` + words(fmt.Sprintf("terraform import <this resource's address> %s:%d", group, pre.ID))),
			},
			{
				// The id the refusal printed, in an import block (Terraform
				// 1.5+, OpenTofu): the same id terraform import takes.
				Config: cfg + fmt.Sprintf("import {\n  to = glsync_group_hook.this\n  id = %q\n}\n", fmt.Sprintf("%s:%d", group, pre.ID)),
				Check: func(*terraform.State) error {
					if got := hooksAt(sim, url); len(got) != 1 || got[0].ID != pre.ID {
						return fmt.Errorf("hooks after import and apply: %+v", got)
					}
					return nil
				},
			},
		},
	})
}

// TestAccSystemHookExistingURL: the system hook resource refuses and
// adopts the same way, with the import id <hook_id>.
func TestAccSystemHookExistingURL(t *testing.T) {
	sim, org, host := simulator(t)
	url := "https://glsync.example.com/integration/system/hook"
	pre := sim.AddHook(gitlabtest.Hook{URL: url, Events: map[string]bool{"push_events": true}})
	cfg := systemHookConfig(host, org.AdminToken, `["push_events", "merge_requests_events"]`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config:      cfg,
				ExpectError: regexp.MustCompile(`(?s)A hook at this URL already exists.*` + words(fmt.Sprintf("terraform import <this resource's address> %d", pre.ID))),
			},
			{
				Config: strings.Replace(cfg, "url    =", "adopt_existing = true\n  url    =", 1),
				Check: func(*terraform.State) error {
					got := hooksAt(sim, url)
					if len(got) != 1 || got[0].ID != pre.ID || !got[0].Events["merge_requests_events"] {
						return fmt.Errorf("system hooks after adopting %d: %+v", pre.ID, got)
					}
					return nil
				},
			},
		},
	})
}

// TestAccGroupHookEventAliases: events written as GitLab names them
// (job_events) or as the spec's example and Ocean's docs do
// (pipelines_events) are accepted, turn on their flags, and read back
// under the spelling written: the plan after apply is empty.
func TestAccGroupHookEventAliases(t *testing.T) {
	sim, org, host := simulator(t)
	group := org.Roots[0].FullPath + "/DevopsTeam"
	url := "https://glsync.example.com/integration/hook/aliases"
	flags := func(want ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			h := findHook(sim, url)
			for _, f := range want {
				if h == nil || !h.Events[f] {
					return fmt.Errorf("%s not on: %+v", f, h)
				}
			}
			return nil
		}
	}
	empty := resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config:           groupHookConfig(host, org.RootTokens[0], group, url, `["job_events", "pipelines_events"]`),
				ConfigPlanChecks: empty,
				Check: resource.ComposeAggregateTestCheckFunc(flags("job_events", "pipeline_events"),
					resource.TestCheckTypeSetElemAttr("glsync_group_hook.this", "events.*", "job_events"),
					resource.TestCheckTypeSetElemAttr("glsync_group_hook.this", "events.*", "pipelines_events"),
					resource.TestCheckResourceAttr("glsync_group_hook.this", "events.#", "2")),
			},
			{
				Config:           groupHookConfig(host, org.RootTokens[0], group, url, `["jobs_events", "pipeline_events", "merge-requests_events", "user_add_to_group"]`),
				ConfigPlanChecks: empty,
				Check: resource.ComposeAggregateTestCheckFunc(flags("job_events", "pipeline_events", "merge_requests_events", "member_events"),
					resource.TestCheckResourceAttr("glsync_group_hook.this", "events.#", "4")),
			},
		},
	})
}
