package gitlabtest

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Personal namespaces and project hooks. A user's personal namespace
// holds projects outside any group, so no group hook sees their events:
// GitLab delivers them to the project's own hooks (and system hooks).
// The namespace is kept with the groups (GitLab's namespaces share one id
// sequence) but marked by OwnerID, so the groups API never serves it and
// projects in it carry namespace.kind "user".

// AddUser creates a user (userID 0: a new id) with a personal namespace
// whose path is username, and returns the namespace: AddProject puts
// projects in it. A PersonalToken with the same UserID is the user's
// token.
func (s *Server) AddUser(userID int64, username, name string) *Group {
	s.lockW()
	defer s.mu.Unlock()
	if userID == 0 {
		userID = s.nextID.user
		s.nextID.user++
	}
	g := &Group{ID: s.nextID.group, Name: name, Path: username, FullPath: username, Visibility: "private", OwnerID: userID,
		CreatedAt: baseTime.Add(time.Duration(s.nextID.group) * time.Hour)}
	s.nextID.group++
	s.groups[g.ID] = g
	s.byPath[g.FullPath] = g
	return g
}

// personalNamespace is the namespace of user id, or nil. s.mu is held.
func (s *Server) personalNamespace(userID int64) *Group {
	for _, g := range s.groups {
		if g.OwnerID != 0 && g.OwnerID == userID {
			return g
		}
	}
	return nil
}

// ownsPersonal reports whether p is in the personal namespace of tok's
// user. s.mu is held.
func (s *Server) ownsPersonal(tok *Token, p *Project) bool {
	ns := s.groups[p.NamespaceID]
	return ns != nil && ns.OwnerID != 0 && ns.OwnerID == tok.UserID
}

// userNamespaceJSON is a personal namespace as a project's namespace
// field shows it.
func (s *Server) userNamespaceJSON(g *Group) map[string]any {
	return map[string]any{
		"id":         g.ID,
		"name":       g.Name,
		"path":       g.Path,
		"kind":       "user",
		"full_path":  g.FullPath,
		"parent_id":  nil,
		"avatar_url": "https://secure.gravatar.com/avatar/" + g.Path + "?s=80&d=identicon",
		"web_url":    s.webURL(g.FullPath),
	}
}

// projectHookEvents are the event flags of a project hook, as GitLab's
// project_webhooks API names them: a group hook's without the group-only
// subgroup, member and project events, plus repository_update_events.
var projectHookEvents = []string{
	"push_events", "issues_events", "confidential_issues_events", "merge_requests_events",
	"tag_push_events", "note_events", "confidential_note_events", "job_events",
	"pipeline_events", "wiki_page_events", "deployment_events", "releases_events",
	"feature_flag_events", "emoji_events", "resource_access_token_events", "milestone_events",
	"vulnerability_events", "repository_update_events", "resource_deploy_token_events",
}

// projectHookFlag is the project hook flag enabling event, "" for events
// project hooks never receive.
func projectHookFlag(event string) string {
	if f := hookEventFlag[event]; slices.Contains(projectHookEvents, f) {
		return f
	}
	return ""
}

// payloadProject is the id of the project a webhook body is about (its
// project_id, else project.id), 0 for group-level events.
func payloadProject(body map[string]any) int64 {
	id := func(v any) int64 {
		switch n := v.(type) {
		case int64:
			return n
		case int:
			return int64(n)
		case float64:
			return int64(n)
		}
		return 0
	}
	if n := id(body["project_id"]); n != 0 {
		return n
	}
	if p, ok := body["project"].(map[string]any); ok {
		return id(p["id"])
	}
	return 0
}

// hookOwner is whose hooks a request is about: a group's, a project's, or
// (both zero) the system's.
type hookOwner struct{ group, project int64 }

func (o hookOwner) system() bool { return o.group == 0 && o.project == 0 }

func (o hookOwner) owns(h *Hook) bool { return h.GroupID == o.group && h.ProjectID == o.project }

// insufficientScope is GitLab's answer to a write with a read-only token.
var insufficientScope = map[string]any{"error": "insufficient_scope",
	"error_description": "The request requires higher privileges than provided by the access token.", "scope": "api"}

// projectHooks serves /projects/:id/hooks[/:hook_id[/test/:trigger]].
// GitLab asks for the Maintainer role on the project; a token without the
// api scope (read_api) may list hooks but not change them.
func (s *Server) projectHooks(w http.ResponseWriter, r *http.Request, tok *Token, segs []string) {
	p := s.projectOr404(w, tok, segs[1])
	if p == nil {
		return
	}
	s.mu.RLock()
	allowed := tok.Kind == AdminToken || s.ownsPersonal(tok, p) ||
		s.accessLevel(tok) >= 40 && s.isDescendant(p.NamespaceID, tok.GroupID)
	s.mu.RUnlock()
	if !allowed {
		writeJSON(w, http.StatusForbidden, forbidden)
		return
	}
	if r.Method != http.MethodGet && tok.Scopes != nil && !slices.Contains(tok.Scopes, "api") {
		writeJSON(w, http.StatusForbidden, insufficientScope)
		return
	}
	s.hookCRUD(w, r, segs[3:], hookOwner{project: p.ID}, projectHookEvents, fmt.Sprintf("projects/%d/hooks", p.ID))
}
