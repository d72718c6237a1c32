package gitlabtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Issue is an issue of a project.
type Issue struct {
	ID, IID, ProjectID   int64
	Title, State         string // opened, closed
	Confidential         bool
	Labels               []string
	Type                 string // issue (default), incident, test_case, task
	CreatedAt, UpdatedAt time.Time
}

// Pipeline is a CI pipeline of a project.
type Pipeline struct {
	ID, IID, ProjectID       int64
	Ref, SHA, Status, Source string
	CreatedAt, UpdatedAt     time.Time
}

// Job is a CI job of a pipeline. Retried is set on a job once RetryJob
// has replaced it with a newer job of the same name in its pipeline.
type Job struct {
	ID, PipelineID, ProjectID int64
	Name, Stage, Status       string
	CreatedAt                 time.Time
	Retried                   bool
}

// Release is a release of a project.
type Release struct {
	ProjectID     int64
	TagName, Name string
	Description   string
	CreatedAt     time.Time
	ReleasedAt    time.Time
	// id is the release's database id: GitLab's API never shows it, but
	// the group listing orders by it after released_at.
	id int64
}

// Member is a user's membership of a group.
type Member struct {
	GroupID     int64
	UserID      int64
	Username    string
	Name        string
	AccessLevel int
	Bot         bool
}

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

// Issues returns all issues ordered by id.
func (s *Server) Issues() []Issue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Issue
	for _, i := range s.obj.issues {
		out = append(out, *i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// Pipelines returns all CI pipelines ordered by id.
func (s *Server) Pipelines() []Pipeline {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Pipeline
	for _, p := range s.obj.pipelines {
		out = append(out, *p)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// Jobs returns all CI jobs ordered by id.
func (s *Server) Jobs() []Job {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Job
	for _, j := range s.obj.jobs {
		out = append(out, *j)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// AddIssue opens an issue.
func (s *Server) AddIssue(projectID int64, title string, confidential bool) *Issue {
	s.lockW()
	defer s.mu.Unlock()
	s.obj.init()
	iid := s.nextIID("issue", projectID)
	now := time.Now().UTC()
	is := &Issue{ID: s.obj.id(), IID: iid, ProjectID: projectID, Title: title, State: "opened", Confidential: confidential, CreatedAt: now, UpdatedAt: now}
	s.obj.issues[is.ID] = is
	if p := s.projects[projectID]; p != nil {
		recordActivity(p, now) // "opened" is a project event
	}
	c := *is
	return &c
}

// UpdateIssue changes an issue and bumps updated_at.
func (s *Server) UpdateIssue(id int64, fn func(*Issue)) {
	s.lockW()
	defer s.mu.Unlock()
	if is := s.obj.issues[id]; is != nil {
		fn(is)
		is.UpdatedAt = time.Now().UTC()
	}
}

// BackdateIssue sets an issue's updated_at (and created_at, when later)
// to at, for tests of updated_after windows.
func (s *Server) BackdateIssue(id int64, at time.Time) {
	s.lockW()
	defer s.mu.Unlock()
	if is := s.obj.issues[id]; is != nil {
		is.UpdatedAt = at.UTC()
		if is.CreatedAt.After(at) {
			is.CreatedAt = at.UTC()
		}
	}
}

// BackdatePipeline sets a pipeline's created_at and updated_at to at, for
// tests of created_after windows.
func (s *Server) BackdatePipeline(id int64, at time.Time) {
	s.lockW()
	defer s.mu.Unlock()
	for _, p := range s.obj.pipelines {
		if p.ID == id {
			p.CreatedAt, p.UpdatedAt = at.UTC(), at.UTC()
		}
	}
}

// Deployment is a deployment of a project to an environment.
type Deployment struct {
	ID, IID, ProjectID   int64
	Environment, Status  string
	Ref, SHA             string
	CreatedAt, UpdatedAt time.Time
}

// AddDeployment deploys a project's default branch to an environment
// (status: created, running, success, failed, canceled).
func (s *Server) AddDeployment(projectID int64, environment, status string) *Deployment {
	s.lockW()
	defer s.mu.Unlock()
	p := s.projects[projectID]
	if p == nil {
		return nil
	}
	now := time.Now().UTC()
	d := &Deployment{ID: s.obj.id(), IID: int64(3 + len(s.obj.deployments)), ProjectID: projectID, Environment: environment, Status: status,
		Ref: p.DefaultBranch, SHA: randSHA(), CreatedAt: now, UpdatedAt: now}
	s.obj.deployments = append(s.obj.deployments, d)
	return d
}

// SetDeploymentStatus changes a deployment's status.
func (s *Server) SetDeploymentStatus(id int64, status string) {
	s.lockW()
	defer s.mu.Unlock()
	for _, d := range s.obj.deployments {
		if d.ID == id {
			d.Status, d.UpdatedAt = status, time.Now().UTC()
		}
	}
}

// deploymentsOf are a project's deployments, oldest first: the two every
// service project with a repository has (staging, production), then the
// added ones. s.mu is held.
func (s *Server) deploymentsOf(p *Project) []*Deployment {
	var out []*Deployment
	pwn := s.groups[p.NamespaceID].FullPath + "/" + p.Path
	if !p.EmptyRepo && !p.Fresh && strings.HasSuffix(p.Name, "Service") {
		for i, env := range []string{"staging", "production"} {
			out = append(out, &Deployment{ID: p.ID*10 + int64(i), IID: int64(i + 1), ProjectID: p.ID, Environment: env, Status: "success",
				Ref: p.DefaultBranch, SHA: blobSHA(pwn + env), CreatedAt: p.LastActivity, UpdatedAt: p.LastActivity})
		}
	}
	for _, d := range s.obj.deployments {
		if d.ProjectID == p.ID {
			out = append(out, d)
		}
	}
	return out
}

func (s *Server) deploymentJSON(p *Project, d *Deployment) map[string]any {
	return map[string]any{"id": d.ID, "iid": d.IID, "ref": d.Ref, "sha": d.SHA,
		"created_at": ts(d.CreatedAt), "updated_at": ts(d.UpdatedAt), "status": d.Status,
		"user":        map[string]any{"id": 1, "username": "jsmith"},
		"environment": map[string]any{"id": p.ID*100 + int64(len(d.Environment)), "name": d.Environment, "external_url": "https://" + d.Environment + "." + p.Path + ".example.com", "state": "available", "tier": d.Environment},
		"deployable":  nil}
}

// DeploymentEvent sends a "Deployment Hook" for a deployment to the hooks
// of its project's group and ancestors (webhooks/deployment.json).
func (s *Server) DeploymentEvent(ctx context.Context, projectID, deploymentID int64) []Delivery {
	s.mu.RLock()
	p := s.projects[projectID]
	if p == nil {
		s.mu.RUnlock()
		return nil
	}
	var d *Deployment
	for _, x := range s.deploymentsOf(p) {
		if x.ID == deploymentID {
			d = x
		}
	}
	if d == nil {
		s.mu.RUnlock()
		return nil
	}
	pwn := s.groups[p.NamespaceID].FullPath + "/" + p.Path
	body := template("webhooks/deployment.json")
	for k, v := range map[string]any{"status": d.Status, "status_changed_at": d.UpdatedAt.Format("2006-01-02 15:04:05 -0700"), "deployment_id": d.ID,
		"environment": d.Environment, "environment_slug": d.Environment, "environment_external_url": "https://" + d.Environment + "." + p.Path + ".example.com",
		"project": s.hookProject(p), "ref": d.Ref, "short_sha": d.SHA[:8], "commit_url": s.webURL(pwn + "/-/commit/" + d.SHA)} {
		body[k] = v
	}
	ns := p.NamespaceID
	s.mu.RUnlock()
	return s.fire(ctx, ns, "Deployment Hook", body, "", nil)
}

// AddPipeline runs a pipeline with jobs named after stages.
func (s *Server) AddPipeline(projectID int64, status string, jobs ...string) (*Pipeline, []*Job) {
	s.lockW()
	defer s.mu.Unlock()
	s.obj.init()
	p := s.projects[projectID]
	now := time.Now().UTC()
	pl := &Pipeline{ID: s.obj.id(), ProjectID: projectID, Ref: p.DefaultBranch, SHA: randSHA(), Status: status, Source: "push", CreatedAt: now, UpdatedAt: now}
	pl.IID = s.nextIID("pipeline", projectID)
	s.obj.pipelines[pl.ID] = pl
	var out []*Job
	for _, name := range jobs {
		j := &Job{ID: s.obj.id(), PipelineID: pl.ID, ProjectID: projectID, Name: name, Stage: name, Status: status, CreatedAt: now}
		s.obj.jobs[j.ID] = j
		c := *j
		out = append(out, &c)
	}
	c := *pl
	return &c, out
}

// SetJobStatus changes a job's status (e.g. skipped or manual jobs in a
// successful pipeline).
func (s *Server) SetJobStatus(id int64, status string) {
	s.lockW()
	defer s.mu.Unlock()
	if j := s.obj.jobs[id]; j != nil {
		j.Status = status
	}
}

// RetryJob retries a job as GitLab does (POST /projects/:id/jobs/:job_id/retry):
// a new job of the same name and stage in the same pipeline, with a newer
// id, and the old one marked retried, which the pipeline's job listing
// then leaves out unless include_retried is set.
func (s *Server) RetryJob(id int64, status string) *Job {
	s.lockW()
	defer s.mu.Unlock()
	old := s.obj.jobs[id]
	if old == nil {
		return nil
	}
	old.Retried = true
	j := &Job{ID: s.obj.id(), PipelineID: old.PipelineID, ProjectID: old.ProjectID, Name: old.Name, Stage: old.Stage, Status: status,
		CreatedAt: time.Now().UTC()}
	s.obj.jobs[j.ID] = j
	c := *j
	return &c
}

// AddRelease publishes a release.
func (s *Server) AddRelease(projectID int64, tag string) *Release {
	s.lockW()
	defer s.mu.Unlock()
	now := time.Now().UTC()
	s.obj.releaseIDs++
	r := &Release{ProjectID: projectID, TagName: tag, Name: tag, Description: "Release " + tag, CreatedAt: now, ReleasedAt: now, id: s.obj.releaseIDs}
	s.obj.releases = append(s.obj.releases, r)
	c := *r
	return &c
}

// SetReleasedAt sets a release's released_at (GitLab takes it from the
// API for historical and upcoming releases), which orders the listings.
func (s *Server) SetReleasedAt(projectID int64, tag string, at time.Time) {
	s.lockW()
	defer s.mu.Unlock()
	for _, r := range s.obj.releases {
		if r.ProjectID == projectID && r.TagName == tag {
			r.ReleasedAt = at.UTC()
		}
	}
}

// Releases returns all releases, newest first as GitLab's group listing
// orders them (released_at desc, then id desc).
func (s *Server) Releases() []Release {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Release, 0, len(s.obj.releases))
	for _, r := range sortedReleases(s.obj.releases, true) {
		out = append(out, *r)
	}
	return out
}

// sortedReleases orders releases by released_at, then id (the group
// listing's order: Releases::GroupReleasesFinder#order_releases), newest
// first when desc. The project listing orders by released_at alone
// (Release.order_released_desc) and leaves ties to the database; the
// simulator breaks them by id as the group listing does.
func sortedReleases(rs []*Release, desc bool) []*Release {
	out := append([]*Release(nil), rs...)
	sort.Slice(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if desc {
			x, y = y, x
		}
		if !x.ReleasedAt.Equal(y.ReleasedAt) {
			return x.ReleasedAt.Before(y.ReleasedAt)
		}
		return x.id < y.id
	})
	return out
}

// DeleteRelease removes a release.
func (s *Server) DeleteRelease(projectID int64, tag string) {
	s.lockW()
	defer s.mu.Unlock()
	for i, r := range s.obj.releases {
		if r.ProjectID == projectID && r.TagName == tag {
			s.obj.releases = append(s.obj.releases[:i], s.obj.releases[i+1:]...)
			return
		}
	}
}

// AddMember adds a user to a group.
func (s *Server) AddMember(groupID int64, username string, accessLevel int) *Member {
	s.lockW()
	defer s.mu.Unlock()
	s.obj.init()
	m := &Member{GroupID: groupID, UserID: s.obj.id(), Username: username, Name: username, AccessLevel: accessLevel}
	for _, x := range s.obj.members {
		if x.Username == username {
			m.UserID = x.UserID
		}
	}
	s.obj.members = append(s.obj.members, m)
	c := *m
	return &c
}

// RemoveMember removes a user from a group.
func (s *Server) RemoveMember(groupID, userID int64) {
	s.lockW()
	defer s.mu.Unlock()
	for i, m := range s.obj.members {
		if m.GroupID == groupID && m.UserID == userID {
			s.obj.members = append(s.obj.members[:i], s.obj.members[i+1:]...)
			return
		}
	}
}

func (s *Server) pathOf(projectID int64) string {
	p := s.projects[projectID]
	return s.groups[p.NamespaceID].FullPath + "/" + p.Path
}

func (s *Server) issueJSON(i *Issue) map[string]any {
	pwn := s.pathOf(i.ProjectID)
	var closed any
	if i.State == "closed" {
		closed = ts(i.UpdatedAt)
	}
	return map[string]any{
		"id": i.ID, "iid": i.IID, "project_id": i.ProjectID, "title": i.Title, "description": "", "state": i.State,
		"created_at": ts(i.CreatedAt), "updated_at": ts(i.UpdatedAt), "closed_at": closed, "closed_by": nil,
		"labels": labelsOf(i.Labels), "milestone": nil, "assignees": []any{}, "assignee": nil, "type": strings.ToUpper(orDefault(i.Type, "issue")), "issue_type": orDefault(i.Type, "issue"),
		"author":           map[string]any{"id": 1, "username": "jsmith", "name": "John Smith", "state": "active", "web_url": s.webURL("jsmith")},
		"user_notes_count": 0, "upvotes": 0, "downvotes": 0, "due_date": nil, "confidential": i.Confidential,
		"discussion_locked": nil, "web_url": s.webURL(fmt.Sprintf("%s/-/issues/%d", pwn, i.IID)),
		"time_stats": map[string]any{"time_estimate": 0, "total_time_spent": 0}, "task_completion_status": map[string]any{"count": 0, "completed_count": 0},
		"references": map[string]any{"short": fmt.Sprintf("#%d", i.IID), "relative": fmt.Sprintf("#%d", i.IID), "full": fmt.Sprintf("%s#%d", pwn, i.IID)},
		"severity":   "UNKNOWN", "moved_to_id": nil, "service_desk_reply_to": nil,
	}
}

func (s *Server) pipelineJSON(p *Pipeline) map[string]any {
	pwn := s.pathOf(p.ProjectID)
	return map[string]any{
		"id": p.ID, "iid": p.IID, "project_id": p.ProjectID, "sha": p.SHA, "ref": p.Ref, "status": p.Status, "source": p.Source,
		"created_at": ts(p.CreatedAt), "updated_at": ts(p.UpdatedAt), "web_url": s.webURL(fmt.Sprintf("%s/-/pipelines/%d", pwn, p.ID)),
		"name": nil,
	}
}

func (s *Server) jobJSON(j *Job) map[string]any {
	pwn := s.pathOf(j.ProjectID)
	pl := s.obj.pipelines[j.PipelineID]
	return map[string]any{
		"id": j.ID, "name": j.Name, "stage": j.Stage, "status": j.Status, "ref": pl.Ref, "tag": false, "allow_failure": false,
		"created_at": ts(j.CreatedAt), "started_at": ts(j.CreatedAt), "finished_at": nil, "duration": nil, "queued_duration": 0.2,
		"coverage": nil, "failure_reason": nil, "web_url": s.webURL(fmt.Sprintf("%s/-/jobs/%d", pwn, j.ID)),
		"pipeline": map[string]any{"id": pl.ID, "iid": pl.IID, "project_id": pl.ProjectID, "sha": pl.SHA, "ref": pl.Ref, "status": pl.Status, "source": pl.Source},
		"commit":   map[string]any{"id": pl.SHA, "short_id": pl.SHA[:8], "title": "Update"}, "user": map[string]any{"id": 1, "username": "jsmith"},
		"runner": nil, "artifacts": []any{}, "artifacts_expire_at": nil, "tag_list": []any{}, "project": map[string]any{"ci_job_token_scope_enabled": false},
	}
}

func (s *Server) releaseJSON(r *Release) map[string]any {
	pwn := s.pathOf(r.ProjectID)
	return map[string]any{
		"tag_name": r.TagName, "name": r.Name, "description": r.Description, "created_at": ts(r.CreatedAt), "released_at": ts(r.ReleasedAt),
		"upcoming_release": upcoming(r), "author": map[string]any{"id": 1, "username": "jsmith", "name": "John Smith"},
		"commit": map[string]any{"id": blobSHA(pwn + r.TagName), "title": "Release " + r.TagName}, "milestones": []any{}, "commit_path": "/" + pwn + "/-/commit/x",
		"tag_path": "/" + pwn + "/-/tags/" + r.TagName, "assets": map[string]any{"count": 0, "sources": []any{}, "links": []any{}},
		"evidences": []any{},
		"_links":    map[string]any{"self": s.webURL(pwn + "/-/releases/" + r.TagName), "edit_url": s.webURL(pwn + "/-/releases/" + r.TagName + "/edit")},
	}
}

func (s *Server) memberJSON(m *Member) map[string]any {
	return map[string]any{
		"id": m.UserID, "username": m.Username, "name": m.Name, "state": "active", "avatar_url": nil,
		"web_url": s.webURL(m.Username), "access_level": m.AccessLevel, "created_at": ts(baseTime), "expires_at": nil,
		"group_saml_identity": nil, "membership_state": "active", "bot": m.Bot, "locked": false,
	}
}

// jobScopes are the job statuses GitLab's scope parameter accepts.
var jobScopes = map[string]bool{"created": true, "pending": true, "running": true, "failed": true, "success": true,
	"canceled": true, "skipped": true, "waiting_for_resource": true, "manual": true}

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
		scopes := append(q["scope[]"], q["scope"]...)
		for _, sc := range scopes {
			if !jobScopes[sc] {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "scope does not have a valid value"})
				return true
			}
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
		scopes := append(q["scope[]"], q["scope"]...)
		for _, sc := range scopes {
			if !jobScopes[sc] {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "scope does not have a valid value"})
				return true
			}
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

func issueMatches(i *Issue, q url.Values) bool {
	if st := q.Get("state"); st != "" && st != "all" && st != i.State {
		return false
	}
	if t := q.Get("issue_type"); t != "" && t != orDefault(i.Type, "issue") {
		return false
	}
	// labels=a,b: issues with every listed label.
	if l := q.Get("labels"); l != "" {
		for _, want := range strings.Split(l, ",") {
			found := false
			for _, have := range i.Labels {
				found = found || have == want
			}
			if !found {
				return false
			}
		}
	}
	if v := q.Get("updated_after"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil && !i.UpdatedAt.After(t) {
			return false
		}
	}
	return true
}

// groupIssues serves GET /groups/:id/issues (the group and its subgroups).
func (s *Server) groupIssues(w http.ResponseWriter, r *http.Request, tok *Token, g *Group) {
	s.listIssues(w, r, tok, fmt.Sprintf("groups/%d/issues", g.ID), func(p *Project) bool { return s.isDescendant(p.NamespaceID, g.ID) })
}

// allIssues serves GET /issues?scope=all.
func (s *Server) allIssues(w http.ResponseWriter, r *http.Request, tok *Token) {
	s.listIssues(w, r, tok, "issues", func(*Project) bool { return true })
}

func (s *Server) listIssues(w http.ResponseWriter, r *http.Request, tok *Token, base string, inScope func(*Project) bool) {
	q := r.URL.Query()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var items []*Issue
	nonArchived, _ := boolParam(q, "non_archived")
	for _, i := range s.obj.issues {
		p := s.projects[i.ProjectID]
		if p != nil && inScope(p) && s.visibleProject(tok, p) && issueMatches(i, q) && !(nonArchived && p.Archived) {
			items = append(items, i)
		}
	}
	sort.Slice(items, func(a, b int) bool { return items[a].ID > items[b].ID })
	page := offsetPage(w, r, s.apiURL(base), items)
	out := make([]any, len(page))
	for k, i := range page {
		out[k] = s.issueJSON(i)
	}
	writeJSON(w, http.StatusOK, out)
}

// groupMembers serves GET /groups/:id/members[/:user_id].
func (s *Server) groupMembers(w http.ResponseWriter, r *http.Request, g *Group, segs []string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var list []*Member
	for _, m := range s.obj.members {
		if m.GroupID == g.ID && (len(segs) == 3 || strconv.FormatInt(m.UserID, 10) == segs[3]) {
			list = append(list, m)
		}
	}
	if len(segs) == 4 {
		if len(list) == 0 {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Member Not Found"})
			return
		}
		writeJSON(w, http.StatusOK, s.memberJSON(list[0]))
		return
	}
	page := offsetPage(w, r, s.apiURL(fmt.Sprintf("groups/%d/members", g.ID)), list)
	out := make([]any, len(page))
	for k, m := range page {
		out[k] = s.memberJSON(m)
	}
	writeJSON(w, http.StatusOK, out)
}

// groupMembersAll serves GET /groups/:id/members/all: direct and
// inherited members.
func (s *Server) groupMembersAll(w http.ResponseWriter, r *http.Request, g *Group) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []any
	for _, m := range s.obj.members {
		if s.isDescendant(g.ID, m.GroupID) {
			out = append(out, s.memberJSON(m))
		}
	}
	writeJSON(w, http.StatusOK, offsetPage(w, r, s.apiURL(fmt.Sprintf("groups/%d/members/all", g.ID)), out))
}

// IssueEvent delivers "Issue Hook" (or "Confidential Issue Hook").
func (s *Server) IssueEvent(ctx context.Context, issueID int64, action string) []Delivery {
	s.mu.RLock()
	is := s.obj.issues[issueID]
	p := s.projects[is.ProjectID]
	body := template("webhooks/issue.json")
	attrs := body["object_attributes"].(map[string]any)
	for k, v := range map[string]any{"id": is.ID, "iid": is.IID, "title": is.Title, "state": is.State, "action": action,
		"project_id": p.ID, "confidential": is.Confidential, "url": s.webURL(fmt.Sprintf("%s/-/issues/%d", s.pathOf(p.ID), is.IID))} {
		attrs[k] = v
	}
	body["project"] = s.hookProject(p)
	event := "Issue Hook"
	if is.Confidential {
		event = "Confidential Issue Hook"
		body["event_type"] = "confidential_issue"
	}
	ns := p.NamespaceID
	s.mu.RUnlock()
	return s.fire(ctx, ns, event, body, "", nil)
}

// PipelineEvent delivers "Pipeline Hook".
func (s *Server) PipelineEvent(ctx context.Context, pipelineID int64) []Delivery {
	s.mu.RLock()
	pl := s.obj.pipelines[pipelineID]
	p := s.projects[pl.ProjectID]
	body := template("webhooks/pipeline.json")
	attrs := body["object_attributes"].(map[string]any)
	for k, v := range map[string]any{"id": pl.ID, "iid": pl.IID, "ref": pl.Ref, "sha": pl.SHA, "status": pl.Status, "source": pl.Source,
		"url": s.webURL(fmt.Sprintf("%s/-/pipelines/%d", s.pathOf(p.ID), pl.ID))} {
		attrs[k] = v
	}
	body["project"] = s.hookProject(p)
	ns := p.NamespaceID
	s.mu.RUnlock()
	return s.fire(ctx, ns, "Pipeline Hook", body, "", nil)
}

// JobEvent delivers "Job Hook".
func (s *Server) JobEvent(ctx context.Context, jobID int64) []Delivery {
	s.mu.RLock()
	j := s.obj.jobs[jobID]
	p := s.projects[j.ProjectID]
	body := template("webhooks/job.json")
	for k, v := range map[string]any{"build_id": j.ID, "build_name": j.Name, "build_stage": j.Stage, "build_status": j.Status,
		"pipeline_id": j.PipelineID, "project_id": p.ID, "project_name": s.fullName(s.groups[p.NamespaceID]) + " / " + p.Name} {
		body[k] = v
	}
	body["repository"] = s.repository(p)
	ns := p.NamespaceID
	s.mu.RUnlock()
	return s.fire(ctx, ns, "Job Hook", body, "", nil)
}

// ReleaseEvent delivers "Release Hook" with action create, update or delete.
func (s *Server) ReleaseEvent(ctx context.Context, projectID int64, tag, action string) []Delivery {
	s.mu.RLock()
	p := s.projects[projectID]
	body := template("webhooks/release.json")
	for k, v := range map[string]any{"tag": tag, "name": tag, "action": action, "project": s.hookProject(p),
		"url": s.webURL(s.pathOf(p.ID) + "/-/releases/" + tag)} {
		body[k] = v
	}
	ns := p.NamespaceID
	s.mu.RUnlock()
	return s.fire(ctx, ns, "Release Hook", body, "", nil)
}

// MemberEvent delivers "Member Hook" (user_add_to_group,
// user_update_for_group, user_remove_from_group) to the group's hooks and
// its ancestors'.
func (s *Server) MemberEvent(ctx context.Context, groupID int64, m *Member, eventName string) []Delivery {
	s.mu.RLock()
	g := s.groups[groupID]
	body := template("webhooks/member.json")
	for k, v := range map[string]any{"group_id": g.ID, "group_name": g.Name, "group_path": g.FullPath, "user_id": m.UserID,
		"user_username": m.Username, "user_name": m.Name, "event_name": eventName} {
		body[k] = v
	}
	s.mu.RUnlock()
	return s.fire(ctx, groupID, "Member Hook", body, "", nil)
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
