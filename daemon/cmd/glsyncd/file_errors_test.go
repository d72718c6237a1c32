package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
)

// A port.yml that is not valid YAML makes `glsyncd resync`, run as its
// own process, complete with a file error: exit 0, the summary names the
// project, the file and the reason, and the entities the file declared
// before stay in the catalog.
func TestResyncWithBrokenSpecFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs glsyncd in child processes")
	}
	s, org, url := sim(t)
	dir := t.TempDir()
	cfg, mfile := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "mapping.yaml")
	if err := writeConfig(cfg, url, demoMapping(org)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mfile, []byte("specPath: '**/port.yml'\nresources: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	resyncProcess := func() (int, string) {
		c := startChild(t, "resync", "--config", cfg, "--mapping", mfile, "--data-dir", data)
		_ = c.cmd.Wait()
		return c.cmd.ProcessState.ExitCode(), c.out.String()
	}
	if code, out := resyncProcess(); code != 0 || !strings.Contains(out, "resync 1 ok") {
		t.Fatalf("first resync: exit %d\n%s", code, out)
	}
	// The broken file is one the tokens' globs select: a project whose
	// runbook (declared in its port.yml) reached the catalog.
	listed := runCLI(t, nil, "catalog", "list", "--data-dir", data, "--blueprint", "runbook", "--output", "json").stdout
	var broken gitlabtest.ProjectInfo
	var runbook string
	for _, p := range s.Projects() {
		runbook = strings.ReplaceAll(p.PathWithNamespace, "/", "-") + "-runbook"
		if strings.Contains(listed, `"`+runbook+`"`) {
			broken = p
			break
		}
	}
	if broken.ID == 0 {
		t.Fatalf("no runbook in the catalog after the first resync:\n%s", listed)
	}

	s.SetFile(broken.ID, "port.yml", "- identifier: [unclosed\n")
	code, out := resyncProcess()
	if code != 0 {
		t.Fatalf("a broken file must not fail the resync: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"resync 2 " + resync.OutcomeFileErrors,
		fmt.Sprintf("file error: kind gitops, project %s, file port.yml at main: not valid YAML or JSON", broken.PathWithNamespace),
		`msg="file skipped: its entities are kept as they were until a commit fixes it"`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAILED") {
		t.Fatalf("a file error is not a failed kind:\n%s", out)
	}
	if r := runCLI(t, nil, "catalog", "list", "--data-dir", data, "--blueprint", "runbook", "--output", "json"); !strings.Contains(r.stdout, runbook) {
		t.Fatalf("%s, declared by the broken file, was deleted:\n%s", runbook, r.stdout)
	}
	for _, tok := range org.RootTokens {
		if strings.Contains(out, tok) {
			t.Fatal("a token appears in the output")
		}
	}
}

// glsyncd run with a token GitLab refuses (401): the first resync fails,
// so /readyz stays 503 and says why, and /status says what failed.
func TestNotReadyWhileResyncsFail(t *testing.T) {
	if testing.Short() {
		t.Skip("runs glsyncd in a child process")
	}
	_, _, url := sim(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	const refused = "glpat-refusedrefusedrefused"
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nadminToken: ready-admin-token-0123456789abcdefghij\nmaxRetries: 1\ntokenMapping:\n  %s: ['**']\n", url, refused)), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := freeAddr(t)
	c := startChild(t, "run", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--admin-listen", admin)
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+admin+path, nil)
		req.Header.Set("Authorization", "Bearer ready-admin-token-0123456789abcdefghij")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var status map[string]any
	waitFor(t, 30*time.Second, "the first resync to finish", func() bool {
		code, body := get("/status")
		if code != http.StatusOK || json.Unmarshal([]byte(body), &status) != nil {
			return false
		}
		_, ok := status["last_resync"]
		return ok
	})
	last, _ := status["last_resync"].(map[string]any)
	if last["ok"] != false || last["outcome"] != resync.OutcomeFailed || !strings.Contains(fmt.Sprint(last["failed_kinds"]), "project") ||
		!strings.Contains(fmt.Sprint(status["last_resync_error"]), "401") || !strings.Contains(fmt.Sprint(status["not_ready_reason"]), "401") {
		t.Fatalf("/status must say what failed: %v\n%s", status, c.out.String())
	}
	// Not ready, and not for a moment: no resync has completed.
	for range 5 {
		code, body := get("/readyz")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "first resync not completed") || !strings.Contains(body, "401") {
			t.Fatalf("/readyz with a refused token: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(c.out.String(), refused) {
		t.Fatal("the token appears in the daemon's output")
	}
}
