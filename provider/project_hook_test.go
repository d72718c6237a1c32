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
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// ownProjects are the projects of org's root i that no other root shares,
// so only RootTokens[i] can manage their hooks.
func ownProjects(sim *gitlabtest.Server, org gitlabtest.Org, i int) []gitlabtest.ProjectInfo {
	var out []gitlabtest.ProjectInfo
	for _, p := range sim.Projects() {
		if strings.HasPrefix(p.PathWithNamespace, org.Roots[i].FullPath+"/") && len(p.SharedWith) == 0 && !p.Archived {
			out = append(out, p)
		}
	}
	return out
}

// projectHookConfig is a glsync_project_hook with the given body
// (attributes besides project and url).
func projectHookConfig(host, token, project, url, body string) string {
	return providerBlock(host, token) + fmt.Sprintf(`
resource "glsync_project_hook" "this" {
  project = %q
  url     = %q
%s
}
`, project, url, body)
}

// projectAttributes sets what a gitlab_project_hook block sets, with the
// events short form (jobs_events is the spec's name of job_events) and
// the project-only resource_deploy_token_events.
const projectAttributes = `
  token                        = "project-secret-0001"
  name                         = "catalog"
  events                       = ["push_events", "jobs_events", "merge_requests_events"]
  note_events                  = true
  resource_deploy_token_events = true
  push_events_branch_filter    = "release/*"
  branch_filter_strategy       = "wildcard"
  custom_webhook_template      = "{\"event\":\"{{object_kind}}\"}"
  custom_headers = [{ key = "X-Catalog", value = "header-secret" }]
`

// TestAccProjectHook: created with every kind of attribute (GitLab has
// them, token and header value included), imported by path and by id
// (the same state), updated in place, drift in the flags and a hook
// deleted by hand planned and fixed, and another project replaces it.
func TestAccProjectHook(t *testing.T) {
	sim, org, host := simulator(t)
	tok := org.RootTokens[0]
	projects := ownProjects(sim, org, 0)
	p, other := projects[0], projects[1]
	url := "https://glsync.example.com/integration/hook/project"
	cfg := func(project, body string) string { return projectHookConfig(host, tok, project, url, body) }
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
				Config: cfg(p.PathWithNamespace, projectAttributes),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("glsync_project_hook.this", "project_id", strconv.FormatInt(p.ID, 10)),
					resource.TestCheckResourceAttrSet("glsync_project_hook.this", "hook_id"),
					resource.TestCheckResourceAttr("glsync_project_hook.this", "events.#", "3"),
					resource.TestCheckResourceAttr("glsync_project_hook.this", "issues_events", "false"),
					resource.TestCheckResourceAttr("glsync_project_hook.this", "repository_update_events", "false"),
					resource.TestCheckResourceAttr("glsync_project_hook.this", "alert_status", "executable"),
					func(s *terraform.State) error {
						h := findHook(sim, url)
						want := fmt.Sprintf("%d:%d", p.ID, h.ID)
						return resource.TestCheckResourceAttr("glsync_project_hook.this", "id", want)(s)
					},
					checkHook(sim, url, func(h *gitlabtest.Hook) bool {
						return h.ProjectID == p.ID && h.GroupID == 0 && h.Token == "project-secret-0001" && h.Name == "catalog" &&
							h.Events["push_events"] && h.Events["job_events"] && h.Events["merge_requests_events"] && h.Events["note_events"] &&
							h.Events["resource_deploy_token_events"] && !h.Events["pipeline_events"] &&
							h.PushEventsBranchFilter == "release/*" && h.CustomHeaders["X-Catalog"] == "header-secret"
					}),
				),
			},
			// Import by path with namespace and hook id: GitLab never returns
			// the token nor header values, and events is the configuration's
			// shorthand of the flags the import reads.
			{
				ResourceName: "glsync_project_hook.this",
				ImportState:  true,
				ImportStateIdFunc: func(*terraform.State) (string, error) {
					return fmt.Sprintf("%s:%d", p.PathWithNamespace, findHook(sim, url).ID), nil
				},
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"token", "events", "custom_headers"},
			},
			// By project id: the same state (project is the path).
			{
				ResourceName:            "glsync_project_hook.this",
				ImportState:             true,
				ImportStateIdFunc:       func(*terraform.State) (string, error) { return fmt.Sprintf("%d:%d", p.ID, findHook(sim, url).ID), nil },
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"token", "events", "custom_headers"},
			},
			// Update in place: one more event, a new token (sensitive in
			// the plan).
			{
				Config: cfg(p.PathWithNamespace, strings.Replace(strings.Replace(projectAttributes, `"merge_requests_events"]`, `"merge_requests_events", "pipelines_events"]`, 1),
					"project-secret-0001", "project-secret-0002", 1)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_project_hook.this", plancheck.ResourceActionUpdate),
					plancheck.ExpectSensitiveValue("glsync_project_hook.this", tfjsonpath.New("token")),
				}},
				Check: checkHook(sim, url, func(h *gitlabtest.Hook) bool {
					return h.Events["pipeline_events"] && h.Token == "project-secret-0002"
				}),
			},
			// Drift: flags changed by hand are planned back.
			{
				PreConfig: func() { sim.SetHookEvents(findHook(sim, url).ID, map[string]bool{"push_events": true}) },
				Config: cfg(p.PathWithNamespace, strings.Replace(strings.Replace(projectAttributes, `"merge_requests_events"]`, `"merge_requests_events", "pipelines_events"]`, 1),
					"project-secret-0001", "project-secret-0002", 1)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_project_hook.this", plancheck.ResourceActionUpdate),
				}},
				Check: checkHook(sim, url, func(h *gitlabtest.Hook) bool {
					return h.Events["job_events"] && h.Events["pipeline_events"] && h.Events["resource_deploy_token_events"]
				}),
			},
			// Deleted by hand: planned for creation again.
			{
				PreConfig: func() { sim.DeleteHook(findHook(sim, url).ID) },
				Config:    cfg(p.PathWithNamespace, projectAttributes),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_project_hook.this", plancheck.ResourceActionCreate),
				}},
				Check: checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.ProjectID == p.ID }),
			},
			// The same project written as its id: nothing to do.
			{
				Config: cfg(strconv.FormatInt(p.ID, 10), projectAttributes),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_project_hook.this", plancheck.ResourceActionUpdate),
				}},
			},
			// Another project: replaced.
			{
				Config: cfg(other.PathWithNamespace, projectAttributes),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_project_hook.this", plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.ProjectID == other.ID }),
			},
		},
	})
}

// TestAccProjectHookExistingURL: a hook already at the URL on the project
// is not duplicated: create refuses with the import id, which imports it;
// adopt_existing takes it over in place (same hook id, configuration
// applied, empty plan after).
func TestAccProjectHookExistingURL(t *testing.T) {
	sim, org, host := simulator(t)
	p := ownProjects(sim, org, 0)[0]
	url := "https://glsync.example.com/integration/hook/project-existing"
	pre := sim.AddHook(gitlabtest.Hook{ProjectID: p.ID, URL: url, Events: map[string]bool{"push_events": true}})
	body := `  token = "adopted-secret-1"
  events = ["push_events", "job_events"]`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config: projectHookConfig(host, org.RootTokens[0], p.PathWithNamespace, url, body),
				ExpectError: regexp.MustCompile(`(?s)A hook at this URL already exists.*` +
					words(fmt.Sprintf("Project %q (id %d) already has hook %d", p.PathWithNamespace, p.ID, pre.ID)) + `.*` +
					words(fmt.Sprintf("terraform import <this resource's address> %s:%d", p.PathWithNamespace, pre.ID)) + `.*` +
					words("glsync_project_hook.this") + `.*` + words("adopt_existing = true")),
			},
			{
				Config: projectHookConfig(host, org.RootTokens[0], p.PathWithNamespace, url, body+"\n  adopt_existing = true"),
				Check: resource.ComposeAggregateTestCheckFunc(
					func(*terraform.State) error {
						got := hooksAt(sim, url)
						if len(got) != 1 || got[0].ID != pre.ID || !got[0].Events["job_events"] || got[0].Token != "adopted-secret-1" {
							return fmt.Errorf("hooks at the URL after adopting hook %d: %+v", pre.ID, got)
						}
						return nil
					},
					resource.TestCheckResourceAttr("glsync_project_hook.this", "hook_id", strconv.FormatInt(pre.ID, 10)),
				),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// TestAccProjectHookImportCommandWorks: the import id the refusal prints
// is one an import block takes; the hook is then managed, not duplicated.
func TestAccProjectHookImportCommandWorks(t *testing.T) {
	sim, org, host := simulator(t)
	p := ownProjects(sim, org, 0)[0]
	url := "https://glsync.example.com/integration/hook/project-import"
	pre := sim.AddHook(gitlabtest.Hook{ProjectID: p.ID, URL: url, Events: map[string]bool{"push_events": true}})
	cfg := projectHookConfig(host, org.RootTokens[0], p.PathWithNamespace, url, `  events = ["push_events"]`) +
		fmt.Sprintf("import {\n  to = glsync_project_hook.this\n  id = \"%s:%d\"\n}\n", p.PathWithNamespace, pre.ID)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: func(*terraform.State) error {
				if got := hooksAt(sim, url); len(got) != 1 || got[0].ID != pre.ID {
					return fmt.Errorf("hooks at the URL: %+v", got)
				}
				return nil
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		}},
	})
}

// TestAccProjectHookWrongTokenKeepsState: a token that cannot read the
// project (GitLab's 404 for the hook too) is an error naming the project
// and the masked token, and the state keeps the hook: back with the right
// token nothing is planned and GitLab still has one hook at the URL.
func TestAccProjectHookWrongTokenKeepsState(t *testing.T) {
	sim, org, host := simulator(t)
	p := ownProjects(sim, org, 0)[0]
	url := "https://glsync.example.com/integration/hook/project-wrong-token"
	right, wrong := org.RootTokens[0], org.RootTokens[1]
	one := func(*terraform.State) error {
		if n := len(hooksAt(sim, url)); n != 1 {
			return fmt.Errorf("%d hooks at %s, want 1", n, url)
		}
		return nil
	}
	body := `  events = ["push_events"]`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{Config: projectHookConfig(host, right, p.PathWithNamespace, url, body), Check: one},
			{
				Config: projectHookConfig(host, wrong, p.PathWithNamespace, url, body),
				ExpectError: regexp.MustCompile(`(?s)Cannot read the hook's project.*` +
					words(fmt.Sprintf("Project %q (id %d) cannot be read with the provider's token %s", p.PathWithNamespace, p.ID, tokenmap.Mask(wrong))) +
					`.*` + words("The hook is kept in the state")),
			},
			{
				Config:           projectHookConfig(host, right, p.PathWithNamespace, url, body),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            one,
			},
		},
	})
}

// TestAccProjectHookSigningToken: signing_token reaches GitLab, which
// reports signing_token_present; removed, it is cleared.
func TestAccProjectHookSigningToken(t *testing.T) {
	sim, org, host := simulator(t)
	p := ownProjects(sim, org, 0)[0]
	url := "https://glsync.example.com/integration/hook/project-signed"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config: projectHookConfig(host, org.RootTokens[0], p.PathWithNamespace, url, fmt.Sprintf("  signing_token = %q", signingToken1)),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.SigningToken == signingToken1 }),
					resource.TestCheckResourceAttr("glsync_project_hook.this", "signing_token_present", "true"),
				),
			},
			{
				Config: projectHookConfig(host, org.RootTokens[0], p.PathWithNamespace, url, ""),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkHook(sim, url, func(h *gitlabtest.Hook) bool { return h.SigningToken == "" }),
					resource.TestCheckResourceAttr("glsync_project_hook.this", "signing_token_present", "false"),
				),
			},
		},
	})
}

// TestAccProjectHookValidation: events takes the project hook's names
// only (a group-only event is refused, listing the accepted spellings),
// and an unknown project is named.
func TestAccProjectHookValidation(t *testing.T) {
	_, org, host := simulator(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config:      projectHookConfig(host, org.RootTokens[0], "acme/x", "https://x.example.com/h", `  events = ["subgroup_events"]`),
				ExpectError: regexp.MustCompile(`(?s)unsupported\s+event\s+"subgroup_events".*resource_deploy_token_events`),
			},
			{
				Config:      projectHookConfig(host, org.RootTokens[0], "acme/no-such-project", "https://x.example.com/h", `  events = ["push_events"]`),
				ExpectError: regexp.MustCompile(`(?s)Cannot find the project.*` + words(`project "acme/no-such-project": GitLab does not know this project`)),
			},
		},
	})
}
