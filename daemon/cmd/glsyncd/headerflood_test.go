package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// metricValue is the value of the sample named exactly name (with its
// labels, if any) on the admin listener's /metrics; -1 when absent.
func metricValue(t *testing.T, admin, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// TestHeaderFloodMemoryIsBounded performs issue 22's header flood on a
// real daemon: 800 connections at once, no secret, each sending a request
// line and then about 1 MB of headers in 64 KiB pieces, never the blank
// line that ends them (a stalled request). Before the webhook listener's
// header limit and connection cap, every connection held its megabyte
// until ReadHeaderTimeout and the daemon went over 1 GiB; now the first
// webhookMaxConnections (512) get 431 after 32 KiB, the others are
// refused at once and counted, peak resident memory stays under the
// chart's 512 MiB, and a real delivery afterwards is accepted.
func TestHeaderFloodMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon and sends 800 MB of headers")
	}
	const (
		conns       = 800
		maxConns    = 512 // webhookMaxConnections' default
		headerBytes = 1_000_000
	)
	sim := gitlabtest.New(gitlabtest.Options{Seed: 67})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 10, Seed: 67})
	ts := sim.Start(t)
	hookAddr, adminAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nappHost: http://%s\nadminToken: t0ken-for-admin-never-logged-8Kq2vX7mZp\ntokenMapping:\n  %s: ['**']\n",
		ts.URL, hookAddr, org.RootTokens[0])), 0o600)
	daemon := startChild(t, "run", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--listen", hookAddr, "--admin-listen", adminAddr)
	defer func() {
		if t.Failed() {
			t.Logf("daemon output (tail):\n%s", tail(daemon.out.String(), 4000))
		}
	}()
	waitFor(t, 20*time.Second, "start-up resync", func() bool { return metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 1`) })
	waitFor(t, 10*time.Second, "hook", func() bool { return len(sim.Hooks()) == 1 })
	hookURL, err := url.Parse(sim.Hooks()[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	baseline := peakRSS(t, daemon.cmd.Process.Pid)

	// 8 KiB header lines, 8 to a write: the server sees a well-formed
	// request that never ends.
	line := "X-Padding: " + strings.Repeat("a", 64<<10-13) + "\r\n"
	piece := []byte(line)
	start := time.Now()
	var (
		dialed, wg sync.WaitGroup
		mu         sync.Mutex
		answers    = map[string]int{} // the status line, or "refused"
	)
	release := make(chan struct{})
	dialed.Add(conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answer := "refused" // closed without an answer
			defer func() { mu.Lock(); answers[answer]++; mu.Unlock() }()
			c, err := net.DialTimeout("tcp", hookAddr, 5*time.Second)
			dialed.Done()
			if errors.Is(err, syscall.ECONNRESET) {
				return // refused before the dial returned
			} else if err != nil {
				answer = "dial error: " + err.Error()
				return
			}
			defer c.Close()
			got := make(chan string, 1)
			go func() {
				b := make([]byte, 64)
				n, _ := io.ReadAtLeast(c, b, len("HTTP/1.1 431"))
				got <- string(b[:n])
			}()
			_ = c.SetWriteDeadline(start.Add(20 * time.Second))
			_, _ = fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Gitlab-Event: Push Hook\r\n", hookURL.Path, hookAddr)
			<-release
			for sent := 0; sent+len(piece) <= headerBytes; sent += len(piece) {
				if _, err := c.Write(piece); err != nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			// Stall: the blank line never comes. Wait for the server to
			// answer or close (ReadHeaderTimeout), or give up.
			select {
			case s := <-got:
				if f := strings.Fields(s); len(f) >= 2 {
					answer = f[0] + " " + f[1]
				}
			case <-time.After(time.Until(start.Add(20 * time.Second))):
				answer = "no answer after 20 s"
			}
		}()
	}
	// Every connection is open (and the over-cap ones are refused) before
	// any sends its headers, so what is refused does not depend on timing.
	dialed.Wait()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if metricValue(t, adminAddr, "glsync_webhook_connections_open")+metricValue(t, adminAddr, "glsync_webhook_connections_refused_total") >= conns {
			break
		}
	}
	close(release)
	wg.Wait()
	flood := time.Since(start)
	peak := peakRSS(t, daemon.cmd.Process.Pid)
	t.Logf("%d connections, each up to %d bytes of headers, no secret: answers %v in %v; peak RSS %d MiB (baseline %d MiB)",
		conns, headerBytes, answers, flood.Round(100*time.Millisecond), peak>>20, baseline>>20)
	if raceEnabled {
		t.Log("race detector on: the memory ceiling is checked in the run without it")
	} else if peak > 512<<20 {
		t.Fatalf("peak RSS %d MiB, over the chart's 512 MiB", peak>>20)
	}
	refused := metricValue(t, adminAddr, "glsync_webhook_connections_refused_total")
	if answers["HTTP/1.1 431"] != maxConns || answers["refused"] != conns-maxConns || refused != conns-maxConns {
		t.Errorf("want %d answered 431 and %d refused (closed without an answer, counted): answers %v, glsync_webhook_connections_refused_total %v",
			maxConns, conns-maxConns, answers, refused)
	}

	// A real delivery, with GitLab's headers, is accepted afterwards.
	var project gitlabtest.ProjectInfo
	for _, p := range sim.Projects() {
		if !p.EmptyRepo {
			project = p
			break
		}
	}
	ds := sim.Push(context.Background(), project.ID)
	if len(ds) != 1 || ds[0].Status != http.StatusAccepted {
		t.Fatalf("a delivery after the flood: %+v", ds)
	}
}
