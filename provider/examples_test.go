package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// TestAccHookExamples applies every hook example the docs show to the
// simulator, then plans again: an example that does not apply, or does not
// converge, is a broken doc.
func TestAccHookExamples(t *testing.T) {
	for _, dir := range []string{"glsync_group_hook", "glsync_project_hook", "glsync_system_hook"} {
		files, err := filepath.Glob(filepath.Join("..", "examples", "resources", dir, "*.tf"))
		if err != nil || len(files) < 2 {
			t.Fatalf("%s: examples %v (%v)", dir, files, err)
		}
		for _, f := range files {
			if strings.HasPrefix(filepath.Base(f), "import") {
				continue // needs an existing hook: TestAccGroupHookImportBlock, TestAccProjectHookImportBlock
			}
			t.Run(dir+"/"+filepath.Base(f), func(t *testing.T) {
				body, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				sim, org, host := simulator(t)
				token := org.RootTokens[0]
				if dir == "glsync_system_hook" {
					token = org.AdminToken
				}
				checks := []tfversion.TerraformVersionCheck{}
				if strings.Contains(string(body), "token_wo") {
					checks = append(checks, tfversion.SkipBelow(tfversion.Version1_11_0))
				}
				vars := config.Variables{}
				for _, v := range []string{"hook_secret", "system_hook_secret", "proxy_secret"} {
					if strings.Contains(string(body), `variable "`+v+`"`) {
						vars[v] = config.StringVariable(v + "-value-0001")
					}
				}
				if strings.Contains(string(body), `variable "hook_signing_token"`) {
					vars["hook_signing_token"] = config.StringVariable("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
				}
				resource.Test(t, resource.TestCase{
					ProtoV6ProviderFactories: providers,
					TerraformVersionChecks:   checks,
					Steps: []resource.TestStep{
						{
							Config: providerBlock(host, token) + string(body), ConfigVariables: vars,
							Check: func(*terraform.State) error {
								if n := len(sim.Hooks()); n != 1 {
									return fmt.Errorf("%d hooks in GitLab, want 1", n)
								}
								if h := sim.Hooks()[0]; h.Token != "hook_secret-value-0001" && h.Token != "system_hook_secret-value-0001" {
									return fmt.Errorf("hook secret %q", h.Token)
								}
								if _, ok := vars["hook_signing_token"]; ok && sim.Hooks()[0].SigningToken == "" {
									return fmt.Errorf("signing token not sent")
								}
								return nil
							},
						},
						{
							Config: providerBlock(host, token) + string(body), ConfigVariables: vars,
							ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
						},
					},
				})
			})
		}
	}
}

// TestAccGroupHookImportBlock adopts a hook made by hand with the import
// block the docs show: the hook is kept (same id), only the settings the
// configuration manages change.
func TestAccGroupHookImportBlock(t *testing.T) {
	sim, org, host := simulator(t)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "examples", "resources", "glsync_group_hook", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	g := sim.Group("acme/DevopsTeam")
	if g == nil {
		t.Fatal("the simulator has no acme/DevopsTeam")
	}
	h := sim.AddHook(gitlabtest.Hook{GroupID: g.ID, URL: "https://glsync.example.com/integration/hook/1001", EnableSSLVerification: true,
		Events: map[string]bool{"push_events": true, "note_events": true}})
	importBlock := strings.Replace(read("import-by-string-id.tf"), ":42", fmt.Sprintf(":%d", h.ID), 1)
	cfg := providerBlock(host, org.RootTokens[0]) + read("resource.tf") + importBlock
	vars := config.Variables{"hook_secret": config.StringVariable("adopted-secret-0001")}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config: cfg, ConfigVariables: vars,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_group_hook.devops", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					got := hookByID(sim, h.ID)
					if len(sim.Hooks()) != 1 || got == nil || got.Token != "adopted-secret-0001" || !got.Events["pipeline_events"] || !got.Events["note_events"] {
						return fmt.Errorf("hooks after the import: %+v", sim.Hooks())
					}
					return nil
				},
			},
		},
	})
}

// TestAccProjectHookImportBlock adopts a project hook made by hand with the
// import block the docs show: the hook is kept (same id), and the
// configuration's settings are applied.
func TestAccProjectHookImportBlock(t *testing.T) {
	sim, org, host := simulator(t)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "examples", "resources", "glsync_project_hook", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pid := sim.FindProject("acme/MarketingTeam/RecommendationService")
	if pid == 0 {
		t.Fatal("the simulator has no acme/MarketingTeam/RecommendationService")
	}
	h := sim.AddHook(gitlabtest.Hook{ProjectID: pid, URL: "https://glsync.example.com/integration/hook/5000", EnableSSLVerification: true,
		Events: map[string]bool{"push_events": true, "note_events": true}})
	importBlock := strings.Replace(read("import-by-string-id.tf"), ":42", fmt.Sprintf(":%d", h.ID), 1)
	cfg := providerBlock(host, org.RootTokens[0]) + read("resource.tf") + importBlock
	vars := config.Variables{"hook_secret": config.StringVariable("adopted-secret-0001")}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config: cfg, ConfigVariables: vars,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_project_hook.recommendation", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					got := hookByID(sim, h.ID)
					if len(sim.Hooks()) != 1 || got == nil || got.Token != "adopted-secret-0001" || !got.Events["pipeline_events"] || !got.Events["note_events"] {
						return fmt.Errorf("hooks after the import: %+v", sim.Hooks())
					}
					return nil
				},
			},
		},
	})
}

// TestAccHookDataSourceExamples reads every hook data source example the
// docs show from the simulator, with the example's hook id 42 replaced by
// a hook the simulator has where the owner's hook is there.
func TestAccHookDataSourceExamples(t *testing.T) {
	sim, org, host := simulator(t)
	group := sim.Group("acme/DevopsTeam")
	pid := sim.FindProject("acme/MarketingTeam/RecommendationService")
	ids := map[string]int64{
		"glsync_group_hook":   sim.AddHook(gitlabtest.Hook{GroupID: group.ID, URL: "https://glsync.example.com/g"}).ID,
		"glsync_project_hook": sim.AddHook(gitlabtest.Hook{ProjectID: pid, URL: "https://glsync.example.com/p"}).ID,
		"glsync_system_hook":  sim.AddHook(gitlabtest.Hook{URL: "https://glsync.example.com/s"}).ID,
	}
	sim.AddHook(gitlabtest.Hook{GroupID: org.Roots[0].ID, URL: "https://glsync.example.com/root"})
	var body strings.Builder
	for _, name := range []string{"glsync_group_hook", "glsync_group_hooks", "glsync_project_hook", "glsync_project_hooks", "glsync_system_hook", "glsync_system_hooks"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", "data-sources", name, "data-source.tf"))
		if err != nil {
			t.Fatal(err)
		}
		body.WriteString(strings.Replace(string(b), "hook_id = 42", fmt.Sprintf("hook_id = %d", ids[name]), 1) + "\n")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{{
			Config: providerBlock(host, org.AdminToken) + body.String(),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("data.glsync_group_hook.devops", "url", "https://glsync.example.com/g"),
				resource.TestCheckResourceAttr("data.glsync_group_hooks.acme", "hooks.#", "1"),
				resource.TestCheckResourceAttr("data.glsync_project_hook.recommendation", "url", "https://glsync.example.com/p"),
				resource.TestCheckResourceAttr("data.glsync_project_hooks.recommendation", "hooks.#", "1"),
				resource.TestCheckResourceAttr("data.glsync_system_hook.glsync", "url", "https://glsync.example.com/s"),
				resource.TestCheckResourceAttr("data.glsync_system_hooks.all", "hooks.#", "1"),
				func(s *terraform.State) error {
					if o := s.RootModule().Outputs["disabled_hooks"]; o == nil || fmt.Sprint(o.Value) != "[]" {
						return fmt.Errorf("disabled_hooks = %+v", o)
					}
					return nil
				},
			),
		}},
	})
}
