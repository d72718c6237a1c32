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
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/resync/minimum"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

func init() {
	register("jobs", oceanKind{
		kind:      selector.KindJob,
		name:      "jobs as Ocean v2 (first 100 of every pipeline), %d projects",
		noun:      "jobs",
		ocean:     crawl.Options{Options: selector.Options{JobsPerPipeline: 100}, JobsPipelineByPipeline: true},
		options:   crawl.Options{Options: selector.Options{JobsPerPipeline: 100}},
		oceanName: "per-pipeline",
		oceanNote: "per pipeline (Ocean's requests)",
		own: func(counts map[string]int) int {
			return counts["GET /projects/:id/pipelines"] + counts["GET /projects/:id/jobs"] + counts["GET /projects/:id/pipelines/:id/jobs"]
		},
		minimum: minimum.OceanJobs,
	}.rows)
}
