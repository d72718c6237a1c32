package provider

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAccReadmeLocalSetup runs the README's "Use it locally" block as a
// user pastes it (make install, make dev-overrides, terraform validate of
// examples/complete) in a home directory of its own, so the block cannot
// drift from the GNUmakefile: the provider must land where the printed
// dev_overrides point, and Terraform must find it there without init.
func TestAccReadmeLocalSetup(t *testing.T) {
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if os.Getenv("TF_ACC") == "" || tf == "" {
		t.Skip("set TF_ACC=1 and TF_ACC_TERRAFORM_PATH (make testacc)")
	}
	if os.Getenv("TF_ACC_PROVIDER_HOST") != "" {
		// The README's block is written for Terraform's registry address;
		// OpenTofu resolves glsync/glsync under registry.opentofu.org.
		t.Skip("the README's local setup names Terraform's registry address")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)Use it locally, without a registry.*?```sh\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no \"Use it locally\" sh block")
	}
	block := string(m[1])

	home := t.TempDir()
	bin := filepath.Join(home, "bin")
	// terraform on PATH is the one under test; a symlink names it as the
	// README does.
	tfDir := filepath.Join(home, "tf")
	if err := os.MkdirAll(tfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(tf, filepath.Join(tfDir, "terraform")); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"HOME=" + home,
		"GOBIN=" + bin,
		"PATH=" + tfDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1",
	}
	// Go's caches stay where they are (a fresh HOME would rebuild the world).
	for _, k := range []string{"GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOFLAGS", "GONOSUMDB", "GOSUMDB"} {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, k+"="+strings.TrimSpace(string(out)))
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// validate writes nothing into examples/complete without init, but a
	// failed run could: leave the checkout as it was.
	t.Cleanup(func() {
		os.RemoveAll(filepath.Join(repo, "examples/complete/.terraform"))
		os.Remove(filepath.Join(repo, "examples/complete/.terraform.lock.hcl"))
	})
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
	cmd.Dir = repo
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's local setup failed: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(bin, "terraform-provider-glsync")); err != nil {
		t.Fatalf("make install did not put the provider in GOBIN: %v\n%s", err, out)
	}
	rc, err := os.ReadFile(filepath.Join(home, ".terraformrc-glsync"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rc), `"registry.terraform.io/glsync/glsync" = "`+bin+`"`) {
		t.Fatalf("dev_overrides do not point at make install's output %s:\n%s", bin, rc)
	}
	text := string(out)
	for _, want := range []string{"Provider development overrides are in effect", "The configuration is valid"} {
		if !strings.Contains(text, want) {
			t.Fatalf("terraform validate output lacks %q:\n%s", want, text)
		}
	}
}
