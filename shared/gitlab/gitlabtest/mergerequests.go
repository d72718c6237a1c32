package gitlabtest

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// MergeRequest is a merge request in the simulated instance.
type MergeRequest struct {
	ID           int64
	IID          int64
	ProjectID    int64
	Title        string
	State        string // opened, closed, merged
	SourceBranch string
	TargetBranch string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AddMergeRequest opens a merge request in a project.
func (s *Server) AddMergeRequest(projectID int64, title string) *MergeRequest {
	s.lockW()
	defer s.mu.Unlock()
	now := time.Now().UTC()
	if p := s.projects[projectID]; p != nil {
		recordActivity(p, now) // "opened" is a project event
	}
	return s.addMRLocked(projectID, title, now)
}

func (s *Server) addMRLocked(projectID int64, title string, at time.Time) *MergeRequest {
	s.nextID.mr++
	iid := s.nextIID("merge_request", projectID)
	mr := &MergeRequest{
		ID: 90000 + s.nextID.mr, IID: iid, ProjectID: projectID, Title: title, State: "opened",
		SourceBranch: fmt.Sprintf("feature-%d", s.nextID.mr), TargetBranch: "main", CreatedAt: at, UpdatedAt: at,
	}
	s.mrs[mr.ID] = mr
	return mr
}

// UpdateMergeRequest changes a merge request and bumps its updated_at.
func (s *Server) UpdateMergeRequest(id int64, fn func(*MergeRequest)) *MergeRequest {
	s.lockW()
	defer s.mu.Unlock()
	mr := s.mrs[id]
	if mr == nil {
		return nil
	}
	fn(mr)
	mr.UpdatedAt = time.Now().UTC()
	c := *mr
	return &c
}

// MergeRequests returns all merge requests ordered by id.
func (s *Server) MergeRequests() []MergeRequest {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []MergeRequest
	for _, m := range s.mrs {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) mrJSON(m *MergeRequest) map[string]any {
	p := s.projects[m.ProjectID]
	pwn := s.groups[p.NamespaceID].FullPath + "/" + p.Path
	var merged, closed any
	switch m.State {
	case "merged":
		merged = ts(m.UpdatedAt)
	case "closed":
		closed = ts(m.UpdatedAt)
	}
	author := map[string]any{"id": 1, "username": "jsmith", "name": "John Smith", "state": "active", "avatar_url": nil, "web_url": s.webURL("jsmith")}
	return map[string]any{
		"id": m.ID, "iid": m.IID, "project_id": m.ProjectID, "title": m.Title, "description": "",
		"state": m.State, "created_at": ts(m.CreatedAt), "updated_at": ts(m.UpdatedAt),
		"merged_at": merged, "closed_at": closed, "merged_by": nil, "closed_by": nil,
		"target_branch": m.TargetBranch, "source_branch": m.SourceBranch, "user_notes_count": 0,
		"upvotes": 0, "downvotes": 0, "author": author, "assignees": []any{}, "assignee": nil,
		"reviewers": []any{}, "source_project_id": m.ProjectID, "target_project_id": m.ProjectID,
		"labels": []any{}, "draft": false, "work_in_progress": false, "milestone": nil,
		"merge_when_pipeline_succeeds": false, "merge_status": "can_be_merged", "detailed_merge_status": "mergeable",
		"sha": fmt.Sprintf("%040x", m.ID*7919+m.UpdatedAt.UnixNano()%1000), "merge_commit_sha": nil, "squash_commit_sha": nil,
		"discussion_locked": nil, "should_remove_source_branch": nil, "force_remove_source_branch": true,
		"reference":  fmt.Sprintf("!%d", m.IID),
		"references": map[string]any{"short": fmt.Sprintf("!%d", m.IID), "relative": fmt.Sprintf("!%d", m.IID), "full": fmt.Sprintf("%s!%d", pwn, m.IID)},
		"web_url":    s.webURL(fmt.Sprintf("%s/-/merge_requests/%d", pwn, m.IID)),
		"time_stats": map[string]any{"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": nil, "human_total_time_spent": nil},
		"squash":     false, "squash_on_merge": false, "task_completion_status": map[string]any{"count": 0, "completed_count": 0},
		"has_conflicts": false, "blocking_discussions_resolved": true,
	}
}

// mrFilter applies state and updated_after as GitLab does.
func mrFilter(q url.Values) (func(*MergeRequest) bool, bool) {
	state := q.Get("state")
	if state == "" {
		state = "all"
	}
	var after time.Time
	if v := q.Get("updated_after"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, false
		}
		after = t
	}
	return func(m *MergeRequest) bool {
		if state != "all" && m.State != state {
			return false
		}
		return after.IsZero() || m.UpdatedAt.After(after)
	}, true
}

func (s *Server) listMRs(w http.ResponseWriter, r *http.Request, tok *Token, base string, inScope func(*Project) bool) {
	keep, ok := mrFilter(r.URL.Query())
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "updated_after is invalid"})
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var list []*MergeRequest
	for _, m := range s.mrs {
		p := s.projects[m.ProjectID]
		if p != nil && s.visibleProject(tok, p) && inScope(p) && keep(m) {
			list = append(list, m)
		}
	}
	// GitLab lists merge requests newest first unless told otherwise.
	asc := r.URL.Query().Get("sort") == "asc"
	sort.Slice(list, func(i, j int) bool {
		if asc {
			return list[i].ID < list[j].ID
		}
		return list[i].ID > list[j].ID
	})
	page := offsetPage(w, r, s.apiURL(base), list)
	out := make([]any, len(page))
	for i, m := range page {
		out[i] = s.mrJSON(m)
	}
	writeJSON(w, http.StatusOK, out)
}

// projectMR serves GET /projects/:id/merge_requests[/:iid].
func (s *Server) projectMR(w http.ResponseWriter, r *http.Request, tok *Token, p *Project, rest []string) {
	if len(rest) == 0 {
		s.listMRs(w, r, tok, fmt.Sprintf("projects/%d/merge_requests", p.ID), func(c *Project) bool { return c.ID == p.ID })
		return
	}
	iid, err := strconv.ParseInt(rest[0], 10, 64)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, m := range s.mrs {
		if err == nil && m.ProjectID == p.ID && m.IID == iid {
			writeJSON(w, http.StatusOK, s.mrJSON(m))
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not found"})
}

// BackdateMergeRequest sets a merge request's updated_at (and created_at,
// when later) to at, for tests of updated_after windows.
func (s *Server) BackdateMergeRequest(id int64, at time.Time) {
	s.lockW()
	defer s.mu.Unlock()
	if mr := s.mrs[id]; mr != nil {
		mr.UpdatedAt = at.UTC()
		if mr.CreatedAt.After(at) {
			mr.CreatedAt = at.UTC()
		}
	}
}
