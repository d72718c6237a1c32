// Deployments: those every service project has and those added by tests,
// their JSON and the deployment webhook.

package gitlabtest

import (
	"context"
	"strings"
	"time"
)

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
