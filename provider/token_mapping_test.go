package provider

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/glsync/terraform-provider-glsync/daemon/service"
	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

const testAdminToken = "provider-test-admin-token-0123456789ab"

// daemon runs glsyncd in-process against the simulator and returns its
// admin URL. appHost may be empty.
func daemon(t *testing.T, host string, org gitlabtest.Org, appHost string) string {
	t.Helper()
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		TokenMapping: tokenmap.Mapping{{Token: org.RootTokens[0], Patterns: []string{"**"}}},
		GitLabHost:   host, AppHost: appHost, AdminToken: testAdminToken, MaxConcurrentRequests: 4, MaxRetries: 2,
		WebhookMaxBodyBytes: 1 << 20, EventWorkers: 2, HookReconcileInterval: time.Hour,
	}
	m, _ := mapping.Load("")
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := service.Start(ctx, service.Options{Config: cfg, Mapping: m, DataDir: t.TempDir(), WebhookListener: wl,
		AdminListen: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = svc.Wait() })
	return "http://" + svc.AdminAddr()
}

func mappingConfig(host, daemonURL, token, patterns, override string) string {
	return providerBlock(host, "", fmt.Sprintf("daemon_url = %q", daemonURL), fmt.Sprintf("daemon_admin_token = %q", testAdminToken)) + fmt.Sprintf(`
resource "glsync_token_mapping" "globex" {
  name     = "globex"
  token    = %q
  patterns = %s
  group_hooks_override = %s
}
`, token, patterns, override)
}

func TestAccTokenMapping(t *testing.T) {
	_, org, host := simulator(t)
	admin := daemon(t, host, org, "")
	api := adminapi.NewClient(admin, testAdminToken)
	tok := org.RootTokens[1]
	override := fmt.Sprintf(`{ %q = ["push_events"] }`, org.Roots[1].FullPath+"/DevopsTeam")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		CheckDestroy: func(*terraform.State) error {
			if _, err := api.GetTokenMapping(context.Background(), "globex"); err == nil {
				return fmt.Errorf("mapping still in glsyncd")
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: mappingConfig(host, admin, tok, `["**/DevopsTeam/*Service"]`, override),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("glsync_token_mapping.globex", "token_sha256", adminapi.TokenHash(tok)),
					func(*terraform.State) error {
						got, err := api.GetTokenMapping(context.Background(), "globex")
						if err != nil || got.Patterns[0] != "**/DevopsTeam/*Service" || len(got.GroupHooksOverride) != 1 {
							return fmt.Errorf("in glsyncd: %+v %v", got, err)
						}
						return nil
					},
				),
			},
			{
				Config: mappingConfig(host, admin, tok, `["**/DevopsTeam/*Service", "**/RnDTeam/**"]`, override),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_token_mapping.globex", plancheck.ResourceActionUpdate),
					// Terraform redacts it in plan and show output.
					plancheck.ExpectSensitiveValue("glsync_token_mapping.globex", tfjsonpath.New("token")),
				}},
			},
			{
				ResourceName: "glsync_token_mapping.globex", ImportState: true, ImportStateId: "globex",
				ImportStateVerify: true, ImportStateVerifyIgnore: []string{"token"},
			},
			// Drift: changed through the API outside Terraform.
			{
				PreConfig: func() {
					_, _ = api.PutTokenMapping(context.Background(), "globex", adminapi.TokenMappingInput{Token: tok, Patterns: []string{"**"}})
				},
				Config: mappingConfig(host, admin, tok, `["**/DevopsTeam/*Service", "**/RnDTeam/**"]`, override),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_token_mapping.globex", plancheck.ResourceActionUpdate),
				}},
			},
			// A new name replaces the mapping.
			{
				Config: strings.Replace(mappingConfig(host, admin, tok, `["**/DevopsTeam/*Service", "**/RnDTeam/**"]`, override), `name     = "globex"`, `name     = "globex2"`, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_token_mapping.globex", plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: func(*terraform.State) error {
					if _, err := api.GetTokenMapping(context.Background(), "globex"); err == nil {
						return fmt.Errorf("the old mapping is still in glsyncd")
					}
					_, err := api.GetTokenMapping(context.Background(), "globex2")
					return err
				},
			},
			{
				Config: mappingConfig(host, admin, tok, `["**/DevopsTeam/*Service", "**/RnDTeam/**"]`, override),
			},
			// Drift: deleted outside Terraform.
			{
				PreConfig: func() { _, _ = api.DeleteTokenMapping(context.Background(), "globex") },
				Config:    mappingConfig(host, admin, tok, `["**/DevopsTeam/*Service", "**/RnDTeam/**"]`, override),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_token_mapping.globex", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

func TestAccTokenMappingValidation(t *testing.T) {
	_, org, host := simulator(t)
	admin := daemon(t, host, org, "")
	tok := org.RootTokens[1]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{Config: mappingConfig(host, admin, tok, `["acme/[x"]`, `null`), ExpectError: regexp.MustCompile(`(?s)Invalid glob pattern.*invalid glob`)},
			{Config: mappingConfig(host, admin, tok, `[]`, `null`), ExpectError: regexp.MustCompile(`(?s)patterns.*at least 1`)},
			{Config: mappingConfig(host, admin, tok, `["**"]`, `{ "a/b" = ["pipeline_evnts"] }`), ExpectError: regexp.MustCompile(`(?s)unsupported\s+event\s+"pipeline_evnts";\s+accepted\s+events,\s+by\s+the\s+GitLab\s+flag\s+they\s+turn\s+on:\s+push_events`)},
			{Config: mappingConfig(host, admin, tok, `["**"]`, `{ "a/b" = [], "a/b/c" = [] }`), ExpectError: regexp.MustCompile(`(?s)groups "a/b" and "a/b/c" are hierarchical`)},
			{Config: mappingConfig(host, admin, tok, `["**"]`, `{ "a/b" = [], "a/b/" = [] }`), ExpectError: regexp.MustCompile(`(?s)group is listed twice`)},
			{Config: mappingConfig(host, admin, org.RootTokens[0], `["**"]`, `null`), ExpectError: regexp.MustCompile(`(?s)already configured in tokenMapping`)},
			{
				Config:      providerBlock(host, "") + "resource \"glsync_token_mapping\" \"x\" {\n  name = \"x\"\n  token = \"t\"\n  patterns = [\"**\"]\n}\n",
				ExpectError: regexp.MustCompile(`(?s)Missing glsyncd admin API settings.*GLSYNC_DAEMON_URL`),
			},
		},
	})
}
