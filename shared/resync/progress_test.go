package resync_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// The summary's columns add up (a kind whose objects have no numeric id,
// releases, still counts what it selected), progress lines carry the
// last resync's total, a percentage, an estimate of the time left and the
// retries so far, and a token whose globs select nothing is a warning.
func TestSummaryProgressAndWarnings(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{Seed: 9})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 120, Depth: 2, Seed: 9, Activity: true})
	ts := sim.Start(t)
	m, err := mapping.Load("../mapping/all-kinds.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{GitLabHost: ts.URL, MaxConcurrentRequests: 8, MaxRetries: 8, TokenMapping: tokenmap.Mapping{
		{Token: org.RootTokens[0], Patterns: []string{"**"}},
		{Token: org.RootTokens[1], Patterns: []string{"/" + org.Roots[1].Path + "/**"}}, // never matches
	}}
	store := freshStore(t)
	logs := &syncBuffer{}
	run := func(expected map[string]int, every time.Duration) *resync.Summary {
		sum, err := resync.Run(context.Background(), resync.Options{Config: cfg, Mapping: m, Store: store, Expected: expected, ProgressEvery: every,
			Logger: slog.New(slog.NewTextHandler(logs, nil)), Client: gitlab.Options{RetryBase: time.Millisecond}})
		if err != nil || sum.Failed() {
			t.Fatalf("%v %v", err, sum.Err())
		}
		return sum
	}
	sum := run(nil, time.Hour)
	for _, k := range sum.Kinds {
		if k.Kind == "release" && (k.Created == 0 || k.Selected == 0) {
			t.Fatalf("release: selected %d, created %d", k.Selected, k.Created)
		}
		if k.Created > 0 && k.Selected == 0 {
			t.Errorf("kind %s: %d entities created from 0 selected objects", k.Kind, k.Created)
		}
	}
	if len(sum.Warnings) != 1 || !strings.Contains(sum.Warnings[0], "selected nothing") || strings.Contains(sum.Warnings[0], org.RootTokens[1]) {
		t.Fatalf("warnings: %q", sum.Warnings)
	}
	// Progress with the last resync's totals, slowed so lines appear.
	rec := resync.NewRecord(sum, "test", "")
	sim.SetFaults(gitlabtest.Faults{Latency: 30 * time.Millisecond})
	logs = &syncBuffer{}
	run(rec.Expected(), 50*time.Millisecond)
	out := logs.String()
	if !strings.Contains(out, "msg=\"resync progress\"") || !strings.Contains(out, "expected=") || !strings.Contains(out, "percent=") ||
		!strings.Contains(out, "gitlab_retries=") {
		t.Fatalf("progress lines:\n%s", out)
	}
}

// A GitLab nobody listens for fails the resync within seconds, naming
// the URL, before any run is recorded.
func TestUnreachableGitLabFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := &config.Config{GitLabHost: "http://" + addr, MaxConcurrentRequests: 4, MaxRetries: 8,
		TokenMapping: tokenmap.Mapping{{Token: "glpat-Base0Token0For0Tests0", Patterns: []string{"**"}}}}
	m, _ := mapping.Load("")
	store := freshStore(t)
	start := time.Now()
	_, err = resync.Run(context.Background(), resync.Options{Config: cfg, Mapping: m, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "cannot be reached") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error: %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("took %s", d)
	}
	if n, _ := store.CountEntities(context.Background()); n != 0 {
		t.Fatal("wrote entities")
	}
}

// Issues opened while their listing is read (GitLab lists them newest
// first, pages fetched side by side) can shift an item from an unread
// page into a read one: the kind is then marked incomplete and deletes
// nothing, rather than deleting what it missed.
func TestShiftedListingDeletesNothing(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{Seed: 9})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 150, Depth: 2, Seed: 9, Activity: true})
	ts := sim.Start(t)
	m, _ := mapping.Load("")
	cfg := &config.Config{GitLabHost: ts.URL, MaxConcurrentRequests: 8, MaxRetries: 8,
		TokenMapping: tokenmap.Mapping{{Token: org.RootTokens[0], Patterns: []string{"**"}}}}
	store := freshStore(t)
	run := func() *resync.Summary {
		sum, err := resync.Run(context.Background(), resync.Options{Config: cfg, Mapping: m, Store: store,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Client: gitlab.Options{RetryBase: time.Millisecond}})
		if err != nil || sum.Failed() {
			t.Fatalf("%v %v", err, sum.Err())
		}
		return sum
	}
	run()
	projects := sim.Projects()
	sim.SetFaults(gitlabtest.Faults{RouteLatency: map[string]time.Duration{"GET /groups/:id/issues": 150 * time.Millisecond}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 40; i++ {
			sim.AddIssue(projects[i%len(projects)].ID, fmt.Sprint("opened during the listing ", i), false)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	sum := run()
	<-done
	for _, k := range sum.Kinds {
		if k.Kind == "issue" {
			if !k.Incomplete || k.Deleted != 0 {
				t.Fatalf("issue kind: incomplete %v, deleted %d", k.Incomplete, k.Deleted)
			}
			return
		}
	}
	t.Fatal("no issue kind")
}
