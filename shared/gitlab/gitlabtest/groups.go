// The groups API: the groups listing and the routes under /groups/:id
// (subgroups, projects, members, hooks, issues, releases...).

package gitlabtest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// listGroups serves GET /groups. A non-admin sees the groups it is a member
// of (all_available=false, the default for authenticated users) or, with
// all_available=true, also public and internal ones.
func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, tok *Token) {
	q := r.URL.Query()
	topOnly, _ := boolParam(q, "top_level_only")
	allAvail, _ := boolParam(q, "all_available")
	minLevel, _ := strconv.Atoi(q.Get("min_access_level"))
	search := strings.ToLower(q.Get("search"))
	s.mu.RLock()
	defer s.mu.RUnlock()
	groups := s.sortedGroups(func(g *Group) bool {
		if topOnly && g.ParentID != 0 {
			return false
		}
		if search != "" && !strings.Contains(strings.ToLower(g.Name), search) && !strings.Contains(strings.ToLower(g.Path), search) {
			return false
		}
		member := tok.Kind != AdminToken && s.isDescendant(g.ID, tok.GroupID)
		if minLevel > 0 {
			// Only memberships count; an admin with no membership sees none.
			return member && s.accessLevel(tok) >= minLevel
		}
		if tok.Kind == AdminToken {
			return true
		}
		return member || (allAvail && g.Visibility != "private")
	})
	sortGroups(groups, q.Get("order_by"), q.Get("sort"))
	page := offsetPage(w, r, s.apiURL("groups"), groups)
	out := make([]any, len(page))
	for i, g := range page {
		out[i] = s.groupJSON(g)
	}
	writeJSON(w, http.StatusOK, out)
}

func sortGroups(gs []*Group, orderBy, dir string) {
	key := func(g *Group) string { return strings.ToLower(g.Name) }
	switch orderBy {
	case "id":
		key = func(g *Group) string { return fmt.Sprintf("%020d", g.ID) }
	case "path":
		key = func(g *Group) string { return g.Path }
	}
	sort.SliceStable(gs, func(i, j int) bool {
		a, b := key(gs[i]), key(gs[j])
		if a == b {
			return gs[i].ID < gs[j].ID
		}
		if dir == "desc" {
			return a > b
		}
		return a < b
	})
}

func (s *Server) groupRoutes(w http.ResponseWriter, r *http.Request, tok *Token, segs []string) {
	s.mu.RLock()
	g := s.findGroup(tok, segs[1])
	s.mu.RUnlock()
	if g == nil {
		writeJSON(w, http.StatusNotFound, groupNotFound)
		return
	}
	q := r.URL.Query()
	switch {
	case len(segs) == 2 && r.Method == http.MethodGet:
		s.mu.RLock()
		body := s.groupJSON(g)
		s.mu.RUnlock()
		writeJSON(w, http.StatusOK, body)
	case len(segs) == 3 && r.Method == http.MethodGet && (segs[2] == "subgroups" || segs[2] == "descendant_groups"):
		s.mu.RLock()
		direct := segs[2] == "subgroups"
		list := s.sortedGroups(func(c *Group) bool {
			if c.ID == g.ID || !s.visibleGroup(tok, c) {
				return false
			}
			if direct {
				return c.ParentID == g.ID
			}
			return s.isDescendant(c.ID, g.ID)
		})
		sortGroups(list, q.Get("order_by"), q.Get("sort"))
		page := offsetPage(w, r, s.apiURL(fmt.Sprintf("groups/%d/%s", g.ID, segs[2])), list)
		out := make([]any, len(page))
		for i, c := range page {
			out[i] = s.groupJSON(c)
		}
		s.mu.RUnlock()
		writeJSON(w, http.StatusOK, out)
	case len(segs) == 3 && r.Method == http.MethodGet && segs[2] == "projects":
		includeSub, _ := boolParam(q, "include_subgroups")
		withShared, set := boolParam(q, "with_shared")
		if !set {
			withShared = true // GitLab's default
		}
		simple, _ := boolParam(q, "simple")
		arch := archivedFilter(q)
		s.mu.RLock()
		list := s.sortedProjects(func(p *Project) bool {
			if !arch(p) || !s.visibleProject(tok, p) {
				return false
			}
			if p.NamespaceID == g.ID || (includeSub && s.isDescendant(p.NamespaceID, g.ID)) {
				return true
			}
			if withShared {
				for _, sg := range p.SharedWith {
					if sg == g.ID || (includeSub && s.isDescendant(sg, g.ID)) {
						return true
					}
				}
			}
			return false
		})
		// Group projects offer offset pagination only, whatever the client asks.
		sortProjects(s, list, q.Get("order_by"), q.Get("sort"))
		page := offsetPage(w, r, s.apiURL(fmt.Sprintf("groups/%d/projects", g.ID)), list)
		out := make([]any, len(page))
		for i, p := range page {
			out[i] = s.projectJSON(p, simple)
		}
		s.mu.RUnlock()
		writeJSON(w, http.StatusOK, out)
	case len(segs) == 3 && r.Method == http.MethodGet && segs[2] == "merge_requests":
		s.listMRs(w, r, tok, fmt.Sprintf("groups/%d/merge_requests", g.ID), func(p *Project) bool {
			return s.isDescendant(p.NamespaceID, g.ID)
		})
	case len(segs) == 3 && r.Method == http.MethodGet && segs[2] == "issues":
		s.groupIssues(w, r, tok, g)
	case len(segs) == 3 && r.Method == http.MethodGet && segs[2] == "search":
		s.groupSearch(w, r, tok, g)
	case len(segs) == 3 && r.Method == http.MethodGet && segs[2] == "releases":
		s.groupReleases(w, r, tok, g)
	case len(segs) == 4 && r.Method == http.MethodGet && segs[2] == "members" && segs[3] == "all":
		s.groupMembersAll(w, r, g)
	case (len(segs) == 3 || len(segs) == 4) && r.Method == http.MethodGet && segs[2] == "members":
		s.groupMembers(w, r, g, segs)
	case segs[2] == "hooks" && (len(segs) <= 4 || len(segs) == 6 && segs[4] == "test" && r.Method == http.MethodPost):
		if tok.Kind != AdminToken && s.accessLevel(tok) < 50 {
			writeJSON(w, http.StatusForbidden, forbidden)
			return
		}
		s.groupHooks(w, r, g, segs)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
	}
}
