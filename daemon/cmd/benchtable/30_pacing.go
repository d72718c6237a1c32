package main

// Pacing under a rate limit: a resync against a GitLab that throttles
// the token (RateLimit-* on every answer, 429 past the window's quota,
// windows aligned as GitLab's), and one where only the user's
// gitlabRateLimit is known. Each must make no 429 and take no longer
// than 5% over requests ÷ allowed rate: the budget is spread over the
// window, neither burst into 429s nor left unused.

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

func init() { register("pacing", pacingRows) }

// pacingMapping lists projects, then pipelines and releases per project:
// a few requests per project, as a resync of the CI kinds makes.
const pacingMapping = `
visibility:
  useMinAccessLevel: false
filterOwnedProjects: false
resources:
  - kind: project
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          title: .name
          blueprint: '"service"'
          properties: {url: .web_url}
  - kind: pipeline
    selector: {query: 'true', limitPerProject: 10}
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: '.__project.name + " #" + (.iid | tostring)'
          blueprint: '"gitlabPipeline"'
          properties: {status: .status, ref: .ref}
  - kind: release
    selector: {query: 'true', limitPerProject: 5}
    port:
      entity:
        mappings:
          identifier: .__project.path_with_namespace + "@" + .tag_name
          title: .name
          blueprint: '"gitlabRelease"'
          properties: {tag: .tag_name}
`

// pacingOverrun is how much longer than requests ÷ rate a paced resync
// may take.
const pacingOverrun = 1.05

func pacingRows(ctx context.Context, env Env) ([]Row, error) {
	projects, seconds := 400, 30.0 // the paced resync's length at its rate
	if env.Quick {
		projects, seconds = 100, 12
	}
	sim, org, simURL, stop := simulate(gitlabtest.OrgSpec{Roots: 2, Projects: projects, Depth: 3, Seed: 30, Activity: true}, 20*time.Millisecond)
	defer stop()
	m, err := mapping.Parse([]byte(pacingMapping))
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "benchtable-pacing")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	run := func(name string, perMinute int) (*resync.Summary, time.Duration, error) {
		store, err := sqlitestore.Open(dir + "/" + name)
		if err != nil {
			return nil, 0, err
		}
		defer store.Close()
		cfg := &config.Config{TokenMapping: tokenmap.Mapping{{Token: org.AdminToken, Patterns: []string{"**"}}},
			GitLabHost: simURL, MaxConcurrentRequests: 8, MaxRetries: 8, GitLabRateLimit: perMinute}
		return timedResync(ctx, resync.Options{Config: cfg, Mapping: m, Store: store, Logger: env.Log})
	}
	// Unlimited first: how many requests the resync makes.
	free, _, err := run("free", 0)
	if err != nil {
		return nil, fmt.Errorf("unlimited resync: %w", err)
	}
	// GitLab's limit, per 2 s window, so the resync takes about
	// `seconds` at it: many windows, the first of them partly gone.
	const window = 2 * time.Second
	perWindow := int(math.Ceil(float64(free.Requests) / seconds * window.Seconds()))
	rate := float64(perWindow) / window.Seconds()
	sim.SetRateLimit(perWindow, window)
	limited, wall, err := run("gitlab", 0)
	if err != nil {
		return nil, fmt.Errorf("resync under GitLab's limit: %w", err)
	}
	rows := []Row{pacingRow(fmt.Sprintf("resync under GitLab's rate limit (%d per 2 s, announced in RateLimit-*), %d projects, 20 ms latency", perWindow, projects),
		limited, wall, rate)}

	// Only the user's limit: GitLab announces none.
	sim.SetRateLimit(0, window)
	perMinute := int(math.Ceil(float64(free.Requests) / seconds * 60))
	user, wall, err := run("user", perMinute)
	if err != nil {
		return nil, fmt.Errorf("resync under gitlabRateLimit: %w", err)
	}
	rows = append(rows, pacingRow(fmt.Sprintf("resync under gitlabRateLimit %d/min (GitLab announces none), %d projects, 20 ms latency", perMinute, projects),
		user, wall, float64(perMinute)/60))
	return rows, nil
}

func pacingRow(name string, sum *resync.Summary, wall time.Duration, rate float64) Row {
	ideal := time.Duration(float64(sum.Requests) / rate * float64(time.Second))
	ratio := wall.Seconds() / ideal.Seconds()
	return Row{
		Name:     name,
		Measured: fmt.Sprintf("%d × 429; %.1f s = %.3f × requests ÷ rate", sum.RateLimited, wall.Seconds(), ratio),
		Limit:    fmt.Sprintf("0 × 429; ≤ %.2f × requests ÷ rate", pacingOverrun),
		OK:       sum.RateLimited == 0 && ratio <= pacingOverrun,
		Note:     fmt.Sprintf("%d requests at %.1f/s: %.1f s ideal", sum.Requests, rate, ideal.Seconds()),
	}
}
