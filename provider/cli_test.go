package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAccNoTokenInCLIOutput builds the provider binary, installs it with
// dev_overrides (the README's local setup) and runs the real CLI: plan,
// apply and show must not print a token or a hook secret.
func TestAccNoTokenInCLIOutput(t *testing.T) {
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if os.Getenv("TF_ACC") == "" || tf == "" {
		t.Skip("set TF_ACC=1 and TF_ACC_TERRAFORM_PATH (make testacc)")
	}
	sim, org, host := simulator(t)
	admin := daemon(t, host, org, "")
	work, env := cliWorkdir(t, tf)
	secret := "hook-secret-never-printed-42"
	os.WriteFile(filepath.Join(work, "main.tf"), []byte(fmt.Sprintf(`
terraform {
  required_providers {
    glsync = { source = "glsync/glsync" }
  }
}
provider "glsync" {
  gitlab_host        = %q
  gitlab_token       = %q
  daemon_url         = %q
  daemon_admin_token = %q
}
resource "glsync_token_mapping" "m" {
  name     = "m"
  token    = %q
  patterns = ["**"]
}
resource "glsync_group_hook" "h" {
  group = %q
  url   = "https://glsync.example.com/integration/hook/1"
  token = %q
}
`, host, org.RootTokens[0], admin, testAdminToken, org.RootTokens[1], org.Roots[0].FullPath, secret)), 0o600)
	var all strings.Builder
	for _, args := range [][]string{{"plan", "-no-color"}, {"apply", "-auto-approve", "-no-color"}, {"show", "-no-color"}, {"plan", "-no-color", "-detailed-exitcode"}} {
		cmd := exec.Command(tf, args...)
		cmd.Dir = work
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", filepath.Base(tf), args, err, out)
		}
		all.Write(out)
	}
	text := all.String()
	for _, s := range []string{org.RootTokens[0], org.RootTokens[1], secret, testAdminToken} {
		if strings.Contains(text, s) {
			t.Fatalf("a secret appears in the CLI output:\n%s", text)
		}
	}
	if !strings.Contains(text, "(sensitive value)") {
		t.Fatalf("the plan should show sensitive values as (sensitive value):\n%s", text)
	}
	if len(sim.Hooks()) != 1 {
		t.Fatalf("apply did not create the hook: %d hooks", len(sim.Hooks()))
	}
	// Clean up through the CLI too.
	cmd := exec.Command(tf, "destroy", "-auto-approve", "-no-color")
	cmd.Dir = work
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("destroy: %v\n%s", err, out)
	}
}

// cliWorkdir builds the provider binary and returns a working directory
// whose environment installs it with dev_overrides (the README's local
// setup), for tests that read what the real CLI prints.
func cliWorkdir(t *testing.T, tf string) (string, []string) {
	t.Helper()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "terraform-provider-glsync"), "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	hostname := "registry.terraform.io"
	if os.Getenv("TF_ACC_PROVIDER_HOST") != "" {
		hostname = os.Getenv("TF_ACC_PROVIDER_HOST")
	}
	work := t.TempDir()
	rc := filepath.Join(work, "dev.tfrc")
	os.WriteFile(rc, []byte(fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n", hostname+"/glsync/glsync", bin)), 0o600)
	return work, append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1")
}

// TestAccManagedHooksPlanText: the plan the CLI prints for a flag turned
// off by hand names the hook and the flag (~ "push_events" = false ->
// true) and deletes nothing, where it used to print the hook's removal
// (- "acme" = 3 -> null).
func TestAccManagedHooksPlanText(t *testing.T) {
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if os.Getenv("TF_ACC") == "" || tf == "" {
		t.Skip("set TF_ACC=1 and TF_ACC_TERRAFORM_PATH (make testacc)")
	}
	sim, org, host := simulator(t)
	admin := daemon(t, host, org, "")
	work, env := cliWorkdir(t, tf)
	os.WriteFile(filepath.Join(work, "main.tf"), []byte(`
terraform {
  required_providers {
    glsync = { source = "glsync/glsync" }
  }
}
`+managedConfig(host, org.AdminToken, admin, "")), 0o600)
	run := func(args ...string) string {
		cmd := exec.Command(tf, args...)
		cmd.Dir = work
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil && !(args[0] == "plan" && cmd.ProcessState.ExitCode() == 2) {
			t.Fatalf("%s %v: %v\n%s", filepath.Base(tf), args, err, out)
		}
		return string(out)
	}
	run("apply", "-auto-approve", "-no-color")
	for _, h := range ourHooks(sim) {
		if h.GroupID == org.Roots[0].ID {
			events := map[string]bool{}
			for k, v := range h.Events {
				events[k] = v
			}
			events["push_events"] = false
			sim.SetHookEvents(h.ID, events)
		}
	}
	out := run("plan", "-no-color", "-detailed-exitcode")
	flag := regexp.MustCompile(`~\s+"?push_events"?\s+=\s+false\s+->\s+true`)
	if !flag.MatchString(out) || !strings.Contains(out, `"`+org.Roots[0].FullPath+`"`) || strings.Contains(out, "-> null") || !strings.Contains(out, "0 to add, 1 to change, 0 to destroy") {
		t.Fatalf("the plan does not name the flag that differs:\n%s", out)
	}
	if strings.Contains(out, org.AdminToken) || strings.Contains(out, testAdminToken) {
		t.Fatalf("a token appears in the plan:\n%s", out)
	}
	t.Logf("the plan:\n%s", out)
	run("destroy", "-auto-approve", "-no-color")
}
