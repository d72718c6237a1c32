// Routing: dispatch sends each API v4 request to its family's handler
// (groups.go, projects.go, hookapi.go, objects.go, repo.go...); the user and
// token endpoints are small enough to stay here.

package gitlabtest

import (
	"fmt"
	"net/http"
	"time"
)

var (
	groupNotFound = map[string]any{"message": "404 Group Not Found"}
	projNotFound  = map[string]any{"message": "404 Project Not Found"}
	hookNotFound  = map[string]any{"message": "404 Hook Not Found"}
	forbidden     = map[string]any{"message": "403 Forbidden"}
)

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, rt route, tok *Token) {
	segs := rt.segs
	n := len(segs)
	// Grape checks declared values before the endpoint runs (after its
	// before blocks: a request both invalid and for a project the token
	// cannot see gets the 400 here, the 404 from GitLab).
	if refuseUndeclared(w, r, segs) {
		return
	}
	switch {
	case r.Method == http.MethodGet && n == 1 && segs[0] == "user":
		s.getUser(w, tok)
	case r.Method == http.MethodGet && n == 2 && segs[0] == "personal_access_tokens" && segs[1] == "self":
		s.getTokenSelf(w, tok)
	case r.Method == http.MethodGet && n == 1 && segs[0] == "groups":
		s.listGroups(w, r, tok)
	case n >= 2 && segs[0] == "groups":
		s.groupRoutes(w, r, tok, segs)
	case r.Method == http.MethodGet && n == 1 && segs[0] == "merge_requests":
		// Instance-wide listing; scope=all is only complete for admins.
		if r.URL.Query().Get("scope") != "all" && tok.Kind != AdminToken {
			writeJSON(w, http.StatusOK, []any{})
			return
		}
		s.listMRs(w, r, tok, "merge_requests", func(*Project) bool { return true })
	case r.Method == http.MethodGet && n == 1 && segs[0] == "issues":
		if r.URL.Query().Get("scope") != "all" && tok.Kind != AdminToken {
			writeJSON(w, http.StatusOK, []any{})
			return
		}
		s.allIssues(w, r, tok)
	case r.Method == http.MethodGet && n == 1 && segs[0] == "projects":
		s.listProjects(w, r, tok)
	case r.Method == http.MethodGet && n >= 3 && segs[0] == "projects" && segs[2] == "merge_requests" && n <= 4:
		p := s.projectOr404(w, tok, segs[1])
		if p == nil {
			return
		}
		s.projectMR(w, r, tok, p, segs[3:])
	case r.Method == http.MethodGet && (n == 3 || n == 4 || n == 5 && segs[2] == "pipelines" && segs[4] == "jobs") && segs[0] == "projects" &&
		(segs[2] == "issues" || segs[2] == "pipelines" || segs[2] == "jobs" || segs[2] == "releases"):
		p := s.projectOr404(w, tok, segs[1])
		if p == nil {
			return
		}
		s.childRoutes(w, r, tok, p, segs[2:])
	case r.Method == http.MethodGet && n >= 3 && segs[0] == "projects" &&
		(segs[2] == "repository" || segs[2] == "languages" || segs[2] == "labels" || segs[2] == "members" || segs[2] == "deployments" || segs[2] == "search"):
		p := s.projectOr404(w, tok, segs[1])
		if p == nil {
			return
		}
		if !s.repoRoutes(w, r, tok, p, segs[2:]) {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
		}
	case r.Method == http.MethodGet && n == 2 && segs[0] == "projects":
		s.mu.RLock()
		p := s.findProject(tok, segs[1])
		var body map[string]any
		if p != nil {
			body = s.projectJSON(p, false)
		}
		s.mu.RUnlock()
		if p == nil {
			writeJSON(w, http.StatusNotFound, projNotFound)
			return
		}
		writeJSON(w, http.StatusOK, body)
	case r.Method == http.MethodPost && n == 3 && segs[0] == "projects" && segs[2] == "pipeline":
		s.createPipeline(w, r, tok, segs[1])
	case n >= 3 && segs[0] == "projects" && segs[2] == "hooks" && (n <= 4 || n == 6 && segs[4] == "test" && r.Method == http.MethodPost):
		s.projectHooks(w, r, tok, segs)
	case segs[0] == "hooks" && n <= 2:
		s.systemHooks(w, r, tok, segs)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
	}
}

// projectOr404 resolves ":id" for tok, answering 404 like GitLab when the
// project does not exist or the token cannot see it.
func (s *Server) projectOr404(w http.ResponseWriter, tok *Token, id string) *Project {
	s.mu.RLock()
	p := s.findProject(tok, id)
	s.mu.RUnlock()
	if p == nil {
		writeJSON(w, http.StatusNotFound, projNotFound)
	}
	return p
}

func (s *Server) getUser(w http.ResponseWriter, tok *Token) {
	username := "admin"
	name := "Administrator"
	bot := false
	if tok.Kind == PersonalToken {
		s.mu.RLock()
		ns := s.personalNamespace(tok.UserID)
		s.mu.RUnlock()
		if ns != nil {
			username, name = ns.Path, ns.Name
		}
	}
	if tok.Kind == GroupAccessToken {
		s.mu.RLock()
		g := s.groups[tok.GroupID]
		s.mu.RUnlock()
		username = fmt.Sprintf("group_%d_bot_%x", g.ID, tok.UserID)
		name = orDefault(tok.Name, "glsync")
		bot = true
	}
	if tok.Kind == ProjectAccessToken {
		username = fmt.Sprintf("project_%d_bot_%x", tok.ProjectID, tok.UserID)
		name = orDefault(tok.Name, "glsync")
		bot = true
	}
	body := map[string]any{
		"id": tok.UserID, "username": username, "name": name, "state": "active", "locked": false,
		"avatar_url": nil, "web_url": s.webURL(username), "bot": bot, "created_at": ts(baseTime),
		"public_email": nil, "two_factor_enabled": false, "external": false,
	}
	if tok.Kind == AdminToken {
		body["is_admin"] = true
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) getTokenSelf(w http.ResponseWriter, tok *Token) {
	scopes := tok.Scopes
	if scopes == nil {
		scopes = []string{"api"}
	}
	var exp any
	if tok.ExpiresAt != "" {
		exp = tok.ExpiresAt
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": tok.UserID * 10, "name": orDefault(tok.Name, "glsync"), "revoked": false, "created_at": ts(baseTime),
		"description": "", "scopes": scopes, "user_id": tok.UserID, "last_used_at": ts(time.Now()),
		"active": true, "expires_at": exp,
	})
}
