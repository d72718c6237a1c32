package gitlabtest

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// This file holds the simulator's user actions: each changes the
// instance as GitLab would (what the API shows afterwards) and delivers
// the webhooks GitLab sends for it. The demo and the control API
// (control.go) both call them, so a live event is made one way only.

// OpenMergeRequest opens a merge request from a new branch into the
// project's default branch and delivers "Merge Request Hook" (action
// open) and the system hook's merge_request. It returns nil when the
// project does not exist.
func (s *Server) OpenMergeRequest(ctx context.Context, projectID int64, title string) (*MergeRequest, []Delivery) {
	s.lockW()
	p := s.projects[projectID]
	if p == nil {
		s.mu.Unlock()
		return nil, nil
	}
	now := time.Now().UTC()
	recordActivity(p, now) // "opened" is a project event
	mr := s.addMRLocked(projectID, title, now)
	if p.DefaultBranch != "" {
		mr.TargetBranch = p.DefaultBranch
	}
	c := *mr
	s.mu.Unlock()
	return &c, s.MergeRequestEvent(ctx, c.ID, "open")
}

// mrActions are the state changes of an opened merge request, with the
// state each leaves and the state it needs.
var mrActions = map[string]struct{ from, to string }{
	"merge":  {"opened", "merged"},
	"close":  {"opened", "closed"},
	"reopen": {"closed", "opened"},
}

// ChangeMergeRequest merges, closes or reopens (action merge, close,
// reopen) a merge request and delivers its "Merge Request Hook". Merging
// also pushes the merge commit to the target branch, as GitLab does, so
// its push is delivered too.
func (s *Server) ChangeMergeRequest(ctx context.Context, mrID int64, action string) (*MergeRequest, []Delivery, error) {
	a, ok := mrActions[action]
	if !ok {
		return nil, nil, fmt.Errorf("merge request action %q: want merge, close or reopen", action)
	}
	s.lockW()
	mr := s.mrs[mrID]
	if mr == nil {
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("merge request %d does not exist", mrID)
	}
	if mr.State != a.from {
		state := mr.State
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("merge request !%d is %s: only a %s one can be %sd", mr.IID, state, a.from, action)
	}
	mr.State, mr.UpdatedAt = a.to, time.Now().UTC()
	c := *mr
	s.mu.Unlock()
	out := s.MergeRequestEvent(ctx, mrID, action)
	if action == "merge" {
		out = append(out, s.Push(ctx, c.ProjectID)...)
	}
	return &c, out, nil
}

// OpenIssue opens an issue and delivers "Issue Hook" (action open). It
// returns nil when the project does not exist.
func (s *Server) OpenIssue(ctx context.Context, projectID int64, title string) (*Issue, []Delivery) {
	s.mu.RLock()
	p := s.projects[projectID]
	s.mu.RUnlock()
	if p == nil {
		return nil, nil
	}
	is := s.AddIssue(projectID, title, false)
	return is, s.IssueEvent(ctx, is.ID, "open")
}

// RunPipeline records a pipeline run from the web UI on ref (the default
// branch when empty) at the branch's current commit, finished with status
// (success when empty), and delivers "Pipeline Hook".
func (s *Server) RunPipeline(ctx context.Context, projectID int64, ref, status string) (*Pipeline, []Delivery, error) {
	if status == "" {
		status = "success"
	}
	switch status {
	case "created", "pending", "running", "success", "failed", "canceled", "skipped", "manual":
	default:
		return nil, nil, fmt.Errorf("pipeline status %q: want created, pending, running, success, failed, canceled, skipped or manual", status)
	}
	s.lockW()
	p := s.projects[projectID]
	if p == nil {
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("project %d does not exist", projectID)
	}
	if ref == "" {
		ref = p.DefaultBranch
	}
	pwn := s.pathOf(p.ID)
	if !s.hasBranch(p, ref) {
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("project %s has no branch %q", pwn, ref)
	}
	s.obj.init()
	now := time.Now().UTC()
	pl := &Pipeline{ID: s.obj.id(), ProjectID: projectID, Ref: ref, SHA: s.branchCommit(p, pwn, ref), Status: status, Source: "web",
		CreatedAt: now, UpdatedAt: now, IID: s.nextIID("pipeline", projectID)}
	s.obj.pipelines[pl.ID] = pl
	c := *pl
	s.mu.Unlock()
	return &c, s.PipelineEvent(ctx, c.ID), nil
}

// CreateBranch creates branch from the default branch's head and delivers
// its push (before is the all-zero sha).
func (s *Server) CreateBranch(ctx context.Context, projectID int64, branch string) ([]Delivery, error) {
	if err := s.checkBranch(projectID, branch, false); err != nil {
		return nil, err
	}
	return s.PushRef(ctx, projectID, "refs/heads/"+branch, false), nil
}

// DeleteBranch deletes a branch other than the default one and delivers
// its push (after is the all-zero sha).
func (s *Server) DeleteBranch(ctx context.Context, projectID int64, branch string) ([]Delivery, error) {
	if err := s.checkBranch(projectID, branch, true); err != nil {
		return nil, err
	}
	return s.PushRef(ctx, projectID, "refs/heads/"+branch, true), nil
}

// checkBranch refuses what GitLab refuses: deleting a missing or the
// default branch, creating one that exists, a project that does not.
func (s *Server) checkBranch(projectID int64, branch string, exists bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.projects[projectID]
	switch {
	case p == nil:
		return fmt.Errorf("project %d does not exist", projectID)
	case branch == "":
		return fmt.Errorf("a branch name is needed")
	case exists && branch == p.DefaultBranch:
		return fmt.Errorf("%s is the default branch of %s: GitLab does not delete it", branch, s.pathOf(p.ID))
	case exists && !s.hasBranch(p, branch):
		return fmt.Errorf("project %s has no branch %q", s.pathOf(p.ID), branch)
	case !exists && s.hasBranch(p, branch):
		return fmt.Errorf("branch %q already exists in %s", branch, s.pathOf(p.ID))
	}
	return nil
}

// hasBranch reports whether the API lists branch for p (s.mu held).
func (s *Server) hasBranch(p *Project, branch string) bool {
	for _, b := range s.branchNames(p) {
		if b == branch {
			return true
		}
	}
	return false
}

// FindProject returns the id of the project with this path with
// namespace or numeric id, 0 when there is none.
func (s *Server) FindProject(ref string) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		if s.projects[id] != nil {
			return id
		}
		return 0
	}
	for id := range s.projects {
		if s.pathOf(id) == ref {
			return id
		}
	}
	return 0
}
