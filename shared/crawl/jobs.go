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
//
// When to stop reading the project's listing. Let W be the finished
// pipelines, n the listing's pages read and C the pipelines covered in
// the end (W if the listing was read to its end). Against Ocean's
// reading the project costs n - C requests more (C per-pipeline requests
// saved, n pages paid): the listing pays exactly when n <= C.
//
// No rule that ever reads the listing can promise n <= C for every
// project: before the first page nothing tells a project whose listing
// ends on it (W-1 requests saved) from one of the same pipelines whose
// first page is 100 rows of a single pipeline's retried jobs and whose
// listing goes on (nothing covered: one request lost); the pipeline
// listing shows neither job counts nor retries, and the job listing,
// read by keyset, does not count its rows. Nor can a rule read on
// through pages that cover nothing (pipelines under 100 jobs are covered
// only at the listing's end) without a project whose listing then goes
// on for longer costing those pages. What a rule can do is bound the loss, and this one does:
//
//   - the first page is read (W >= 2);
//   - after a full page k, page k+1 is read only if some pipeline is
//     still uncovered, the k pages reached more than k of the finished
//     pipelines (else they average a page of jobs or more, and reading on
//     cannot pay: four pipelines of 120 jobs stop after one page, which
//     covered the newest, as many requests as Ocean), and
//     k+1 - c(k) <= S, c(k) the pipelines covered after page k and
//     S = ceil(W/2).
//
// Then n - C <= max(1, S), so requests(new) <= requests(Ocean) +
// max(1, ceil(W/2)) for every project, and a listing read to its end
// always pays. Stopped before its end: if n = 1, n - C <= 1; if n >= 2,
// page n was read because n - c(n-1) <= S, and C >= c(n-1), so
// n - C <= S. Read to its end: C = W, and if n >= 2 page n was read
// because the n-1 pages before reached more than n-1 pipelines, so
// W >= n and n - C <= 0. So a loss needs a listing given up before its
// end, and a loss above one request a listing whose pages each reach
// more than one finished pipeline and that goes on past S uncovered
// pages (TestOceanJobsPerProjectShape: an old pipeline with a long retry
// history under 20 small ones reaches the bound, 11 requests more than
// 22). The usual shapes pay: 150 pipelines of 3 jobs cost 2 pipeline
// pages and 5 job pages instead of 2 and 150, 40 pipelines of 30 jobs 13
// requests instead of 41. S is where the trade lies: a smaller S bounds
// the loss tighter and gives up the listings longer than S pages whose
// pipelines are under 100 jobs each (covered only at the end).

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
// the project's job listing where it holds them (see the notes above),
// stopping that listing by the rule above so that a project costs at most
// max(1, ceil(W/2)) requests more than Ocean's reading and, in the usual
// shapes (listings of a page, pipelines of fewer than 100 jobs), fewer.
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
		slack, pages, covered, touched, stopped := (len(wanted)+1)/2, 0, 0, 0, false
		err := s.Client.WalkKeyset(ctx, fmt.Sprintf("projects/%d/jobs", projectID), nil, func(p gitlab.Page) (bool, error) {
			pages++
			for _, j := range p.Items {
				pl, _ := j["pipeline"].(map[string]any)
				w := wanted[num(pl["id"])]
				name := str(j["name"])
				if w == nil || w.names[name] {
					continue // another pipeline's, or retried
				}
				if len(w.names) == 0 {
					touched++
				}
				w.names[name] = true
				if len(w.jobs) < per {
					w.jobs = append(w.jobs, j)
					if len(w.jobs) == per {
						covered++
					}
				}
			}
			if len(p.Items) < 100 {
				return false, nil // the last page
			}
			// The rule above: read on while pipelines are uncovered,
			// the pages so far reached more pipelines than pages, and
			// should the next page cover and end nothing, the pages
			// read would exceed the pipelines covered by at most the
			// slack.
			stopped = covered == len(wanted) || touched <= pages || pages+1-covered > slack
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
