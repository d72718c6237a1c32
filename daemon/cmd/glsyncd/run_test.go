package main

import (
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore/pgtest"

	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// TestMain lets the test binary act as glsyncd in a child process, so a
// test can kill a real daemon with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("GLSYNC_TEST_CHILD") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
	}
	pgtest.Main(m)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type child struct {
	cmd *exec.Cmd
	out *lockedBuffer
}

// lockedBuffer collects a child's output; exec writes from its own goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "GLSYNC_TEST_CHILD=1")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd, out}
	t.Cleanup(func() { _ = c.cmd.Process.Kill(); _ = c.cmd.Wait() })
	return c
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v", what, d)
}

func metric(t *testing.T, admin, line string) bool {
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), line)
}

func TestKilledDaemonFinishesAcceptedEventAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons in child processes")
	}
	sim := gitlabtest.New(gitlabtest.Options{Seed: 21})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 40, Seed: 21})
	ts := sim.Start(t)
	hookAddr, adminAddr := stableAddr(t), stableAddr(t) // the restarted daemon listens on them again
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nappHost: http://%s\nadminToken: t0ken-for-admin-never-logged-8Kq2vX7mZp\ntokenMapping:\n  %s: ['**']\n",
		ts.URL, hookAddr, org.RootTokens[0])), 0o600)
	args := []string{"run", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--listen", hookAddr, "--admin-listen", adminAddr}

	first := startChild(t, args...)
	waitFor(t, 20*time.Second, "hook created", func() bool { return len(sim.Hooks()) == 1 })
	waitFor(t, 20*time.Second, "start-up resync", func() bool { return metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 1`) })

	// The event is accepted (202), then the daemon is killed while it
	// fetches the project from a slow GitLab: accepted, not committed.
	sim.SetFaults(gitlabtest.Faults{RouteLatency: map[string]time.Duration{"GET /projects/:id": 5 * time.Second}})
	team := sim.Group(org.Roots[0].FullPath + "/DevopsTeam")
	p := sim.AddProject(team, "PhoenixService")
	ds := sim.Push(context.Background(), p.ID)
	if len(ds) != 1 || ds[0].Status != http.StatusAccepted {
		t.Fatalf("push: %v", ds)
	}
	waitFor(t, 5*time.Second, "worker fetching the project", func() bool {
		c, _ := sim.Requests()
		return c["GET /projects/:id"] == 1
	})
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()

	sim.SetFaults(gitlabtest.Faults{})
	second := startChild(t, append(args, "--log-level", "debug")...)
	waitFor(t, 10*time.Second, "event applied once after restart", func() bool {
		return metric(t, adminAddr, `glsync_events_processed_total{event="Push Hook",outcome="applied"} 1`)
	})
	// The redelivered event is a duplicate, not a second run.
	if again := sim.Redeliver(context.Background(), ds[0]); again.Status != http.StatusOK {
		t.Fatalf("redelivery after restart: %d", again.Status)
	}
	out := listCatalog(t, dir)
	if !strings.Contains(out, team.FullPath+"/PhoenixService") {
		t.Fatal("the accepted event's project is not in the catalog")
	}
	waitFor(t, 2*time.Second, "queue empty", func() bool { return metric(t, adminAddr, "glsync_event_queue_depth 0") })
	for _, s := range []string{first.out.String(), second.out.String()} {
		if strings.Contains(s, org.RootTokens[0]) || strings.Contains(s, "t0ken-for-admin-never-logged-8Kq2vX7mZp") {
			t.Fatal("a token appears in the daemon's output")
		}
	}
}

func listCatalog(t *testing.T, dir string) string {
	t.Helper()
	r := runCLI(t, nil, "catalog", "list", "--data-dir", filepath.Join(dir, "data"), "--output", "json", "--blueprint", "service")
	var ents []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &ents); err != nil {
		t.Fatalf("catalog list: %v\n%s", err, r.stderr)
	}
	return r.stdout
}

func TestRemoteResync(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{Seed: 3})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 10, Seed: 3})
	ts := sim.Start(t)
	adminAddr := freeAddr(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nadminToken: remote-admin-token-0123456789abcdefghij\nresyncOnStart: false\ntokenMapping:\n  %s: ['**']\n",
		ts.URL, org.RootTokens[0])), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"run", "--config", cfg, "--data-dir", dir, "--listen", "127.0.0.1:0", "--admin-listen", adminAddr},
			io.Discard, io.Discard, func(string) string { return "" })
	}()
	waitFor(t, 5*time.Second, "admin API up", func() bool { return metric(t, adminAddr, "glsync_event_queue_depth") })
	r := runCLI(t, nil, "resync", "--remote", "http://"+adminAddr)
	if r.code != exitUsage || !strings.Contains(r.stderr, "GLSYNC_ADMIN_TOKEN") || !strings.Contains(r.stderr, "adminToken in the --config file") {
		t.Fatalf("without a token: %d %s", r.code, r.stderr)
	}
	// A wrong token is a setting to fix: exit 2, as other settings.
	r = runCLI(t, map[string]string{"GLSYNC_ADMIN_TOKEN": "wrong"}, "resync", "--remote", "http://"+adminAddr)
	if r.code != exitUsage || !strings.Contains(r.stderr, "401") || !strings.Contains(r.stderr, "refused the admin token") || strings.Contains(r.stderr, "wrong") {
		t.Fatalf("wrong token: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, map[string]string{"GLSYNC_ADMIN_TOKEN": "remote-admin-token-0123456789abcdefghij"}, "resync", "--remote", "http://"+adminAddr)
	if r.code != 0 || !strings.Contains(r.stdout, "resync requested: id ") {
		t.Fatalf("remote resync: %d %s %s", r.code, r.stdout, r.stderr)
	}
	waitFor(t, 5*time.Second, "remote resync ran", func() bool { return metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 1`) })
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("run exited %d", code)
	}
}
