package crawl

import (
	"context"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// Ocean v2's jobs, in fewer requests (issue #24).
//
// What Ocean v2 reads (integrations/gitlab-v2, main.py on_resync_jobs and
// gitlab/clients/gitlab_client.py _get_pipeline_jobs): for every project,
// every page of GET /projects/:id/pipelines (per_page=100, offset pages
// until a short one, GitLab's default order id desc, with the selector's
// pipelineQueryParams and nothing else), then for each pipeline only the
// first page of GET /projects/:id/pipelines/:pipeline_id/jobs with
// per_page=100 and no other parameter: no scope, no include_retried.
// The objects are GitLab's job entities as listed, unchanged (glsync adds
// __project). So the set is, per pipeline the listing returns, its first
// 100 jobs as that listing orders them. A project costs Ocean one request
// per 100 pipelines plus one per pipeline.
//
// What GitLab's two job listings return (app/finders/ci/jobs_finder.rb;
// docs/api/jobs.md): both list builds only (no bridges), newest first
// (id desc; the pipeline listing since GitLab 13.5), as the same entity
// (Entities::Ci::Job). The pipeline's listing leaves out retried jobs
// unless include_retried=true and keeps the jobs still "created"; the
// project's listing (GET /projects/:id/jobs) keeps retried jobs (it has
// no include_retried) and leaves out the "created" ones (the finder's
// "relevant" scope).
//
// So the project's listing gives a pipeline's Ocean jobs exactly when:
//   - the retried jobs are removed: GitLab marks retried every job of a
//     pipeline but the newest of each name (a retry adds a clone under the
//     same name, and CommitStatus#update_older_statuses_retried! marks the
//     pipeline's older statuses of that name retried), so in the id desc
//     listing the first job of a name in a pipeline is its latest and the
//     later ones of that name are retried. (An external commit status
//     posted to the pipeline under a job's name would retire that job too,
//     unseen here: a case this reading does not cover.)
//   - the pipeline has no "created" job: GitLab computes a pipeline's
//     status from its latest jobs (Gitlab::Ci::Status::Composite), and a
//     created job makes it created, pending, running, manual, scheduled,
//     preparing or waiting_for_resource, never success, failed, canceled
//     or skipped; only pipelines with one of those four statuses are
//     taken from the project's listing, the others are read as Ocean
//     reads them;
//   - the listing has been read past the pipeline's jobs: either to its
//     end, or at least the first JobsPerPipeline latest jobs of that
//     pipeline have been seen (same order, so those are the first page
//     Ocean reads).
// Every other pipeline is read with Ocean's own request. The pipeline
// listing stays (it is what says which pipelines Ocean reads, and finds
// pipelines whose jobs are all still created, which the project's job
// listing never shows), so a project costs the pipeline pages, the
// project's job pages and a request per pipeline not covered, where Ocean
// pays one per pipeline. With fewer than two pipelines to cover, the
// project's listing cannot save anything and is not read.

// finishedPipeline are the pipeline statuses a pipeline with a job still
// "created" cannot have (see above).
var finishedPipeline = map[string]bool{"success": true, "failed": true, "canceled": true, "skipped": true}

// jobsFromProjectListing reports whether the options select Ocean v2's
// reading of jobs (the first page of every listed pipeline's jobs, with
// no job filter) that pipelineJobsFromProject reads more cheaply.
func (o *Options) jobsFromProjectListing() bool {
	return o.JobsPerPipeline > 0 && o.JobsPerPipeline <= 100 && o.LimitPerProject == 0 && len(o.APIQueryParams) == 0 && !o.JobsPipelineByPipeline
}

// pipelineJobsFromProject reads the jobs pipelineJobs reads with
// JobsPerPipeline, the same objects in the same order (pipeline by
// pipeline as the pipeline listing orders them, each newest first), from
// the project's job listing where it holds them (see the notes above).
// The project's listing is read at most for half as many pages as there
// are pipelines to cover: a listing that long would save little, and the
// pipelines it did cover (JobsPerPipeline jobs seen) are kept. That is
// the price of not knowing a listing's length beforehand: a project whose
// finished pipelines average more than 50 jobs can cost up to that many
// pages more than Ocean's reading (four pipelines of 120 jobs: two pages,
// covering the newest, then three pipelines' own listings, one request
// more than Ocean's four; see TestOceanJobsFromProjectListing), while one
// whose pipelines are small costs a page per 100 jobs instead of a
// request per pipeline.
func (s *Source) pipelineJobsFromProject(ctx context.Context, projectID int64, o Options) (gitlab.Page, error) {
	pipelines, err := s.listAll(ctx, fmt.Sprintf("projects/%d/pipelines", projectID), o.PipelineQueryParams, 0)
	if err != nil {
		return pipelines, err
	}
	per := o.JobsPerPipeline
	type seen struct {
		jobs  []map[string]any
		names map[string]bool
	}
	wanted := map[float64]*seen{}
	for _, pl := range pipelines.Items {
		if finishedPipeline[str(pl["status"])] {
			wanted[num(pl["id"])] = &seen{names: map[string]bool{}}
		}
	}
	complete := false
	if len(wanted) >= 2 {
		budget, pages, stopped := (len(wanted)+1)/2, 0, false
		err := s.Client.WalkKeyset(ctx, fmt.Sprintf("projects/%d/jobs", projectID), nil, func(p gitlab.Page) (bool, error) {
			pages++
			for _, j := range p.Items {
				pl, _ := j["pipeline"].(map[string]any)
				w := wanted[num(pl["id"])]
				name := str(j["name"])
				if w == nil || w.names[name] {
					continue // another pipeline's, or retried
				}
				w.names[name] = true
				if len(w.jobs) < per {
					w.jobs = append(w.jobs, j)
				}
			}
			if len(p.Items) < 100 {
				return false, nil // the last page
			}
			stopped = pages >= budget
			return !stopped, nil
		})
		if err != nil {
			return gitlab.Page{}, fmt.Errorf("listing the project's jobs: %w", err)
		}
		complete = !stopped
	}
	out := gitlab.Page{RequestedAt: pipelines.RequestedAt}
	for _, pl := range pipelines.Items {
		if w := wanted[num(pl["id"])]; w != nil && (complete || len(w.jobs) >= per) {
			out.Items = append(out.Items, w.jobs...)
			continue
		}
		p, err := s.Client.FirstItemsQuery(ctx, fmt.Sprintf("projects/%d/pipelines/%d/jobs", projectID, int64(num(pl["id"]))), nil, per)
		if err != nil {
			return out, fmt.Errorf("listing the jobs of pipeline %v: %w", pl["id"], err)
		}
		out.Items = append(out.Items, p.Items...)
	}
	return out, nil
}
