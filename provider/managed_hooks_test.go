package provider

import (
	"context"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"testing"

	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

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
					resource.TestCheckResourceAttrSet("glsync_managed_hooks.this", "hooks."+org.Roots[0].FullPath+".hook_id")),
			},
			// A new root group without a hook shows in the plan.
			{
				PreConfig: func() { sim.AddGroup(nil, "NewRoot") },
				Config:    managedConfig(host, org.AdminToken, admin, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_managed_hooks.this", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(count(3), resource.TestCheckResourceAttrSet("glsync_managed_hooks.this", "hooks.NewRoot.hook_id")),
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

// flagChange checks the planned change of one managed hook's flag: the
// hook is updated in place (same hook_id before and after) and the flag
// goes from before to after, the attribute glsyncd hooks plan names
// ("events differ: push_events false→true"), not a deletion of the hook.
type flagChange struct {
	key, flag     string
	before, after bool
}

func (c flagChange) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != "glsync_managed_hooks.this" {
			continue
		}
		hook := func(v any) map[string]any {
			m, _ := v.(map[string]any)
			hs, _ := m["hooks"].(map[string]any)
			h, _ := hs[c.key].(map[string]any)
			return h
		}
		b, a := hook(rc.Change.Before), hook(rc.Change.After)
		if b == nil || a == nil {
			resp.Error = fmt.Errorf("hook %q missing before (%v) or after (%v) the change", c.key, b, a)
			return
		}
		bf, _ := b["flags"].(map[string]any)
		af, _ := a["flags"].(map[string]any)
		if bf[c.flag] != c.before || af[c.flag] != c.after {
			resp.Error = fmt.Errorf("%s.flags.%s planned %v -> %v, want %v -> %v", c.key, c.flag, bf[c.flag], af[c.flag], c.before, c.after)
			return
		}
		if b["hook_id"] == nil || b["hook_id"] != a["hook_id"] {
			resp.Error = fmt.Errorf("hook_id %v -> %v: want the hook kept", b["hook_id"], a["hook_id"])
			return
		}
		for f, v := range bf {
			if f != c.flag && af[f] != v {
				resp.Error = fmt.Errorf("flag %s also planned to change (%v -> %v)", f, v, af[f])
			}
		}
		return
	}
	resp.Error = fmt.Errorf("no change planned for glsync_managed_hooks.this")
}

// TestAccManagedHooksDriftNamesTheAttribute: a flag turned off by hand in
// GitLab shows in the plan as an in-place update of that flag of that
// hook (hooks["acme"].flags["push_events"]: false -> true, hook_id
// unchanged), and apply turns it back on; a duplicate hook shows in
// extra_hook_ids and is removed.
func TestAccManagedHooksDriftNamesTheAttribute(t *testing.T) {
	sim, org, host := simulator(t)
	admin := daemon(t, host, org, "")
	root := org.Roots[0].FullPath
	cfg := managedConfig(host, org.AdminToken, admin, "")
	hookOf := func(gid int64) *gitlabtest.Hook {
		for _, h := range ourHooks(sim) {
			if h.GroupID == gid {
				return &h
			}
		}
		return nil
	}
	gid := org.Roots[0].ID
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("glsync_managed_hooks.this", "hooks."+root+".flags.push_events", "true"),
					resource.TestCheckResourceAttr("glsync_managed_hooks.this", "hooks."+root+".secret_held", "true"),
					resource.TestCheckResourceAttr("glsync_managed_hooks.this", "hooks."+root+".url", fmt.Sprintf("%s/integration/hook/%d", managedApp, gid))),
			},
			{
				PreConfig: func() {
					h := hookOf(gid)
					events := map[string]bool{}
					for k, v := range h.Events {
						events[k] = v
					}
					events["push_events"] = false
					sim.SetHookEvents(h.ID, events)
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectNonEmptyPlan(),
					plancheck.ExpectResourceAction("glsync_managed_hooks.this", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("glsync_managed_hooks.this", tfjsonpath.New("hooks").AtMapKey(root).AtMapKey("flags").AtMapKey("push_events"), knownvalue.Bool(true)),
					flagChange{key: root, flag: "push_events", before: false, after: true},
				}},
				Check: func(*terraform.State) error {
					if h := hookOf(gid); h == nil || !h.Events["push_events"] {
						return fmt.Errorf("push_events not turned back on: %+v", h)
					}
					return nil
				},
			},
			{
				PreConfig: func() {
					sim.AddHook(gitlabtest.Hook{GroupID: gid, URL: fmt.Sprintf("%s/integration/hook/%d", managedApp, gid), Events: map[string]bool{"push_events": true}})
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("glsync_managed_hooks.this", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("glsync_managed_hooks.this", tfjsonpath.New("hooks").AtMapKey(root).AtMapKey("extra_hook_ids"), knownvalue.ListExact(nil)),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("glsync_managed_hooks.this", "hooks."+root+".extra_hook_ids.#", "0"),
					func(*terraform.State) error {
						if n := len(ourHooks(sim)); n != 2 {
							return fmt.Errorf("%d hooks, want 2 (duplicate not removed)", n)
						}
						return nil
					}),
			},
		},
	})
}

// TestManagedHooksStateUpgrade: a version 0 state (hooks: path → hook id)
// upgrades to the per-hook objects with the ids kept, so destroy still
// finds the hooks and the first refresh fills in the rest.
func TestManagedHooksStateUpgrade(t *testing.T) {
	ctx := context.Background()
	srv, err := providers["glsync"]()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{}); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{TypeName: "glsync_managed_hooks", Version: 0,
		RawState: &tfprotov6.RawState{JSON: []byte(`{"id":"https://glsync.example.com","app_host":"https://glsync.example.com","use_system_hook":false,` +
			`"patterns":null,"group_hooks_override":null,"hooks":{"acme":3,"(system)":7}}`)}})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("upgrade: %v %+v", err, resp.Diagnostics)
	}
	var sr fwresource.SchemaResponse
	(&managedHooksResource{}).Schema(ctx, fwresource.SchemaRequest{}, &sr)
	v, err := resp.UpgradedState.Unmarshal(sr.Schema.Type().TerraformType(ctx))
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]tftypes.Value
	v.As(&top)
	var hooksMap map[string]tftypes.Value
	top["hooks"].As(&hooksMap)
	for key, want := range map[string]int64{"acme": 3, "(system)": 7} {
		var obj map[string]tftypes.Value
		hooksMap[key].As(&obj)
		var id big.Float
		if err := obj["hook_id"].As(&id); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if got, _ := id.Int64(); got != want || !obj["url"].IsNull() {
			t.Fatalf("%s: hook_id %v url %v, want %d and null", key, got, obj["url"], want)
		}
	}
	var app string
	top["app_host"].As(&app)
	if app != "https://glsync.example.com" {
		t.Fatalf("app_host %q", app)
	}
}
