package gitlabtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
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

// hookInput is a hook create/update body; pointers tell "absent" apart.
type hookInput struct {
	fields map[string]any
}

func readHookInput(r *http.Request) (hookInput, error) {
	in := hookInput{fields: map[string]any{}}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return in, err
		}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &in.fields); err != nil {
				return in, err
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return in, err
		}
		for k, v := range r.Form {
			in.fields[k] = v[0]
		}
	}
	for k, v := range r.URL.Query() {
		if _, ok := in.fields[k]; !ok {
			in.fields[k] = v[0]
		}
	}
	return in, nil
}

func (in hookInput) str(k string) (string, bool) {
	v, ok := in.fields[k]
	if !ok || v == nil {
		return "", false
	}
	return fmt.Sprint(v), true
}

func (in hookInput) boolean(k string) (bool, bool) {
	v, ok := in.fields[k]
	if !ok || v == nil {
		return false, false
	}
	switch b := v.(type) {
	case bool:
		return b, true
	default:
		p, err := strconv.ParseBool(fmt.Sprint(b))
		return err == nil && p, true
	}
}

func validHookURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// errInvalidURL is GitLab's message, capital letter included.
//
//lint:ignore ST1005 the text must match GitLab's answer
var errInvalidURL = errors.New("Invalid url given")

// applyHook writes input fields onto h; create sets GitLab's defaults.
func applyHook(h *Hook, in hookInput, events []string, create bool) error {
	if v, ok := in.str("url"); ok {
		if !validHookURL(v) {
			return errInvalidURL
		}
		if _, withToken := in.fields["token"]; !create && v != h.URL && !withToken {
			h.Token = "" // GitLab drops the secret when the URL changes without one
		}
		h.URL = v
	} else if create {
		return fmt.Errorf("url is missing")
	}
	if v, ok := in.str("token"); ok {
		h.Token = v
	}
	for _, f := range []struct {
		key string
		dst *map[string]string
	}{{"custom_headers", &h.CustomHeaders}, {"url_variables", &h.URLVariables}} {
		raw, ok := in.fields[f.key]
		if !ok {
			continue
		}
		list, _ := raw.([]any)
		m := map[string]string{}
		for _, x := range list {
			kv, _ := x.(map[string]any)
			k, _ := kv["key"].(string)
			v, _ := kv["value"].(string)
			if k == "" {
				return fmt.Errorf("%s: every entry needs a key", f.key)
			}
			m[k] = v
		}
		*f.dst = m
	}
	if v, ok := in.str("name"); ok {
		h.Name = v
	}
	if v, ok := in.str("description"); ok {
		h.Description = v
	}
	if v, ok := in.str("push_events_branch_filter"); ok {
		h.PushEventsBranchFilter = v
	}
	if v, ok := in.str("branch_filter_strategy"); ok {
		h.BranchFilterStrategy = v
	}
	if v, ok := in.str("custom_webhook_template"); ok {
		h.CustomWebhookTemplate = v
	}
	if create {
		h.EnableSSLVerification = true
		h.Events = map[string]bool{"push_events": true}
	}
	if v, ok := in.boolean("enable_ssl_verification"); ok {
		h.EnableSSLVerification = v
	}
	for _, e := range events {
		if v, ok := in.boolean(e); ok {
			h.Events[e] = v
		}
	}
	// Flags this simulator does not deliver are kept and returned.
	for k := range in.fields {
		if !strings.HasSuffix(k, "_events") || slices.Contains(events, k) {
			continue
		}
		if v, ok := in.boolean(k); ok {
			if h.ExtraFlags == nil {
				h.ExtraFlags = map[string]bool{}
			}
			h.ExtraFlags[k] = v
		}
	}
	return nil
}

func (s *Server) groupHooks(w http.ResponseWriter, r *http.Request, g *Group, segs []string) {
	s.hookCRUD(w, r, segs[3:], hookOwner{group: g.ID}, groupHookEvents, fmt.Sprintf("groups/%d/hooks", g.ID))
}

func (s *Server) systemHooks(w http.ResponseWriter, r *http.Request, tok *Token, segs []string) {
	if tok.Kind != AdminToken {
		writeJSON(w, http.StatusForbidden, forbidden)
		return
	}
	s.hookCRUD(w, r, segs[1:], hookOwner{}, systemHookEvents, "hooks")
}

// hookCRUD serves list/create on the collection and get/update/delete on
// one hook of owner (a group's, a project's or the system's).
func (s *Server) hookCRUD(w http.ResponseWriter, r *http.Request, rest []string, owner hookOwner, events []string, base string) {
	if len(rest) == 3 && rest[1] == "test" && !owner.system() {
		s.testHook(w, r, owner, rest)
		return
	}
	if len(rest) == 0 {
		switch r.Method {
		case http.MethodGet:
			s.mu.RLock()
			var list []*Hook
			for _, h := range s.hooks {
				if owner.owns(h) {
					list = append(list, h)
				}
			}
			sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
			page := offsetPage(w, r, s.apiURL(base), list)
			out := make([]any, len(page))
			for i, h := range page {
				out[i] = s.hookJSON(h)
			}
			s.mu.RUnlock()
			writeJSON(w, http.StatusOK, out)
		case http.MethodPost:
			in, err := readHookInput(r)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body is invalid"})
				return
			}
			if s.refuseSigningToken(w, in) {
				return
			}
			h := &Hook{GroupID: owner.group, ProjectID: owner.project, CreatedAt: time.Now().UTC()}
			if err := applyHook(h, in, events, true); err != nil {
				code := http.StatusUnprocessableEntity
				if strings.Contains(err.Error(), "missing") {
					code = http.StatusBadRequest
				}
				writeJSON(w, code, map[string]any{"error": err.Error()})
				return
			}
			s.applySigningToken(h, in)
			s.lockW()
			h.ID = s.nextID.hook
			s.nextID.hook++
			s.hooks[h.ID] = h
			body := s.hookJSON(h)
			s.mu.Unlock()
			writeJSON(w, http.StatusCreated, body)
		default:
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "405 Method Not Allowed"})
		}
		return
	}
	id, err := strconv.ParseInt(rest[0], 10, 64)
	s.lockW()
	defer s.mu.Unlock()
	h := s.hooks[id]
	if err != nil || h == nil || !owner.owns(h) {
		writeJSON(w, http.StatusNotFound, hookNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.hookJSON(h))
	case http.MethodPut:
		in, err := readHookInput(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body is invalid"})
			return
		}
		updated := *h
		updated.Events = map[string]bool{}
		for k, v := range h.Events {
			updated.Events[k] = v
		}
		if s.refuseSigningToken(w, in) {
			return
		}
		if err := applyHook(&updated, in, events, false); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": err.Error()})
			return
		}
		s.applySigningToken(&updated, in)
		*h = updated
		writeJSON(w, http.StatusOK, s.hookJSON(h))
	case http.MethodDelete:
		delete(s.hooks, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "405 Method Not Allowed"})
	}
}
