package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// EnvMemoryReport, when set to a file, receives the memory ceiling the
// flood test measured (RELIABILITY.md quotes it).
const EnvMemoryReport = "GLSYNC_MEMORY_REPORT"

// peakRSS is a process's high-water resident set (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// TestDeliveryFloodMemoryIsBounded sends 16 concurrent 24 MB push
// deliveries (GitLab's push payload with its commits list grown, valid
// secret) to a real daemon, twice, and checks that every one is either
// accepted or answered 503 with Retry-After, that the accepted ones are
// processed, and that the daemon's peak resident memory stays under the
// 512 MiB the Helm chart gives it (it reached about 1 GB before the
// in-flight budget).
func TestDeliveryFloodMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon and sends 768 MB")
	}
	sim := gitlabtest.New(gitlabtest.Options{Seed: 61})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 30, Seed: 61})
	ts := sim.Start(t)
	hookAddr, adminAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nappHost: http://%s\nadminToken: t0ken-for-admin-never-logged-8Kq2vX7mZp\neventWorkers: 16\ntokenMapping:\n  %s: ['**']\n",
		ts.URL, hookAddr, org.RootTokens[0])), 0o600)
	daemon := startChild(t, "run", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--listen", hookAddr, "--admin-listen", adminAddr)
	waitFor(t, 20*time.Second, "start-up resync", func() bool { return metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 1`) })
	waitFor(t, 10*time.Second, "hook", func() bool { return len(sim.Hooks()) == 1 })
	hook := sim.Hooks()[0]
	baseline := peakRSS(t, daemon.cmd.Process.Pid)

	// GitLab's push payload for a real project, its commits grown to 24 MB.
	tmpl, err := os.ReadFile("../../../shared/gitlab/gitlabtest/payloads/webhooks/push.json")
	if err != nil {
		t.Fatal(err)
	}
	var push map[string]any
	if err := json.Unmarshal(tmpl, &push); err != nil {
		t.Fatal(err)
	}
	var projects []gitlabtest.ProjectInfo
	for _, p := range sim.Projects() {
		if !p.EmptyRepo {
			projects = append(projects, p)
		}
	}
	commits := push["commits"].([]any)
	commit := commits[0].(map[string]any)
	commit["message"] = strings.Repeat("A long commit message. ", 1000)
	for len(commits) < 1000 {
		commits = append(commits, commit)
	}
	push["commits"] = commits
	body := mustJSON(push)
	for len(body) < 24<<20 {
		commits = append(commits, commits...)
		push["commits"] = commits
		body = mustJSON(push)
	}
	// Trim to about 24 MB.
	push["commits"] = commits[:len(commits)*(24<<20)/len(body)]
	bodyFor := func(p gitlabtest.ProjectInfo) []byte {
		push["project_id"] = p.ID
		push["ref"] = "refs/heads/" + p.DefaultBranch
		pr := push["project"].(map[string]any)
		pr["id"], pr["path_with_namespace"], pr["default_branch"] = p.ID, p.PathWithNamespace, p.DefaultBranch
		return mustJSON(push)
	}
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = bodyFor(projects[i%len(projects)])
	}
	body = bodies[0]

	var mu sync.Mutex
	codes := map[int]int{}
	for round := 0; round < 2; round++ {
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, hook.URL, bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Gitlab-Event", "Push Hook")
				req.Header.Set("X-Gitlab-Token", hook.Token)
				req.Header.Set("X-Gitlab-Event-UUID", fmt.Sprintf("flood-%d-%d", round, i))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	if codes[http.StatusAccepted] == 0 || codes[http.StatusAccepted]+codes[http.StatusServiceUnavailable] != 32 {
		t.Fatalf("answers: %v", codes)
	}
	defer func() {
		if t.Failed() {
			t.Logf("daemon output (tail):\n%s", tail(daemon.out.String(), 4000))
		}
	}()
	waitFor(t, 120*time.Second, "accepted deliveries processed", func() bool {
		return metric(t, adminAddr, "glsync_event_queue_depth 0")
	})
	peak := peakRSS(t, daemon.cmd.Process.Pid)
	t.Logf("%d-byte deliveries, 2 rounds of 16 at once: answers %v; peak RSS %d MiB (baseline %d MiB)", len(body), codes, peak>>20, baseline>>20)
	if f := os.Getenv(EnvMemoryReport); f != "" {
		_ = os.WriteFile(f, []byte(fmt.Sprintf("delivery_bytes=%d rounds=2 concurrent=16 answers=%v peak_rss_mib=%d baseline_mib=%d\n", len(body), codes, peak>>20, baseline>>20)), 0o644)
	}
	if raceEnabled {
		t.Log("race detector on: the memory ceiling is checked in the run without it")
		return
	}
	if peak > 512<<20 {
		t.Fatalf("peak RSS %d MiB, over the chart's 512 MiB", peak>>20)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
