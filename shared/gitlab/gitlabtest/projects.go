// The projects API: the projects listing, its filters and orders, and the
// project JSON cached between writes.

package gitlabtest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func sortProjects(s *Server, ps []*Project, orderBy, dir string) {
	if orderBy == "" {
		orderBy = "created_at"
		if dir == "" {
			dir = "desc"
		}
	}
	less := func(a, b *Project) bool { return a.ID < b.ID }
	switch orderBy {
	case "name":
		less = func(a, b *Project) bool { return strings.ToLower(a.Name) < strings.ToLower(b.Name) }
	case "path":
		less = func(a, b *Project) bool { return a.Path < b.Path }
	case "last_activity_at", "updated_at":
		less = func(a, b *Project) bool { return a.LastActivity.Before(b.LastActivity) }
	case "created_at":
		less = func(a, b *Project) bool { return a.CreatedAt.Before(b.CreatedAt) }
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if dir == "desc" {
			return less(ps[j], ps[i])
		}
		return less(ps[i], ps[j])
	})
}

// archivedFilter applies GitLab's archived parameter: unset lists all.
func archivedFilter(q url.Values) func(*Project) bool {
	v, set := boolParam(q, "archived")
	return func(p *Project) bool { return !set || p.Archived == v }
}

// listProjects serves GET /projects with offset or keyset pagination.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, tok *Token) {
	q := r.URL.Query()
	keyset := q.Get("pagination") == "keyset"
	// GitLab offers keyset pagination on projects ordered by id only, in
	// either direction.
	if keyset && q.Get("order_by") != "id" {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "Keyset pagination is not yet available for this type of request"})
		return
	}
	membership, _ := boolParam(q, "membership")
	simple, _ := boolParam(q, "simple")
	owned, _ := boolParam(q, "owned")
	visibility := q.Get("visibility")
	minLevel, _ := strconv.Atoi(q.Get("min_access_level"))
	arch := archivedFilter(q)
	active, activeSet := boolParam(q, "active")
	// id_after and id_before filter in both paginations (GitLab's
	// projects finder); keyset links move them.
	idAfter, _ := strconv.ParseInt(q.Get("id_after"), 10, 64)
	idBefore, _ := strconv.ParseInt(q.Get("id_before"), 10, 64)
	s.mu.RLock()
	defer s.mu.RUnlock()
	filter := func(p *Project) bool {
		if !arch(p) {
			return false
		}
		if visibility != "" && p.Visibility != visibility {
			return false
		}
		// active: not archived and not pending deletion (GitLab 17.x+).
		if activeSet && !p.Archived != active { // projects are never pending deletion here
			return false
		}
		if owned {
			// GitLab's owned projects: the user's namespace, and projects
			// where it has the Owner role through a membership (a group
			// access token's bot: its group's projects when the token's
			// role is Owner; sharing never grants Owner here).
			return s.ownsPersonal(tok, p) ||
				tok.Kind != AdminToken && s.accessLevel(tok) >= 50 && s.isDescendant(p.NamespaceID, tok.GroupID)
		}
		if s.ownsPersonal(tok, p) {
			return true // the owner's role in a personal project is Owner
		}
		if tok.Kind == AdminToken {
			return !membership && minLevel == 0 // an admin is a member of nothing else here
		}
		if minLevel > 0 && s.accessLevel(tok) < minLevel {
			return false
		}
		return s.visibleProject(tok, p)
	}
	var page []*Project
	if keyset {
		// One more than a page tells whether a next page exists, as
		// GitLab's pager does.
		desc := q.Get("sort") == "desc"
		_, per := pageParams(q)
		list := s.keysetProjects(idAfter, idBefore, desc, per+1, filter)
		page = keysetPage(w, r, s.apiURL("projects"), list, func(p *Project) int64 { return p.ID }, desc)
	} else {
		list := s.sortedProjects(func(p *Project) bool {
			return (idAfter == 0 || p.ID > idAfter) && (idBefore == 0 || p.ID < idBefore) && filter(p)
		})
		sortProjects(s, list, q.Get("order_by"), q.Get("sort"))
		page = offsetPage(w, r, s.apiURL("projects"), list)
	}
	// The rendered objects joined as they are: encoding them again would
	// re-check every byte.
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, p := range page {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(s.projectRaw(p, simple))
	}
	buf.WriteString("]\n")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

type projectKey struct {
	id     int64
	simple bool
}

type renderedJSON struct {
	version uint64
	raw     json.RawMessage
}

// projectRaw is projectJSON encoded, reused while nothing was written.
// Callers hold s.mu (read).
func (s *Server) projectRaw(p *Project, simple bool) json.RawMessage {
	k, v := projectKey{p.ID, simple}, s.version.Load()
	if r, ok := s.rendered.Load(k); ok && r.(renderedJSON).version == v {
		return r.(renderedJSON).raw
	}
	raw, _ := json.Marshal(s.projectJSON(p, simple))
	s.rendered.Store(k, renderedJSON{version: v, raw: raw})
	return raw
}

// Prerender renders every project's listing JSON now (until the next
// write), so a benchmark of a listing times the client, not the
// simulator encoding objects (on a real instance that CPU is GitLab's).
func (s *Server) Prerender() {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.projects {
		s.projectRaw(p, false)
	}
}

// keysetProjects returns up to limit projects that filter keeps, in id
// order (descending with desc), strictly between after and before (0:
// unbounded). Callers hold s.mu (read or write).
func (s *Server) keysetProjects(after, before int64, desc bool, limit int, filter func(*Project) bool) []*Project {
	s.byID.mu.Lock()
	if s.byID.dirty || len(s.byID.list) != len(s.projects) {
		// A new slice: a reader may still hold the old one.
		s.byID.list = make([]*Project, 0, len(s.projects))
		for _, p := range s.projects {
			s.byID.list = append(s.byID.list, p)
		}
		slices.SortFunc(s.byID.list, func(a, b *Project) int { return cmp.Compare(a.ID, b.ID) })
		s.byID.dirty = false
	}
	list := s.byID.list
	s.byID.mu.Unlock()
	var out []*Project
	keep := func(p *Project) bool {
		if (after > 0 && p.ID <= after) || (before > 0 && p.ID >= before) || !filter(p) {
			return true
		}
		out = append(out, p)
		return len(out) < limit
	}
	if desc {
		i := len(list)
		if before > 0 {
			i, _ = slices.BinarySearchFunc(list, before, func(p *Project, id int64) int { return cmp.Compare(p.ID, id) })
		}
		for i--; i >= 0 && (after == 0 || list[i].ID > after); i-- {
			if !keep(list[i]) {
				break
			}
		}
		return out
	}
	i := 0
	if after > 0 {
		i, _ = slices.BinarySearchFunc(list, after+1, func(p *Project, id int64) int { return cmp.Compare(p.ID, id) })
	}
	for ; i < len(list) && (before == 0 || list[i].ID < before); i++ {
		if !keep(list[i]) {
			break
		}
	}
	return out
}

func (s *Server) sortedProjects(filter func(*Project) bool) []*Project {
	var out []*Project
	for _, p := range s.projects {
		if filter(p) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
