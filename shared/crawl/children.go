package crawl

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// childPath is the per-project listing of each project-child kind.
var childPath = map[string]string{selector.KindPipeline: "pipelines", selector.KindJob: "jobs", selector.KindRelease: "releases",
	selector.KindTag: "repository/tags", selector.KindBranch: "repository/branches", selector.KindDeployment: "deployments"}

// ProjectInfo is what child objects carry of their project, under
// "__project", so mappings can relate them and build identifiers.
func ProjectInfo(p map[string]any) map[string]any {
	return map[string]any{"id": p["id"], "path_with_namespace": p["path_with_namespace"], "web_url": p["web_url"], "name": p["name"]}
}

// ProjectChildren streams pipelines, jobs, releases, tags, deployments or
// branches of every selected project: GitLab lists them only per project,
// so this costs a request or more per project. As in Ocean every page is
// listed unless LimitPerProject caps it (newest first); APIQueryParams
// are passed to GitLab. Empty repositories have none and are skipped.
func (s *Source) ProjectChildren(ctx context.Context, kind string, o Options, fn func(gitlab.Page) error) (Counts, error) {
	// Releases: a full pass reads them by group where that gives the
	// same objects in fewer requests (releases.go); the projects it
	// covers are not read again below.
	var byGroup Counts
	var covered map[float64]bool
	if kind == selector.KindRelease {
		var err error
		if covered, byGroup, err = s.groupReleases(ctx, o, fn); err != nil {
			return byGroup, err
		}
	}
	c, err := s.EachProject(ctx, true, o.ActiveProjects, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
		id := int64(num(pr["id"]))
		info := ProjectInfo(pr)
		var items gitlab.Page
		var err error
		switch {
		case kind == selector.KindRelease && covered[num(pr["id"])]:
			return gitlab.Page{}, nil
		case kind == selector.KindRelease:
			items, err = s.projectReleases(ctx, id, pr, o)
		case kind == selector.KindJob && o.jobsFromProjectListing():
			items, err = s.pipelineJobsFromProject(ctx, id, o)
		case kind == selector.KindJob && (o.JobsPerPipeline > 0 || len(o.PipelineQueryParams) > 0):
			items, err = s.pipelineJobs(ctx, id, o)
		case kind == selector.KindJob:
			items, err = s.projectJobs(ctx, id, o)
		case kind == selector.KindBranch && o.DefaultBranchOnly:
			def, _ := pr["default_branch"].(string)
			var b map[string]any
			start := time.Now()
			if _, err = s.Client.Do(ctx, http.MethodGet, fmt.Sprintf("projects/%d/repository/branches/%s", id, gitlab.PathEscape(def)), nil, &b); err == nil {
				items = gitlab.Page{Items: []map[string]any{b}, RequestedAt: start}
			}
		default:
			q := gitlab.CloneValues(o.APIQueryParams)
			switch {
			case kind == selector.KindBranch && o.Regex != "":
				// GitLab's branch listing takes an re2 regex (GitLab 17.x+);
				// it is also applied here, for older instances.
				q.Set("regex", o.Regex)
			case kind == selector.KindBranch && o.Search != "":
				q.Set("search", o.Search)
			}
			if kind == selector.KindPipeline && o.CreatedAfterDays > 0 && q.Get("created_after") == "" {
				q.Set("created_after", o.since(o.CreatedAfterDays).UTC().Format(time.RFC3339))
			}
			items, err = s.listAll(ctx, fmt.Sprintf("projects/%d/%s", id, childPath[kind]), q, o.LimitPerProject)
		}
		if err != nil {
			return items, fmt.Errorf("crawl: listing %s of project %v: %w", childPath[kind], info["path_with_namespace"], err)
		}
		kept := items.Items[:0]
		for _, it := range items.Items {
			if kind == selector.KindBranch && o.regex != nil {
				if name, _ := it["name"].(string); !o.regex.MatchString(name) {
					continue
				}
			}
			switch kind {
			case selector.KindJob:
				// Ocean adds nothing to jobs; glsync adds __project.
				it["__project"] = info
			case selector.KindDeployment:
				// Ocean v2 gives deployments their whole project (here its
				// ref, without what only the release reading keeps).
				it["__project"] = ProjectRef(pr)
			default:
				it["__project"] = info
			}
			kept = append(kept, it)
		}
		items.Items = kept
		return items, nil
	}, fn)
	c.Fetched += byGroup.Fetched
	c.Selected += byGroup.Selected
	return c, err
}

// listAll lists a project's collection: every page, or the first limit
// items when limit > 0, in the order q asks for, GitLab's own when it
// asks none: Ocean's requests (per_page and page only) and Ocean's order
// (pipelines id desc, tags updated desc, branches by name, deployments
// id asc). An order of glsync's own is no option: tags refuse
// order_by=id and branches sort=asc (400), and pipelines read id asc
// came out in the reverse of Ocean's order.
func (s *Source) listAll(ctx context.Context, path string, q url.Values, limit int) (gitlab.Page, error) {
	if limit > 0 {
		return s.Client.FirstItemsQuery(ctx, path, q, limit)
	}
	var out gitlab.Page
	err := s.walkAll(ctx, path, q, func(p gitlab.Page) error {
		if out.RequestedAt.IsZero() {
			out.RequestedAt = p.RequestedAt
		}
		out.Items = append(out.Items, p.Items...)
		return nil
	})
	return out, err
}

// walkAll reads every page of an offset listing one after another, in
// the order q asks for (GitLab's own when it asks none), handing each to
// fn in that order.
func (s *Source) walkAll(ctx context.Context, path string, q url.Values, fn func(gitlab.Page) error) error {
	return s.Client.WalkOffset(ctx, path, q, func(p gitlab.Page, _ int64) (bool, error) {
		if err := fn(p); err != nil {
			return false, err
		}
		return true, nil
	})
}

// since is now minus days.
func (o *Options) since(days float64) time.Time {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	return now.Add(-time.Duration(days * float64(24*time.Hour)))
}

// projectJobs lists a project's newest jobs (GET /projects/:id/jobs,
// keyset, newest first: one request for up to 100 jobs whatever the
// number of pipelines), up to limit, then the rest of the last pipeline
// begun, so no pipeline is cut in the middle. A pipeline's jobs are
// created together, so they are next to each other in this order.
// APIQueryParams filter the jobs (scope[]).
func (s *Source) projectJobs(ctx context.Context, projectID int64, o Options) (gitlab.Page, error) {
	limit := o.LimitPerProject
	if limit <= 0 {
		limit = math.MaxInt // Ocean v1: every job of the project
	}
	var out gitlab.Page
	begun := map[float64]bool{}
	err := s.Client.WalkKeyset(ctx, fmt.Sprintf("projects/%d/jobs", projectID), o.APIQueryParams, func(p gitlab.Page) (bool, error) {
		if out.RequestedAt.IsZero() {
			out.RequestedAt = p.RequestedAt
		}
		for _, j := range p.Items {
			pl, _ := j["pipeline"].(map[string]any)
			pid := num(pl["id"])
			if len(out.Items) >= limit && !begun[pid] {
				return false, nil
			}
			begun[pid] = true
			out.Items = append(out.Items, j)
		}
		return true, nil
	})
	return out, err
}

// pipelineJobs lists the jobs of a project's pipelines, newest first,
// pipeline by pipeline: with JobsPerPipeline the first that many jobs of
// each (Ocean v2: every pipeline, the first page of its jobs), else every
// job of each pipeline until LimitPerProject jobs, never cutting a
// pipeline. PipelineQueryParams filter the pipelines (status, ref,
// source…), APIQueryParams each pipeline's jobs (scope[],
// include_retried).
func (s *Source) pipelineJobs(ctx context.Context, projectID int64, o Options) (gitlab.Page, error) {
	pipelines, err := s.listAll(ctx, fmt.Sprintf("projects/%d/pipelines", projectID), o.PipelineQueryParams, o.LimitPerProject)
	if err != nil {
		return pipelines, err
	}
	out := gitlab.Page{RequestedAt: pipelines.RequestedAt}
	for _, pl := range pipelines.Items {
		if o.LimitPerProject > 0 && len(out.Items) >= o.LimitPerProject {
			break
		}
		path := fmt.Sprintf("projects/%d/pipelines/%d/jobs", projectID, int64(num(pl["id"])))
		if o.JobsPerPipeline > 0 && o.LimitPerProject == 0 {
			p, err := s.Client.FirstItemsQuery(ctx, path, o.APIQueryParams, o.JobsPerPipeline)
			if err != nil {
				return out, err
			}
			out.Items = append(out.Items, p.Items...)
			continue
		}
		err := s.Client.ListOffset(ctx, path, o.APIQueryParams, func(p gitlab.Page) error {
			out.Items = append(out.Items, p.Items...)
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// EachProject runs fetch for every selected project (skipping empty
// repositories when asked), as many at a time as the client's gate
// allows, and hands the non-empty pages to fn one at a time.
// The projects come from one listing per Source shared by every
// per-project kind (only the fields they need are kept, in a temporary
// file: see projectRefs), so five per-project kinds do not list the
// projects five times.
func (s *Source) EachProject(ctx context.Context, skipEmpty bool, active *bool, fetch func(ctx context.Context, project map[string]any) (gitlab.Page, error), fn func(gitlab.Page) error) (Counts, error) {
	if err := s.refs.load(ctx, s); err != nil {
		return Counts{}, err
	}
	inc := incrementalFrom(ctx)
	if inc != nil {
		// The mark is recorded once the project's objects are fetched;
		// it only counts if the whole pass completes (written and
		// cleaned up), so recording it before fn runs is safe.
		inner := fetch
		fetch = func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
			start := time.Now()
			ctx, skipped := withProjectFlag(ctx)
			p, err := inner(ctx, pr)
			// A project with a skipped file was not read completely:
			// without a mark, the next pass reads it again and reports
			// the file again, until a commit fixes it.
			if err == nil && (skipped == nil || !skipped.Load()) {
				err = inc.Read(ctx, pr, start)
			}
			return p, err
		}
	}
	return s.eachProjectFrom(ctx, skipEmpty, func(ctx context.Context, each func(gitlab.Page) error) (Counts, error) {
		return Counts{}, s.refs.each(ctx, func(chunk []map[string]any) error {
			refs := chunk
			if active != nil {
				refs = make([]map[string]any, 0, len(chunk))
				for _, pr := range chunk {
					if ActiveSelected(pr, active) {
						refs = append(refs, pr)
					}
				}
			}
			if inc != nil {
				var err error
				if refs, err = skipUnchanged(ctx, inc, refs); err != nil {
					return err
				}
			}
			return each(gitlab.Page{Items: refs})
		})
	}, fetch, fn)
}

// ProjectRef is the project as per-project kinds see it (their "repo"):
// the fields refFields names, as the shared project listing keeps them.
func ProjectRef(pr map[string]any) map[string]any {
	r := make(map[string]any, len(refFields))
	for _, f := range refFields {
		r[f] = pr[f]
	}
	return r
}

// refFields are the project fields per-project kinds use.
// last_activity_at is what incremental resyncs compare.
var refFields = []string{"id", "name", "path", "path_with_namespace", "default_branch", "empty_repo", "web_url", "archived", "last_activity_at"}

func (s *Source) eachProject(ctx context.Context, skipEmpty bool, active *bool, fetch func(ctx context.Context, project map[string]any) (gitlab.Page, error), fn func(gitlab.Page) error) (Counts, error) {
	return s.eachProjectFrom(ctx, skipEmpty, func(ctx context.Context, each func(gitlab.Page) error) (Counts, error) {
		return s.projects(ctx, active, each)
	}, fetch, fn)
}

func (s *Source) eachProjectFrom(ctx context.Context, skipEmpty bool, list func(context.Context, func(gitlab.Page) error) (Counts, error),
	fetch func(ctx context.Context, project map[string]any) (gitlab.Page, error), fn func(gitlab.Page) error) (Counts, error) {
	var c Counts
	var mu sync.Mutex
	sem := make(chan struct{}, s.Client.InFlightLimit())
	var wg sync.WaitGroup
	var firstErr error // guarded by mu
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) { // mu held
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	_, err := list(ctx, func(p gitlab.Page) error {
		for _, pr := range p.Items {
			if empty, _ := pr["empty_repo"].(bool); empty && skipEmpty {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				items, err := fetch(ctx, pr)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					fail(err)
					return
				}
				c.Fetched += len(items.Items)
				c.Selected += len(items.Items)
				if len(items.Items) > 0 && firstErr == nil {
					if err := fn(items); err != nil {
						fail(err)
					}
				}
			}()
		}
		return nil
	})
	wg.Wait()
	if firstErr != nil {
		return c, firstErr
	}
	return c, err
}

// DeploymentSelected reports whether a resync with these options lists
// deployment d of a project: the apiQueryParams GitLab filters on
// (environment, status, updated_after/before, finished_after/before),
// applied to the object a webhook event fetched.
func (o *Options) DeploymentSelected(d map[string]any) bool {
	q := o.APIQueryParams
	if env := q.Get("environment"); env != "" {
		e, _ := d["environment"].(map[string]any)
		if name, _ := e["name"].(string); name != env {
			return false
		}
	}
	if st := q.Get("status"); st != "" && d["status"] != st {
		return false
	}
	if after, before := q.Get("updated_after"), q.Get("updated_before"); after != "" || before != "" {
		updated, _ := d["updated_at"].(string)
		if !within(updated, after, before) {
			return false
		}
	}
	if after, before := q.Get("finished_after"), q.Get("finished_before"); after != "" || before != "" {
		dep, _ := d["deployable"].(map[string]any)
		finished, _ := dep["finished_at"].(string)
		return within(finished, after, before)
	}
	return true
}

// within reports whether time at lies after "after" and before "before"
// (either may be empty).
func within(at, after, before string) bool {
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return false
	}
	if a, err := time.Parse(time.RFC3339, after); err == nil && !t.After(a) {
		return false
	}
	if b, err := time.Parse(time.RFC3339, before); err == nil && !t.Before(b) {
		return false
	}
	return true
}
