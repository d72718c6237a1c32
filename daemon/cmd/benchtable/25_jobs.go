package main

// Ocean v2's jobs (the first 100 jobs of every pipeline of every
// project) read from each project's job listing, pipeline by pipeline
// only where that listing cannot hold a pipeline's jobs (shared/crawl
// jobs.go), on the every-kind rows' organisation (2,000 projects, 500
// with -quick; 20 ms per request; the admin token, so each project is
// read once): its requests against the fewest that read that set
// (minimum.OceanJobs), and its objects against the per-pipeline reading's,
// which makes Ocean's requests, on the same organisation.

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

func init() { register("jobs", jobsRows) }

func jobsRows(ctx context.Context, env Env) ([]Row, error) {
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
		_, err = s.ProjectChildren(ctx, selector.KindJob, o, func(p gitlab.Page) error {
			for _, j := range p.Items {
				b, err := json.Marshal(j)
				if err != nil {
					return err
				}
				objects[string(b)]++
			}
			return nil
		})
		wall := time.Since(start)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("reading jobs: %w", err)
		}
		counts, _ := sim.Requests()
		// The job kind's own requests: the project listing is shared by
		// every per-project kind.
		n := counts["GET /projects/:id/pipelines"] + counts["GET /projects/:id/jobs"] + counts["GET /projects/:id/pipelines/:id/jobs"]
		return objects, n, wall, nil
	}
	perPipeline, before, beforeWall, err := read(crawl.Options{Options: selector.Options{JobsPerPipeline: 100}, JobsPipelineByPipeline: true})
	if err != nil {
		return nil, err
	}
	objects, after, afterWall, err := read(crawl.Options{Options: selector.Options{JobsPerPipeline: 100}})
	if err != nil {
		return nil, err
	}
	least, ocean := minimum.OceanJobs(sim, func(p gitlabtest.ProjectInfo) bool { return !p.EmptyRepo })
	equal := maps.Equal(objects, perPipeline)
	jobs := 0
	for _, n := range objects {
		jobs += n
	}
	ratio := float64(after) / float64(least)
	same := "the same objects as the per-pipeline reading"
	if !equal {
		same = fmt.Sprintf("**objects differ from the per-pipeline reading** (%d distinct vs %d)", len(objects), len(perPipeline))
	}
	return []Row{{
		Name:     fmt.Sprintf("jobs as Ocean v2 (first 100 of every pipeline), %d projects", projects),
		Measured: fmt.Sprintf("%d requests = %.3f × minimum %d", after, ratio, least),
		Limit:    fmt.Sprintf("≤ %.2f × minimum, objects equal", resyncOverMinimum),
		OK:       ratio <= resyncOverMinimum && equal,
		Note: fmt.Sprintf("%d jobs, %s; per pipeline (Ocean's requests) %d requests (Ocean's code: %d), %.1f s vs %.1f s",
			jobs, same, before, ocean, afterWall.Seconds(), beforeWall.Seconds()),
	}}, nil
}
