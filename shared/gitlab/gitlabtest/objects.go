// Project children and memberships: the store they share (one id sequence)
// and childRoutes, which lists and fetches issues, pipelines, jobs and
// releases; each family's objects, JSON and webhooks are in its own file
// (issues.go, pipelines.go, deployments.go, releases.go, members.go).

package gitlabtest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"
)

// objects holds the simulated project children and memberships.
type objects struct {
	issues    map[int64]*Issue
	pipelines map[int64]*Pipeline
	jobs      map[int64]*Job
	releases  []*Release
	// releaseIDs numbers releases apart from nextID, so adding releases
	// leaves every other object's id as it was.
	releaseIDs int64
	members    []*Member
	// deployments are those added with AddDeployment, besides the two
	// every service project has (see deploymentsOf).
	deployments []*Deployment
	nextID      int64
}

func (o *objects) init() {
	if o.issues == nil {
		o.issues, o.pipelines, o.jobs = map[int64]*Issue{}, map[int64]*Pipeline{}, map[int64]*Job{}
		o.nextID = 700000
	}
}

func (o *objects) id() int64 { o.nextID++; return o.nextID }

func (s *Server) pathOf(projectID int64) string {
	p := s.projects[projectID]
	return s.groups[p.NamespaceID].FullPath + "/" + p.Path
}

// childRoutes serves the project children: issues, pipelines, jobs and
// releases, listed and fetched one by one.
func (s *Server) childRoutes(w http.ResponseWriter, r *http.Request, tok *Token, p *Project, segs []string) bool {
	q := r.URL.Query()
	base := fmt.Sprintf("projects/%d/%s", p.ID, segs[0])
	s.mu.RLock()
	defer s.mu.RUnlock()
	var list []map[string]any
	var one map[string]any
	if len(segs) == 3 && segs[0] == "pipelines" && segs[2] == "jobs" {
		// GET /projects/:id/pipelines/:pipeline_id/jobs as GitLab's
		// Ci::JobsFinder answers it: the pipeline's jobs newest first (id
		// desc since GitLab 13.5), whatever their status (created ones
		// too), without the retried ones unless include_retried=true,
		// filtered by scope (one status or scope[] for several).
		scopes, ok := jobScopesOf(w, q)
		if !ok {
			return true
		}
		var items []*Job
		for _, j := range s.obj.jobs {
			if j.ProjectID == p.ID && strconv.FormatInt(j.PipelineID, 10) == segs[1] && (len(scopes) == 0 || slices.Contains(scopes, j.Status)) &&
				(!j.Retried || q.Get("include_retried") == "true") {
				items = append(items, j)
			}
		}
		sort.Slice(items, func(a, b int) bool { return items[a].ID > items[b].ID })
		out := make([]map[string]any, 0, len(items))
		for _, j := range items {
			out = append(out, s.jobJSON(j))
		}
		writeJSON(w, http.StatusOK, offsetPage(w, r, s.apiURL(fmt.Sprintf("projects/%d/pipelines/%s/jobs", p.ID, segs[1])), out))
		return true
	}
	switch segs[0] {
	case "issues":
		var items []*Issue
		for _, i := range s.obj.issues {
			if i.ProjectID == p.ID && (len(segs) == 1 && issueMatches(i, q) || len(segs) == 2 && strconv.FormatInt(i.IID, 10) == segs[1]) {
				items = append(items, i)
			}
		}
		sort.Slice(items, func(a, b int) bool { return items[a].ID > items[b].ID })
		for _, i := range items {
			list = append(list, s.issueJSON(i))
		}
	case "pipelines":
		var items []*Pipeline
		for _, x := range s.obj.pipelines {
			if x.ProjectID != p.ID || len(segs) == 2 && strconv.FormatInt(x.ID, 10) != segs[1] {
				continue
			}
			// GitLab's pipeline filters.
			if st := q.Get("status"); st != "" && st != x.Status || q.Get("ref") != "" && q.Get("ref") != x.Ref || q.Get("source") != "" && q.Get("source") != x.Source {
				continue
			}
			if !timeWindow(q, "created", x.CreatedAt) || !timeWindow(q, "updated", x.UpdatedAt) {
				continue
			}
			items = append(items, x)
		}
		sort.Slice(items, func(a, b int) bool { return items[a].ID > items[b].ID })
		for _, x := range items {
			list = append(list, s.pipelineJSON(x))
		}
	case "jobs":
		// GET /projects/:id/jobs as GitLab's Ci::JobsFinder answers it:
		// the project's jobs newest first, retried ones included (the
		// listing has no include_retried), those still "created" left out
		// (the finder's "relevant" scope), filtered by scope; offset or
		// keyset pagination (keyset only in the default id desc order).
		// One job by id is found whatever its status.
		scopes, ok := jobScopesOf(w, q)
		if !ok {
			return true
		}
		var items []*Job
		for _, x := range s.obj.jobs {
			if x.ProjectID == p.ID && (len(segs) == 1 && x.Status != "created" || len(segs) == 2 && strconv.FormatInt(x.ID, 10) == segs[1]) &&
				(len(scopes) == 0 || slices.Contains(scopes, x.Status)) {
				items = append(items, x)
			}
		}
		sort.Slice(items, func(a, b int) bool { return items[a].ID > items[b].ID })
		if len(segs) == 1 && q.Get("pagination") == "keyset" {
			if q.Get("sort") == "asc" || q.Get("order_by") != "" && q.Get("order_by") != "id" {
				writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "Keyset pagination is not yet available for this type of request"})
				return true
			}
			page, ok := cursorPage(w, r, s.apiURL(base), items, func(j *Job) int64 { return j.ID })
			if !ok {
				return true
			}
			out := make([]map[string]any, 0, len(page))
			for _, x := range page {
				out = append(out, s.jobJSON(x))
			}
			writeJSON(w, http.StatusOK, out)
			return true
		}
		for _, x := range items {
			list = append(list, s.jobJSON(x))
		}
	case "releases":
		// lib/api/releases.rb: authorize_read_releases! before every
		// project release route (403 when the project's releases are
		// disabled, or private and the token no member), then
		// ReleasesFinder ordered by order_by (released_at or created_at)
		// and sort, validated as Grape does.
		if !s.releasesReadable(tok, p) {
			writeJSON(w, http.StatusForbidden, forbidden)
			return true
		}
		orderBy, dir := orDefault(q.Get("order_by"), "released_at"), orDefault(q.Get("sort"), "desc")
		if orderBy != "released_at" && orderBy != "created_at" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "order_by does not have a valid value"})
			return true
		}
		if dir != "asc" && dir != "desc" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "sort does not have a valid value"})
			return true
		}
		var items []*Release
		for _, x := range s.obj.releases {
			if x.ProjectID == p.ID && (len(segs) == 1 || x.TagName == segs[1]) {
				items = append(items, x)
			}
		}
		items = sortedReleases(items, dir == "desc")
		if orderBy == "created_at" {
			sort.SliceStable(items, func(a, b int) bool {
				if dir == "desc" {
					return items[a].CreatedAt.After(items[b].CreatedAt)
				}
				return items[a].CreatedAt.Before(items[b].CreatedAt)
			})
		}
		for _, x := range items {
			list = append(list, s.releaseJSON(x))
		}
	default:
		return false
	}
	if len(segs) == 2 {
		if len(list) == 0 {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not found"})
			return true
		}
		one = list[0]
		writeJSON(w, http.StatusOK, one)
		return true
	}
	page := offsetPage(w, r, s.apiURL(base), list)
	if page == nil {
		page = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, page)
	return true
}

func labelsOf(l []string) []any {
	out := []any{}
	for _, x := range l {
		out = append(out, x)
	}
	return out
}

// timeWindow applies GitLab's <field>_after and <field>_before filters
// (ISO 8601 times); an unreadable value filters nothing, as the real API
// answers 400 only for some endpoints.
func timeWindow(q url.Values, field string, at time.Time) bool {
	if v := q.Get(field + "_after"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil && !at.After(t) {
			return false
		}
	}
	if v := q.Get(field + "_before"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil && !at.Before(t) {
			return false
		}
	}
	return true
}
