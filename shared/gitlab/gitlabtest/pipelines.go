// Pipelines and jobs: the simulated CI objects, their JSON and webhooks
// (childRoutes in objects.go lists them).

package gitlabtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"
)

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

// jobScopes are the job statuses GitLab's scope parameter accepts.
var jobScopes = map[string]bool{"created": true, "pending": true, "running": true, "failed": true, "success": true,
	"canceled": true, "skipped": true, "waiting_for_resource": true, "manual": true}

// jobScopesOf reads a jobs listing's scope filter (one status in scope,
// several in scope[]); false after answering 400, as Grape does, when one
// is not a job status.
func jobScopesOf(w http.ResponseWriter, q url.Values) ([]string, bool) {
	scopes := append(q["scope[]"], q["scope"]...)
	for _, sc := range scopes {
		if !jobScopes[sc] {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "scope does not have a valid value"})
			return nil, false
		}
	}
	return scopes, true
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
