package main

// Ocean v2's releases (every release of every project) read from each
// group's listing where it gives the same objects, per project elsewhere
// (shared/crawl/releases.go), on the every-kind rows' organisation (2,000
// projects, 500 with -quick; 20 ms per request; the admin token, so each
// project is read once and the group listings are exact): its requests
// against the fewest that read that set (minimum.OceanReleases), and its
// objects against the per-project reading's, which makes Ocean's requests
// (but for projects whose releases are disabled), on the same
// organisation.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/resync/minimum"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

func init() { register("releases", releasesRows) }

func releasesRows(ctx context.Context, env Env) ([]Row, error) {
	projects := 2000
	if env.Quick {
		projects = 500
	}
	sim, org, simURL, stop := simulate(gitlabtest.OrgSpec{Roots: 3, Projects: projects, Depth: 3, Seed: 42, Activity: true}, 20*time.Millisecond)
	defer stop()
	read := func(o crawl.Options) (map[string]int, int, time.Duration, error) {
		c, err := gitlab.New(simURL, org.AdminToken, gitlab.Options{MaxConcurrent: 8, MaxRetries: 8}, nil)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("client: %w", err)
		}
		s := &crawl.Source{Entry: tokenmap.Entry{Token: org.AdminToken, Patterns: []string{"**"}}, Client: c}
		objects := map[string]int{}
		sim.ResetRequests()
		start := time.Now()
		_, err = s.ProjectChildren(ctx, selector.KindRelease, o, func(p gitlab.Page) error {
			for _, r := range p.Items {
				b, err := json.Marshal(r)
				if err != nil {
					return err
				}
				objects[string(b)]++
			}
			return nil
		})
		wall := time.Since(start)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("reading releases: %w", err)
		}
		counts, _ := sim.Requests()
		// The release kind's own requests: the project listing is shared
		// by every per-project kind.
		return objects, counts["GET /projects/:id/releases"] + counts["GET /groups/:id/releases"], wall, nil
	}
	perProject, before, beforeWall, err := read(crawl.Options{ReleasesProjectByProject: true})
	if err != nil {
		return nil, err
	}
	objects, after, afterWall, err := read(crawl.Options{})
	if err != nil {
		return nil, err
	}
	least, ocean := minimum.OceanReleases(sim, func(p gitlabtest.ProjectInfo) bool { return !p.EmptyRepo })
	equal := maps.Equal(objects, perProject)
	releases := 0
	for _, n := range objects {
		releases += n
	}
	ratio := float64(after) / float64(least)
	same := "the same objects as the per-project reading"
	if !equal {
		same = fmt.Sprintf("**objects differ from the per-project reading** (%d distinct vs %d)", len(objects), len(perProject))
	}
	return []Row{{
		Name:     fmt.Sprintf("releases as Ocean v2 (every release of every project), %d projects", projects),
		Measured: fmt.Sprintf("%d requests = %.3f × minimum %d", after, ratio, least),
		Limit:    fmt.Sprintf("≤ %.2f × minimum, objects equal", resyncOverMinimum),
		OK:       ratio <= resyncOverMinimum && equal,
		Note: fmt.Sprintf("%d releases, %s; per project %d requests (Ocean's code: %d), %.1f s vs %.1f s",
			releases, same, before, ocean, afterWall.Seconds(), beforeWall.Seconds()),
	}}, nil
}
