// Issues: the simulated issues, their JSON, filters and listings (project,
// group and instance-wide), and the issue webhook.

package gitlabtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
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
