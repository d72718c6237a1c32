package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// TestRemoteResyncWait walks the operator's path: glsyncd run with an
// adminToken in its config file, then `glsyncd resync --remote URL
// --config FILE --wait` with the same file. The token comes from the
// file (no GLSYNC_ADMIN_TOKEN); --wait returns once the resync is done,
// prints its per-kind summary, and exits as a local resync does: 0 when
// it completed (a project added meanwhile is in the catalog), 1 when it
// failed. A wrong token is refused with exit 2, without echoing it.
func TestRemoteResyncWait(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{Seed: 41})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 40, Seed: 41})
	ts := sim.Start(t)
	const adminToken = "remote-wait-admin-token-0123456789abcdef"
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nadminToken: %s\ntokenMapping:\n  %s: ['**']\n", ts.URL, adminToken, org.RootTokens[0])), 0o600)
	adminAddr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	var daemonOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "--config", cfg, "--data-dir", data, "--listen", freeAddr(t), "--admin-listen", adminAddr}, &daemonOut, &daemonOut, func(string) string { return "" })
	}()
	defer func() {
		stop()
		<-done
	}()
	waitFor(t, 30*time.Second, "start-up resync", func() bool { return metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 1`) })

	team := sim.Group(org.Roots[0].FullPath + "/DevopsTeam")
	sim.AddProject(team, "AddedBeforeRemoteResync")
	remote := "http://" + adminAddr
	r := runCLI(t, nil, "resync", "--remote", remote, "--config", cfg, "--wait")
	if r.code != exitOK || !strings.Contains(r.stdout, "resync requested: id ") || !strings.Contains(r.stdout, "resync 2 ok") ||
		!strings.Contains(r.stdout, "fetched") || !strings.Contains(r.stdout, "project") {
		t.Fatalf("resync --remote --wait: exit %d\n%s\n%s\ndaemon:\n%s", r.code, r.stdout, r.stderr, daemonOut.String())
	}
	if strings.Contains(r.stdout+r.stderr, adminToken) {
		t.Fatal("the admin token is in the output")
	}
	t.Logf("resync --remote --wait:\n%s", r.stdout)
	// Done means done: the catalog has what the resync read.
	if l := runCLI(t, nil, "catalog", "list", "--data-dir", data, "--blueprint", "service"); !strings.Contains(l.stdout, "AddedBeforeRemoteResync") {
		t.Fatalf("the project added before the resync is not in the catalog:\n%s\n%s", l.stdout, l.stderr)
	}

	// Without --wait: the request's id, exit 0, nothing waited for.
	waitFor(t, 10*time.Second, "daemon idle", func() bool {
		return metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 2`)
	})
	if r := runCLI(t, nil, "resync", "--remote", remote, "--config", cfg); r.code != exitOK || !strings.Contains(r.stdout, "resync requested: id ") {
		t.Fatalf("resync --remote: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	waitFor(t, 20*time.Second, "third resync", func() bool { return metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 3`) })

	// A wrong token: exit 2, said clearly, neither token shown.
	wrong := filepath.Join(dir, "wrong.yaml")
	const wrongToken = "not-the-admin-token-0123456789abcdefgh"
	os.WriteFile(wrong, []byte("adminToken: "+wrongToken+"\n"), 0o600)
	r = runCLI(t, nil, "resync", "--remote", remote, "--config", wrong, "--wait")
	if r.code != exitUsage || !strings.Contains(r.stderr, "refused the admin token") || !strings.Contains(r.stderr, "adminToken in "+wrong) ||
		strings.Contains(r.stdout+r.stderr, wrongToken) || strings.Contains(r.stdout+r.stderr, adminToken) {
		t.Fatalf("wrong token: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// No token at all: exit 2, naming where to set it.
	if r := runCLI(t, nil, "resync", "--remote", remote, "--wait"); r.code != exitUsage || !strings.Contains(r.stderr, "adminToken") {
		t.Fatalf("no token: exit %d\n%s", r.code, r.stderr)
	}
	// GLSYNC_ADMIN_TOKEN still works, and wins over the file.
	if r := runCLI(t, map[string]string{"GLSYNC_ADMIN_TOKEN": adminToken}, "resync", "--remote", remote, "--config", wrong, "--wait"); r.code != exitOK {
		t.Fatalf("GLSYNC_ADMIN_TOKEN: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// A resync that fails (GitLab refuses the token): exit 1, as locally,
	// with the failed kinds in the summary.
	sim.RevokeToken(org.RootTokens[0])
	r = runCLI(t, nil, "resync", "--remote", remote, "--config", cfg, "--wait")
	if r.code != exitFailed || !strings.Contains(r.stdout, "FAILED") || !strings.Contains(r.stderr, "failed") {
		t.Fatalf("failed resync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, org.RootTokens[0]) {
		t.Fatal("the GitLab token is in the output")
	}
	if strings.Contains(daemonOut.String(), adminToken) {
		t.Fatal("the admin token is in the daemon's log")
	}
}
