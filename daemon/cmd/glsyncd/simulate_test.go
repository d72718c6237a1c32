package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// TestSimulateEventReachesCatalog walks the README's try-it path, every
// step a glsyncd command: `simulate` (control token set), `run` on its
// config with appHost (it creates its group hook on the simulator), then
// `simulate event` for a project, a merge request opened and merged, an
// issue and a pipeline. Each event is delivered to the hook glsyncd made
// and lands in the catalog through the webhook path: the events-applied
// metric counts it and no resync ran after the start-up one. Then the
// control API's guard (no token, a wrong one, the seed's admin token) and,
// with the daemon stopped, a failed delivery: exit 1, the change made.
func TestSimulateEventReachesCatalog(t *testing.T) {
	const control = "sim-control-token-0123456789abcdefghij"
	const adminToken = "daemon-admin-token-0123456789abcdefghij"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "glsync.yaml")
	simAddr, hookAddr, adminAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	simURL := "http://" + simAddr
	env := map[string]string{envSimulatorToken: control}
	getenv := func(k string) string { return env[k] }

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	simOut := &lockedBuffer{}
	simDone := make(chan int, 1)
	go func() {
		simDone <- run(ctx, []string{"simulate", "--listen", simAddr, "--roots", "1", "--projects", "60", "--seed", "7", "--write-config", cfg},
			simOut, simOut, getenv)
	}()
	waitFor(t, 20*time.Second, "simulator config written", func() bool { fi, err := os.Stat(cfg); return err == nil && fi.Size() > 0 })
	if out := simOut.String(); !strings.Contains(out, "control API on "+simURL+"/-/simulate/events/KIND") || strings.Contains(out, control) {
		t.Fatalf("simulate does not announce its control API, or prints the token:\n%s", out)
	}

	// The daemon: the written config, with appHost and an admin token from
	// the environment, as the README's try-it block runs it.
	runEnv := map[string]string{config.EnvAppHost: "http://" + hookAddr, config.EnvAdminToken: adminToken}
	runOut := &lockedBuffer{}
	runDone := make(chan int, 1)
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go func() {
		runDone <- run(runCtx, []string{"run", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--listen", hookAddr, "--admin-listen", adminAddr},
			runOut, runOut, func(k string) string { return runEnv[k] })
	}()
	waitFor(t, 30*time.Second, "start-up resync", func() bool { return metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 1`) })
	waitFor(t, 10*time.Second, "glsyncd's hook on acme", func() bool {
		return strings.Contains(simGet(t, simURL, "groups/acme/hooks", control), "http://"+hookAddr+"/integration/hook/")
	})

	event := func(args ...string) string {
		t.Helper()
		r := runCLI(t, env, append([]string{"simulate", "event", "--url", simURL}, args...)...)
		if r.code != 0 {
			t.Fatalf("simulate event %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	// entity is the catalog's entity of blueprint whose title is title.
	entity := func(blueprint, title string) map[string]any {
		r := runCLI(t, nil, "catalog", "list", "--data-dir", filepath.Join(dir, "data"), "--blueprint", blueprint, "--output", "json")
		var ents []map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &ents); err != nil {
			t.Fatalf("catalog list: %v\n%s", err, r.stderr)
		}
		for _, e := range ents {
			if e["title"] == title {
				return e
			}
		}
		return nil
	}
	applied := func(event string) bool {
		return metric(t, adminAddr, `glsync_events_processed_total{event="`+event+`",outcome="applied"}`)
	}

	// A project in a team whose services the mapping selects.
	out := event("project", "--group", "acme/DevopsTeam", "--name", "LiveService")
	if !strings.Contains(out, "created project acme/DevopsTeam/LiveService") ||
		!strings.Contains(out, "Push Hook") || !strings.Contains(out, "-> hook ") || !strings.Contains(out, "(group acme) http://"+hookAddr+"/integration/hook/") ||
		!strings.Contains(out, ": 202") {
		t.Fatalf("project event output:\n%s", out)
	}
	waitFor(t, 10*time.Second, "service entity of the new project", func() bool { return entity("service", "LiveService") != nil })

	event("merge-request", "--project", "acme/DevopsTeam/LiveService", "--title", "Live health check")
	waitFor(t, 10*time.Second, "merge request entity", func() bool { return entity("gitlabMergeRequest", "Live health check") != nil })
	if !applied("Merge Request Hook") {
		t.Fatal("the merge request did not come through the webhook")
	}
	out = event("merge-request", "--project", "acme/DevopsTeam/LiveService", "--action", "merge", "--iid", "1")
	if !strings.Contains(out, "is now merged") {
		t.Fatalf("merge output:\n%s", out)
	}
	waitFor(t, 10*time.Second, "merged request leaves the catalog (opened ones are mapped)", func() bool {
		return entity("gitlabMergeRequest", "Live health check") == nil
	})

	event("issue", "--project", "acme/DevopsTeam/LiveService", "--title", "Live issue")
	waitFor(t, 10*time.Second, "issue entity", func() bool { return entity("gitlabIssue", "Live issue") != nil })
	out = event("pipeline", "--project", "acme/DevopsTeam/LiveService", "--status", "failed", "-o", "json")
	var res struct {
		Summary    string
		Deliveries []struct {
			Event  string
			Status int
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Deliveries) != 1 || res.Deliveries[0].Event != "Pipeline Hook" || res.Deliveries[0].Status != 202 {
		t.Fatalf("pipeline event (json): %v\n%s", err, out)
	}

	// Every change came as a webhook: the start-up resync is the only one.
	if !metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 1`) || !applied("Push Hook") || !applied("Issue Hook") {
		t.Fatal("a resync ran, or an event was not applied from its webhook")
	}

	// The control API takes the simulator's token only.
	r := runCLI(t, nil, "simulate", "event", "push", "--url", simURL, "--project", "acme/DevopsTeam/LiveService")
	if r.code != exitUsage || !strings.Contains(r.stderr, envSimulatorToken) {
		t.Fatalf("without the token: %d %s", r.code, r.stderr)
	}
	r = runCLI(t, map[string]string{envSimulatorToken: "wrong-token-0123456789abcdefghijklmn"}, "simulate", "event", "push", "--url", simURL, "--project", "acme/DevopsTeam/LiveService")
	if r.code != exitFailed || !strings.Contains(r.stderr, "401") {
		t.Fatalf("a wrong token: %d %s", r.code, r.stderr)
	}
	// Nor the generated admin token, which anyone can compute from the seed.
	seeded := gitlabtest.New(gitlabtest.Options{}).Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 60, Depth: 3, Seed: 7, Activity: true}).AdminToken
	if !strings.Contains(simGet(t, simURL, "user", seeded), `"is_admin":true`) {
		t.Fatal("the seeded admin token is not the running simulator's: the check below proves nothing")
	}
	if _, err := gitlabtest.SendEvent(ctx, simURL, seeded, "push", gitlabtest.ControlEvent{Project: "acme/DevopsTeam/LiveService"}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("the seeded admin token opens the control API: %v", err)
	}
	r = runCLI(t, env, "simulate", "event", "deploy", "--url", simURL)
	if r.code != exitUsage || !strings.Contains(r.stderr, "unknown KIND") {
		t.Fatalf("unknown kind: %d %s", r.code, r.stderr)
	}

	// With the daemon stopped, the delivery fails: exit 1, saying so; the
	// change is made all the same, as in GitLab.
	stopRun()
	if code := <-runDone; code != 0 {
		t.Fatalf("run exited %d\n%s", code, runOut.String())
	}
	r = runCLI(t, env, "simulate", "event", "issue", "--url", simURL, "--project", "acme/DevopsTeam/LiveService", "--title", "Nobody listens")
	if r.code != exitFailed || !strings.Contains(r.stdout, "opened issue #2") || !strings.Contains(r.stdout, ": failed: ") || !strings.Contains(r.stderr, "1 of 1 deliveries failed") {
		t.Fatalf("a failed delivery: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	cancel()
	if code := <-simDone; code != 0 {
		t.Fatalf("simulate exited %d\n%s", code, simOut.String())
	}
}

// TestSimulateShortControlToken: a guessable control token is refused
// before the simulator starts, naming the variable, never the value.
func TestSimulateShortControlToken(t *testing.T) {
	r := runCLI(t, map[string]string{envSimulatorToken: "short-token"}, "simulate", "--listen", "127.0.0.1:0", "--projects", "5")
	if r.code != exitUsage || !strings.Contains(r.stderr, envSimulatorToken) || !strings.Contains(r.stderr, "at least 32") || strings.Contains(r.stderr, "short-token") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// simGet reads the simulator's API with a token.
func simGet(t *testing.T, base, path, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v4/"+(&url.URL{Path: path}).EscapedPath(), nil)
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestSimulateControlOffWithoutToken: started without the control token,
// `simulate` says its control API is off, and the one admin token that
// exists, the generated one (which follows from --seed), does not open it.
func TestSimulateControlOffWithoutToken(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"simulate", "--listen", addr, "--roots", "1", "--projects", "20", "--seed", "9"}, out, out, func(string) string { return "" })
	}()
	waitFor(t, 10*time.Second, "simulator up", func() bool { return strings.Contains(out.String(), "press Ctrl-C") })
	if !strings.Contains(out.String(), "control API off: set "+envSimulatorToken) {
		t.Fatalf("simulate does not say the control API is off:\n%s", out.String())
	}
	org := gitlabtest.New(gitlabtest.Options{}).Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 20, Depth: 3, Seed: 9, Activity: true})
	p := org.Roots[0].FullPath + "/DevopsTeam"
	if _, err := gitlabtest.SendEvent(ctx, "http://"+addr, org.AdminToken, "project", gitlabtest.ControlEvent{Group: p, Name: "X"}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("the generated admin token opens the control API: %v", err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("simulate exited %d", code)
	}
}

// TestPrintControlResult: with no hook to take the event, the output says
// nothing was delivered and why that may be, rather than printing nothing.
func TestPrintControlResult(t *testing.T) {
	var b strings.Builder
	printControlResult(&b, gitlabtest.ControlResult{Summary: "opened issue #1"})
	if !strings.Contains(b.String(), "nothing was delivered") || !strings.Contains(b.String(), "appHost") {
		t.Fatalf("no deliveries:\n%s", b.String())
	}
	b.Reset()
	printControlResult(&b, gitlabtest.ControlResult{Summary: "s", Deliveries: []gitlabtest.ControlDelivery{
		{HookID: 3, Hook: "system", URL: "http://x/integration/system/hook", Event: "System Hook", Error: "connection refused"}}})
	if !strings.Contains(b.String(), "delivered 1 webhook:") || !strings.Contains(b.String(), "hook 3 (system) http://x/integration/system/hook: failed: connection refused") {
		t.Fatalf("a failed delivery:\n%s", b.String())
	}
}
