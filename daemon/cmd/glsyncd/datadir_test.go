package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// One data directory, two processes: a second glsyncd run refuses to
// start and names the first; glsyncd resync beside the running daemon
// waits for its writes instead of failing with SQLITE_BUSY, every time.
func TestDataDirectorySharedByProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons in child processes")
	}
	sim := gitlabtest.New(gitlabtest.Options{Seed: 31})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 150, Seed: 31})
	ts := sim.Start(t)
	hookAddr, adminAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nappHost: http://%s\nadminToken: t0ken-for-admin-never-logged-8Kq2vX7mZp\neventWorkers: 8\ntokenMapping:\n  %s: ['**']\n",
		ts.URL, hookAddr, org.RootTokens[0])), 0o600)
	daemon := startChild(t, "run", "--config", cfg, "--data-dir", data, "--listen", hookAddr, "--admin-listen", adminAddr)
	waitFor(t, 20*time.Second, "start-up resync", func() bool { return metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 1`) })

	var out, errOut bytes.Buffer
	// A bound for the whole test: generous, a loaded CI machine runs it
	// beside every other package's tests under the race detector.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	code := run(ctx, []string{"run", "--config", cfg, "--data-dir", data, "--listen", freeAddr(t), "--admin-listen", freeAddr(t)}, &out, &errOut, os.Getenv)
	msg := errOut.String()
	if code == 0 || !strings.Contains(msg, "another glsyncd run holds this data directory") ||
		!strings.Contains(msg, fmt.Sprintf("pid %d", daemon.cmd.Process.Pid)) || !strings.Contains(msg, "resync --remote") {
		t.Fatalf("second run: exit %d\n%s", code, msg)
	}

	// Webhooks keep the daemon writing while resyncs run beside it.
	team := sim.Group(org.Roots[0].FullPath + "/DevopsTeam")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := sim.AddProject(team, fmt.Sprint("Busy", i))
			sim.Push(context.Background(), p.ID)
			// A steady stream, not a flood: a flood grows the instance by
			// thousands of projects a second, and every resync with it.
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for i := 0; i < 5; i++ {
		out.Reset()
		errOut.Reset()
		if code := run(ctx, []string{"resync", "--config", cfg, "--data-dir", data}, &out, &errOut, os.Getenv); code != 0 {
			close(stop)
			<-done
			t.Fatalf("resync %d beside run: exit %d\n%s\n%s", i, code, out.String(), errOut.String())
		}
	}
	close(stop)
	<-done
	if strings.Contains(daemon.out.String(), "SQLITE_BUSY") || strings.Contains(daemon.out.String(), "database is locked") {
		t.Fatalf("the daemon met a locked database:\n%s", daemon.out.String())
	}
}

func TestMemoryLimitFromCgroup(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "memory.max")
	os.WriteFile(f, []byte("536870912\n"), 0o600)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	if got := setMemoryLimit(func(string) string { return "" }, f); got != 536870912/10*9 {
		t.Fatalf("soft limit %d", got)
	}
	if got := setMemoryLimit(func(k string) string { return map[string]string{"GOMEMLIMIT": "300MiB"}[k] }, f); got != 0 {
		t.Fatal("GOMEMLIMIT must win")
	}
	os.WriteFile(f, []byte("max\n"), 0o600)
	if got := setMemoryLimit(func(string) string { return "" }, f); got != 0 {
		t.Fatal("no limit: nothing set")
	}
}
