// Package minimum computes the fewest GitLab requests any crawler needs
// to read what a resync reads from a simulated organisation: the yardstick
// glsync's benchmarks (the resync package's and benchtable's) measure
// their request counts against. GitLab serves at most 100 objects a page,
// so listing n objects takes ceil(n/100) requests (one when n is 0).
package minimum

import (
	"sort"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// Scope answers which groups and projects a root group's token sees.
type Scope struct{ parent map[int64]int64 }

// NewScope reads the simulator's group tree.
func NewScope(sim *gitlabtest.Server) Scope {
	parent := map[int64]int64{}
	for _, g := range sim.Groups() {
		parent[g.ID] = g.ParentID
	}
	return Scope{parent}
}

// Under reports whether group id is root or one of its descendants.
func (s Scope) Under(id, root int64) bool {
	for ; id != 0; id = s.parent[id] {
		if id == root {
			return true
		}
	}
	return false
}

// Sees reports whether root's token sees p: p lives under root or is
// shared with a group under it.
func (s Scope) Sees(p gitlabtest.ProjectInfo, root int64) bool {
	v := s.Under(p.NamespaceID, root)
	for _, g := range p.SharedWith {
		v = v || s.Under(g, root)
	}
	return v
}

func pages(n int) int { return max(1, (n+99)/100) }

// AllKinds computes, for the every-kind mapping (shared/mapping/all-kinds.yml)
// with a group access token per root group, per kind the fewest requests
// beyond the listings every kind shares, and those shared listings (GET
// /user, the groups and the projects of each token). Per-project kinds
// count only the projects read says to read (nil: every project), as an
// incremental resync reads only those: a request per non-empty project a
// token sees (pipelines, jobs, releases, tags, deployments, the default
// branch), project-with-members one per project; member kinds a listing
// per group; merge requests and issues a listing per root group, ceil(n/100)
// pages of the n the selector keeps (merge requests: one listing of the
// opened ones, one of the merged ones in the window); job the pages of
// the project's job listing that hold its newest jobs up to the limit and
// the rest of the last pipeline begun; file, folder, skill and plugin a
// tree listing per non-empty project (entries/100 pages), plus a read per
// matching file.
func AllKinds(sim *gitlabtest.Server, org gitlabtest.Org, read func(projectID int64) bool) (perKind map[string]int, shared int) {
	gs := sim.Groups()
	sc := NewScope(sim)
	per := map[string]int{}
	jobsOf := map[int64][]gitlabtest.Job{}
	for _, j := range sim.Jobs() {
		jobsOf[j.ProjectID] = append(jobsOf[j.ProjectID], j)
	}
	all := sim.Projects()
	for _, root := range org.Roots {
		groups, projects, nonEmpty, jobPages := 0, 0, 0, 0
		for _, g := range gs {
			if sc.Under(g.ID, root.ID) {
				groups++
			}
		}
		for _, p := range all {
			if !sc.Sees(p, root.ID) {
				continue
			}
			projects++
			if p.EmptyRepo || (read != nil && !read(p.ID)) {
				continue
			}
			nonEmpty++
			jobPages += NewestJobPages(jobsOf[p.ID], 20)
			paths, folder := sim.RepoTree(p.ID)
			tp := pages(len(paths))
			per["file"] += tp
			per["folder"] += tp
			// skill and plugin: a tree listing each, and a read per
			// SKILL.md or manifest (the generated repositories have none).
			per["skill"] += tp
			per["plugin"] += tp
			for i, path := range paths {
				if !folder[i] && strings.HasSuffix(path, "catalog-info.json") {
					per["file"]++
				}
			}
		}
		shared += 1 + pages(groups) + pages(projects)
		per["project"] += 0
		per["group-with-members"] += groups
		per["member"] += groups
		per["project-with-members"] += projects
		// The all-kinds mapping: merge requests opened (any age) or merged
		// in the last 30 days, issues of every state updated in the last
		// 30 days.
		window := time.Now().Add(-30 * 24 * time.Hour)
		inRoot := map[int64]bool{}
		archived := map[int64]bool{}
		for _, p := range all {
			inRoot[p.ID] = sc.Under(p.NamespaceID, root.ID)
			archived[p.ID] = p.Archived
		}
		mrOpened, mrMerged, issues := 0, 0, 0
		for _, m := range sim.MergeRequests() {
			switch {
			case !inRoot[m.ProjectID]:
			case m.State == "opened":
				mrOpened++
			case m.State == "merged" && m.UpdatedAt.After(window):
				mrMerged++
			}
		}
		for _, i := range sim.Issues() {
			if inRoot[i.ProjectID] && !archived[i.ProjectID] && i.UpdatedAt.After(window) {
				issues++
			}
		}
		// The opened ones whatever their age, the merged ones in the
		// window: two listings (Ocean lists them the same way).
		per["merge-request"] += pages(mrOpened) + pages(mrMerged)
		per["issue"] += pages(issues)
		for _, k := range []string{"pipeline", "release", "tag", "branch", "deployment"} {
			per[k] += nonEmpty
		}
		per["job"] += jobPages
	}
	return per, shared
}

// NewestJobPages is how many pages of 100 the project's job listing
// (newest first) takes to hold its newest limit jobs and the rest of the
// last pipeline begun; 1 when the project has no job.
func NewestJobPages(jobs []gitlabtest.Job, limit int) int {
	jobs = append([]gitlabtest.Job(nil), jobs...)
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].ID > jobs[b].ID })
	begun := map[int64]bool{}
	n := 0
	for _, j := range jobs {
		if n >= limit && !begun[j.PipelineID] {
			break
		}
		begun[j.PipelineID] = true
		n++
	}
	// The listing's last page is known to be the last only when it is
	// not full; a page read past the limit is needed to see the next
	// pipeline, unless the project has no more jobs.
	if n < len(jobs) {
		return n/100 + 1
	}
	return max(1, (n+99)/100)
}

// OceanJobs is the fewest requests that read Ocean v2's jobs (the first
// 100 jobs of every pipeline, as GET /projects/:id/pipelines/:pipeline_id/jobs
// lists them; see shared/crawl/jobs.go) of the projects read says to read,
// and the requests Ocean's own code makes for them (offset pages of
// pipelines until a short one, then one job listing page per pipeline). Per project: the pipeline listing
// (ceil(pipelines/100) pages, one when there is none: it alone says
// which pipelines there are, and finds those whose jobs are all still
// created), then the cheaper of Ocean's request per pipeline and the
// project's job listing (ceil(jobs/100) pages of its jobs that are not
// created, retried ones included) plus a request per pipeline that may
// hold created jobs (a status other than success, failed, canceled or
// skipped), which only the pipeline's own listing shows. The project's
// listing is only worth reading for two pipelines or more whose status
// is final, and only when it reaches their jobs in fewer pages than
// there are such pipelines.
func OceanJobs(sim *gitlabtest.Server, read func(gitlabtest.ProjectInfo) bool) (least, ocean int) {
	pipelinesOf := map[int64][]gitlabtest.Pipeline{}
	for _, pl := range sim.Pipelines() {
		pipelinesOf[pl.ProjectID] = append(pipelinesOf[pl.ProjectID], pl)
	}
	visible := map[int64]int{}
	for _, j := range sim.Jobs() {
		if j.Status != "created" {
			visible[j.ProjectID]++
		}
	}
	final := map[string]bool{"success": true, "failed": true, "canceled": true, "skipped": true}
	for _, p := range sim.Projects() {
		if !read(p) {
			continue
		}
		pls := pipelinesOf[p.ID]
		finished := 0
		for _, pl := range pls {
			if final[pl.Status] {
				finished++
			}
		}
		jobs := len(pls)
		if finished >= 2 {
			jobs = min(jobs, pages(visible[p.ID])+len(pls)-finished)
		}
		least += pages(len(pls)) + jobs
		ocean += len(pls)/100 + 1 + len(pls)
	}
	return least, ocean
}

// OceanReleases is the fewest requests that read Ocean v2's releases
// (every release of each project of its set, as GET /projects/:id/releases
// lists them; see shared/crawl/releases.go) of the projects read says to
// read, for an admin token, and the requests Ocean's own code makes for
// them (offset pages until a short one, a 403 for a project whose
// releases are disabled). Per project whose releases are disabled: none
// (GitLab refuses them to everyone, so the set holds none). Per group
// (a namespace that is a group) the cheaper of its read projects' own
// listings (ceil(releases/100) pages each, one when there is none) and
// the group's listing of every release of its own projects, read or not
// (ceil(all/100) pages); projects in personal namespaces on their own.
func OceanReleases(sim *gitlabtest.Server, read func(gitlabtest.ProjectInfo) bool) (least, ocean int) {
	byProject, byGroup := map[int64]int{}, map[int64]int{}
	nsOf := map[int64]int64{}
	for _, p := range sim.Projects() {
		nsOf[p.ID] = p.NamespaceID
	}
	for _, r := range sim.Releases() {
		byProject[r.ProjectID]++
		byGroup[nsOf[r.ProjectID]]++
	}
	group := map[int64]bool{} // personal namespaces are not groups
	for _, g := range sim.Groups() {
		group[g.ID] = true
	}
	own := map[int64]int{} // a group's read projects' own pages
	for _, p := range sim.Projects() {
		if !read(p) {
			continue
		}
		ocean += byProject[p.ID]/100 + 1
		switch {
		case p.ReleasesAccess == "disabled":
		case !group[p.NamespaceID]:
			least += pages(byProject[p.ID])
		default:
			own[p.NamespaceID] += pages(byProject[p.ID])
		}
	}
	for g, n := range own {
		least += min(n, pages(byGroup[g]))
	}
	return least, ocean
}
