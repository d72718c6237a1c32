package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
)

// projectHooksOf are the simulator's hooks on one project.
func projectHooksOf(sim *gitlabtest.Server, projectID int64) []gitlabtest.Hook {
	var out []gitlabtest.Hook
	for _, h := range sim.Hooks() {
		if h.ProjectID == projectID {
			out = append(out, h)
		}
	}
	return out
}

// TestPersonalProjectHookEndToEnd: glsyncd run with appHost puts a project
// hook on a personal project (no group hook covers it), taking over the
// hook Ocean v2 left there rather than adding a second; a push to the
// project reaches the catalog through that hook (an event, not a
// resync); a token GitLab refuses project hooks to (a read_api token,
// 403) is skipped with a warning while the rest runs; a second run on a
// fresh data directory adopts glsync's hook instead of duplicating it.
func TestPersonalProjectHookEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons in child processes")
	}
	sim := gitlabtest.New(gitlabtest.Options{Seed: 23})
	sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 5, Seed: 23})
	alice := sim.AddUser(0, "alice", "Alice Liddell")
	notes := sim.AddProject(alice, "notes")
	bob := sim.AddUser(0, "bob", "Bob Builder")
	diary := sim.AddProject(bob, "diary")
	sim.AddToken(gitlabtest.Token{Value: "glpat-alice-personal-token-0001", Kind: gitlabtest.PersonalToken, UserID: alice.OwnerID})
	sim.AddToken(gitlabtest.Token{Value: "glpat-bob-readonly-token-00002", Kind: gitlabtest.PersonalToken, UserID: bob.OwnerID, Scopes: []string{"read_api"}})
	ts := sim.Start(t)
	hookAddr := freeAddr(t)
	ocean := sim.AddHook(gitlabtest.Hook{ProjectID: notes.ID, URL: "http://" + hookAddr + hooks.OceanWebhookPath,
		Events: map[string]bool{"push_events": true, "merge_requests_events": true}})

	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nappHost: http://%s\nwebhookSecret: m4ster-secret-never-logged-Zq81\ntokenMapping:\n  glpat-alice-personal-token-0001: ['**']\n  glpat-bob-readonly-token-00002: ['**']\n",
		ts.URL, hookAddr)), 0o600)
	start := func(data string) (*child, string) {
		admin := freeAddr(t)
		return startChild(t, "run", "--config", cfg, "--data-dir", filepath.Join(dir, data), "--listen", hookAddr, "--admin-listen", admin), admin
	}
	first, admin := start("data")
	want := "http://" + hookAddr + hooks.ProjectHookPath + strconv.FormatInt(notes.ID, 10)
	waitFor(t, 20*time.Second, "Ocean's project hook taken over", func() bool {
		hs := projectHooksOf(sim, notes.ID)
		return len(hs) == 1 && hs[0].URL == want
	})
	if hs := projectHooksOf(sim, notes.ID); hs[0].ID != ocean.ID || hs[0].Token == "" || !hs[0].Events["pipeline_events"] {
		t.Fatalf("adopted hook: %+v", hs[0])
	}
	waitFor(t, 20*time.Second, "start-up resync", func() bool { return metric(t, admin, `glsync_resync_runs_total{result="ok"} 1`) })
	waitFor(t, 5*time.Second, "403 warning", func() bool { return strings.Contains(first.out.String(), "project hook skipped") })
	if len(projectHooksOf(sim, diary.ID)) != 0 {
		t.Fatal("a hook on bob's project despite the 403")
	}
	if out := listCatalog(t, dir); !strings.Contains(out, "alice/notes") || !strings.Contains(out, "bob/diary") {
		t.Fatalf("personal projects not synced:\n%s", out)
	}

	sim.UpdateProject(notes.ID, func(p *gitlabtest.Project) { p.Description = "changed-then-pushed" })
	ds := sim.Push(context.Background(), notes.ID)
	if len(ds) != 1 || ds[0].Status != http.StatusAccepted || ds[0].URL != want {
		t.Fatalf("push deliveries: %v", ds)
	}
	waitFor(t, 10*time.Second, "push applied", func() bool {
		return metric(t, admin, `glsync_events_processed_total{event="Push Hook",outcome="applied"} 1`)
	})
	if !metric(t, admin, `glsync_resync_runs_total{result="ok"} 1`) {
		t.Fatal("a resync ran: the change must come from the event")
	}
	if out := listCatalog(t, dir); !strings.Contains(out, "changed-then-pushed") {
		t.Fatalf("the pushed change is not in the catalog:\n%s", out)
	}
	_ = first.cmd.Process.Kill()
	_ = first.cmd.Wait()

	second, _ := start("data-2")
	waitFor(t, 20*time.Second, "second run reconciled", func() bool {
		return strings.Contains(second.out.String(), "project hook skipped")
	})
	if hs := projectHooksOf(sim, notes.ID); len(hs) != 1 || hs[0].ID != ocean.ID || hs[0].URL != want {
		t.Fatalf("second run: %+v", hs)
	}
	for _, out := range []string{first.out.String(), second.out.String()} {
		for _, secret := range []string{"glpat-alice-personal-token-0001", "glpat-bob-readonly-token-00002", "m4ster-secret-never-logged-Zq81"} {
			if strings.Contains(out, secret) {
				t.Fatal("a secret appears in the daemon's output")
			}
		}
	}
}

// TestPersonalProjectHooksPlan: with Ocean v2's single gitlabToken, a
// resync syncs the user's personal project and hooks plan shows a line
// for its hook; with an admin token every user's personal project is
// synced and, with useSystemHook, no project hook is planned (the system
// hook covers personal projects).
func TestPersonalProjectHooksPlan(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{Seed: 24})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 3, Seed: 24})
	alice := sim.AddUser(0, "alice", "Alice Liddell")
	notes := sim.AddProject(alice, "notes")
	sim.AddToken(gitlabtest.Token{Value: "glpat-alice-personal-token-0001", Kind: gitlabtest.PersonalToken, UserID: alice.OwnerID})
	ts := sim.Start(t)
	dir := t.TempDir()
	env := map[string]string{config.EnvGitLabToken: "glpat-alice-personal-token-0001", config.EnvGitLabHost: ts.URL,
		config.EnvAppHost: "https://glsync.example.com", envDataDir: filepath.Join(dir, "data")}
	if r := runCLI(t, env, "resync"); r.code != 0 {
		t.Fatalf("resync: %d %s", r.code, r.stderr)
	}
	if out := listCatalog(t, dir); !strings.Contains(out, "alice/notes") {
		t.Fatalf("gitlabToken: alice/notes not synced:\n%s", out)
	}
	r := runCLI(t, env, "hooks", "plan")
	line := "create   project alice/notes https://glsync.example.com" + hooks.ProjectHookPath + strconv.FormatInt(notes.ID, 10) + ": no hook"
	if r.code != 0 || !strings.Contains(r.stdout, line) || !strings.Contains(r.stdout, "1 change(s)") {
		t.Fatalf("plan: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	adir := t.TempDir()
	admin := map[string]string{config.EnvTokenMapping: `{"` + org.AdminToken + `": ["**"]}`, config.EnvGitLabHost: ts.URL,
		config.EnvAppHost: "https://glsync.example.com", config.EnvUseSystemHook: "true", envDataDir: filepath.Join(adir, "data")}
	if r := runCLI(t, admin, "resync"); r.code != 0 {
		t.Fatalf("admin resync: %d %s", r.code, r.stderr)
	}
	if out := listCatalog(t, adir); !strings.Contains(out, "alice/notes") {
		t.Fatalf("admin: alice/notes not synced:\n%s", out)
	}
	r = runCLI(t, admin, "hooks", "plan")
	if r.code != 0 || strings.Contains(r.stdout, "project ") || !strings.Contains(r.stdout, "(system)") {
		t.Fatalf("plan with useSystemHook: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestPersonalProjectHookRefusedByHooksApply: hooks apply with a token
// GitLab refuses project hooks to (read_api) prints the project as
// skipped and succeeds, as Ocean logs and goes on.
func TestPersonalProjectHookRefusedByHooksApply(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{Seed: 25})
	sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 3, Seed: 25})
	bob := sim.AddUser(0, "bob", "Bob Builder")
	sim.AddProject(bob, "diary")
	sim.AddToken(gitlabtest.Token{Value: "glpat-bob-readonly-token-00002", Kind: gitlabtest.PersonalToken, UserID: bob.OwnerID, Scopes: []string{"read_api"}})
	ts := sim.Start(t)
	dir := t.TempDir()
	env := map[string]string{config.EnvGitLabToken: "glpat-bob-readonly-token-00002", config.EnvGitLabHost: ts.URL,
		config.EnvAppHost: "https://glsync.example.com", envDataDir: filepath.Join(dir, "data")}
	if r := runCLI(t, env, "resync"); r.code != 0 {
		t.Fatalf("resync: %d %s", r.code, r.stderr)
	}
	r := runCLI(t, env, "hooks", "apply")
	if r.code != 0 || !strings.Contains(r.stdout, "skipped: create   project bob/diary") || !strings.Contains(r.stdout, "applied 0, failed 0") {
		t.Fatalf("apply: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "glpat-bob-readonly-token-00002") {
		t.Fatal("the token appears in the output")
	}
}
