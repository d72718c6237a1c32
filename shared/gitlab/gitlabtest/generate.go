package gitlabtest

import (
	"fmt"
	"log/slog"
	"math/rand"
	"sort"
	"strings"
	"time"
)

// AddGroup creates a group under parent (nil for a root) and returns it.
func (s *Server) AddGroup(parent *Group, name string) *Group {
	s.lockW()
	defer s.mu.Unlock()
	return s.addGroupLocked(parent, name)
}

func (s *Server) addGroupLocked(parent *Group, name string) *Group {
	path := slug(name)
	g := &Group{ID: s.nextID.group, Name: name, Path: path, FullPath: path, Visibility: "private"}
	s.nextID.group++
	if parent != nil {
		g.ParentID = parent.ID
		g.FullPath = parent.FullPath + "/" + path
	}
	g.CreatedAt = baseTime.Add(time.Duration(g.ID) * time.Hour)
	g.Description = "The " + name + " group"
	s.groups[g.ID] = g
	s.byPath[g.FullPath] = g
	return g
}

// AddProject creates a project in group g and returns it.
func (s *Server) AddProject(g *Group, name string) *Project {
	s.lockW()
	defer s.mu.Unlock()
	return s.addProjectLocked(g, name)
}

func (s *Server) addProjectLocked(g *Group, name string) *Project {
	p := &Project{
		ID: s.nextID.project, Name: name, Path: slug(name), NamespaceID: g.ID,
		Visibility: "private", DefaultBranch: "main",
	}
	s.nextID.project++
	p.CreatedAt = baseTime.Add(time.Duration(p.ID) * time.Minute)
	p.LastActivity = p.CreatedAt.Add(72 * time.Hour)
	p.Description = name + " owned by " + g.Name
	s.projects[p.ID] = p
	s.byID.dirty = true
	return p
}

// RemoveProject deletes a project, as if it was deleted in GitLab.
func (s *Server) RemoveProject(id int64) {
	s.lockW()
	delete(s.projects, id)
	s.byID.dirty = true
	s.mu.Unlock()
}

// UpdateProject changes a project under the server's lock.
func (s *Server) UpdateProject(id int64, fn func(*Project)) {
	s.lockW()
	if p := s.projects[id]; p != nil {
		fn(p)
	}
	s.mu.Unlock()
}

// AddToken registers a token.
func (s *Server) AddToken(t Token) *Token {
	s.lockW()
	defer s.mu.Unlock()
	if t.UserID == 0 {
		t.UserID = s.nextID.user
		s.nextID.user++
	}
	tok := t
	s.tokens[t.Value] = &tok
	return &tok
}

// SetHookEvents changes a hook's events, as a user would in GitLab's UI.
func (s *Server) SetHookEvents(id int64, events map[string]bool) {
	s.lockW()
	if h := s.hooks[id]; h != nil {
		h.Events = events
	}
	s.mu.Unlock()
}

// NextHookID is the id GitLab will give the next hook created: tests
// write configurations that name a hook before it exists.
func (s *Server) NextHookID() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nextID.hook
}

// EditHook changes any setting of a hook, as a user would in GitLab's UI.
func (s *Server) EditHook(id int64, edit func(*Hook)) {
	s.lockW()
	if h := s.hooks[id]; h != nil {
		edit(h)
	}
	s.mu.Unlock()
}

// DeleteHook removes a hook, as a user would in GitLab's UI.
func (s *Server) DeleteHook(id int64) {
	s.lockW()
	delete(s.hooks, id)
	s.mu.Unlock()
}

// DisableHook marks a hook as GitLab does after repeated failures.
func (s *Server) DisableHook(id int64) {
	s.lockW()
	if h := s.hooks[id]; h != nil {
		h.AlertStatus = "disabled"
	}
	s.mu.Unlock()
}

// AddHook registers a hook directly, as a user would in GitLab's UI.
func (s *Server) AddHook(h Hook) Hook {
	s.lockW()
	defer s.mu.Unlock()
	h.ID = s.nextID.hook
	s.nextID.hook++
	if h.Events == nil {
		h.Events = map[string]bool{}
	}
	h.CreatedAt = time.Now().UTC()
	cp := h
	s.hooks[h.ID] = &cp
	return h
}

// Group returns a group by full path, or nil.
func (s *Server) Group(fullPath string) *Group {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byPath[fullPath]
}

// Groups returns all groups ordered by id.
func (s *Server) Groups() []Group {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Group
	for _, g := range s.sortedGroups(func(*Group) bool { return true }) {
		out = append(out, *g)
	}
	return out
}

// ProjectInfo is a project with its computed path, for test assertions.
type ProjectInfo struct {
	Project
	PathWithNamespace string
}

// Projects returns all projects ordered by id.
func (s *Server) Projects() []ProjectInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []ProjectInfo
	for _, p := range s.sortedProjects(func(*Project) bool { return true }) {
		out = append(out, ProjectInfo{Project: *p, PathWithNamespace: s.groups[p.NamespaceID].FullPath + "/" + p.Path})
	}
	return out
}

// Hooks returns all hooks (group and system) ordered by id.
func (s *Server) Hooks() []Hook {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Hook
	for _, h := range s.hooks {
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func slug(name string) string {
	return strings.ReplaceAll(name, " ", "-")
}

// OrgSpec describes a generated organisation.
type OrgSpec struct {
	// Roots is the number of root groups (at most len(rootNames)).
	Roots int
	// Projects is the total number of projects, spread over all groups.
	Projects int
	// Depth is the nesting depth below each root (3 or more gives
	// root/team/area/sub...).
	Depth int
	// Seed makes the organisation reproducible.
	Seed int64
	// Activity adds recent work to the projects with a repository:
	// pipelines with their jobs (some failed, some skipped), releases,
	// issues and merge requests updated in the last weeks, as a live
	// organisation has. Off, only the structure and old merge requests.
	Activity bool
	// Log, when set, receives what Generate is doing: a line when it
	// starts, one per quarter of the projects and of their activity in a
	// large organisation (100,000 projects take seconds), and one with
	// what it made.
	Log *slog.Logger
}

// genProgressFrom is the organisation size from which Generate logs
// quarters: smaller ones take milliseconds.
const genProgressFrom = 10000

// genProgress logs "generating <phase>" at each of the first three
// quarters of n steps (the summary line says when all are made).
type genProgress struct {
	log     *slog.Logger
	phase   string
	n       int
	quarter int // the next quarter to report, 1 to 3; 4 when none is left
	start   time.Time
}

func newGenProgress(log *slog.Logger, phase string, n int) *genProgress {
	p := &genProgress{log: log, phase: phase, n: n, quarter: 1, start: time.Now()}
	if log == nil || n < genProgressFrom {
		p.quarter = 4
	}
	return p
}

// step records that done of n steps are made.
func (p *genProgress) step(done int) {
	if p.quarter > 3 || done < p.quarter*p.n/4 {
		return
	}
	p.log.Info("simulator: generating "+p.phase, "done", done, "of", p.n, "elapsed", time.Since(p.start).Round(time.Millisecond).String())
	p.quarter++
}

// Org is what Generate made: the root groups and one group access token
// per root, plus an admin token.
type Org struct {
	Roots       []*Group
	RootTokens  []string // RootTokens[i] is the owner token of Roots[i]
	AdminToken  string
	GroupCount  int
	ProjectsPer map[string]int // projects per root full path
}

var (
	rootNames    = []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"}
	teamNames    = []string{"DevopsTeam", "RnDTeam", "MarketingTeam", "PlatformTeam", "DataTeam", "SecurityTeam"}
	areaNames    = []string{"backend", "frontend", "infra", "tools", "mobile", "ml"}
	serviceNames = []string{"Payment", "Auth", "Billing", "Search", "Catalog", "Inventory", "Notification", "Shipping", "Gateway", "Profile", "Analytics", "Ledger", "Pricing", "Checkout", "Recommendation", "Audit"}
	otherNames   = []string{"frontend-app", "docs", "terraform-modules", "helm-charts", "ci-templates", "design-system", "sdk", "runbooks"}
)

// Generate fills the instance with a seeded organisation: spec.Roots root
// groups, each with teams nested spec.Depth levels deep, spec.Projects
// projects spread over all groups (most named like "PaymentService", some
// archived, some empty), a few projects shared across roots, an owner group
// access token per root and an admin token.
func (s *Server) Generate(spec OrgSpec) Org {
	if spec.Roots <= 0 {
		spec.Roots = 3
	}
	if spec.Roots > len(rootNames) {
		spec.Roots = len(rootNames)
	}
	if spec.Depth < 1 {
		spec.Depth = 3
	}
	rnd := rand.New(rand.NewSource(spec.Seed))
	start := time.Now()
	if spec.Log != nil {
		spec.Log.Info("simulator: generating an organisation", "projects", spec.Projects, "roots", spec.Roots, "depth", spec.Depth,
			"activity", spec.Activity, "seed", spec.Seed)
	}
	s.lockW()
	var org Org
	var all []*Group
	for i := 0; i < spec.Roots; i++ {
		root := s.addGroupLocked(nil, rootNames[i])
		org.Roots = append(org.Roots, root)
		all = append(all, root)
		teams := teamNames[:2+rnd.Intn(len(teamNames)-1)]
		for _, t := range teams {
			team := s.addGroupLocked(root, t)
			all = append(all, team)
			parents := []*Group{team}
			for d := 2; d <= spec.Depth; d++ {
				var next []*Group
				for _, p := range parents {
					n := 1 + rnd.Intn(2)
					for k := 0; k < n; k++ {
						name := areaNames[rnd.Intn(len(areaNames))]
						if d > 2 {
							name = fmt.Sprintf("%s-%d", name, k+1)
						}
						if s.byPath[p.FullPath+"/"+slug(name)] != nil {
							continue
						}
						c := s.addGroupLocked(p, name)
						all = append(all, c)
						next = append(next, c)
					}
				}
				parents = next
			}
		}
	}
	org.GroupCount = len(all)
	org.ProjectsPer = map[string]int{}
	used := make(map[string]bool, spec.Projects)
	created := make([]*Project, 0, spec.Projects)
	progress := newGenProgress(spec.Log, "projects", spec.Projects)
	for i := 0; i < spec.Projects; i++ {
		progress.step(i)
		g := all[rnd.Intn(len(all))]
		var name string
		for attempt := 0; ; attempt++ {
			if rnd.Intn(4) > 0 {
				name = serviceNames[rnd.Intn(len(serviceNames))] + "Service"
			} else {
				name = otherNames[rnd.Intn(len(otherNames))]
			}
			if attempt > 2 {
				name = fmt.Sprintf("%s-%d", name, i)
			}
			if !used[g.FullPath+"/"+slug(name)] {
				break
			}
		}
		used[g.FullPath+"/"+slug(name)] = true
		p := s.addProjectLocked(g, name)
		switch r := rnd.Intn(100); {
		case r < 5:
			p.Archived = true
		case r < 8:
			p.EmptyRepo = true
		}
		if rnd.Intn(3) == 0 {
			p.Topics = []string{[]string{"go", "python", "java", "typescript"}[rnd.Intn(4)]}
		}
		p.Visibility = []string{"private", "private", "internal", "public"}[rnd.Intn(4)]
		created = append(created, p)
		if !p.EmptyRepo && rnd.Intn(10) < 3 {
			for k := 0; k < 1+rnd.Intn(3); k++ {
				at := p.CreatedAt.Add(time.Duration(24*(k+1)) * time.Hour)
				mr := s.addMRLocked(p.ID, []string{"Fix flaky test", "Bump dependencies", "Add metrics", "Refactor handler"}[rnd.Intn(4)], at)
				mr.State = []string{"opened", "opened", "merged", "closed"}[rnd.Intn(4)]
			}
		}
		org.ProjectsPer[strings.SplitN(g.FullPath, "/", 2)[0]]++
	}
	// Share a few projects with another root's team, as organisations do
	// with common libraries.
	if len(org.Roots) > 1 {
		next := 0
		for _, root := range org.Roots {
			shared := 0
			for ; next < len(created) && shared < 2; next++ {
				p := created[next]
				if !s.isDescendant(p.NamespaceID, root.ID) {
					p.SharedWith = append(p.SharedWith, root.ID)
					shared++
				}
			}
		}
	}
	s.mu.Unlock()

	// Every root has a few members and its access token's bot user.
	for _, root := range org.Roots {
		for k, u := range []string{"alice", "bob", "carol"}[:1+rnd.Intn(3)] {
			s.AddMember(root.ID, u, []int{50, 40, 30}[k])
		}
		s.lockW()
		s.obj.members = append(s.obj.members, &Member{GroupID: root.ID, UserID: s.obj.id(), Username: fmt.Sprintf("group_%d_bot_glsync", root.ID), Name: root.Path + "-glsync", AccessLevel: 50, Bot: true})
		s.mu.Unlock()
	}
	for _, root := range org.Roots {
		tok := fmt.Sprintf("glpat-%s", randToken(rnd))
		s.AddToken(Token{Value: tok, Kind: GroupAccessToken, GroupID: root.ID, AccessLevel: 50, Name: root.Path + "-glsync"})
		org.RootTokens = append(org.RootTokens, tok)
	}
	org.AdminToken = "glpat-" + randToken(rnd)
	s.AddToken(Token{Value: org.AdminToken, Kind: AdminToken, Name: "admin"})
	if spec.Activity {
		progress := newGenProgress(spec.Log, "activity (pipelines, jobs, releases, issues, merge requests)", len(created))
		for i, p := range created {
			progress.step(i)
			if !p.EmptyRepo {
				// The generated activity is history (backdated to the last
				// weeks), not events of now: last_activity_at stays.
				last := p.LastActivity
				s.addActivity(rnd, p.ID, strings.HasSuffix(p.Name, "Service"))
				s.UpdateProject(p.ID, func(p *Project) { p.LastActivity = last })
			}
		}
	}
	if spec.Log != nil {
		s.mu.RLock()
		spec.Log.Info("simulator: organisation generated", "groups", org.GroupCount, "projects", len(created),
			"merge_requests", len(s.mrs), "pipelines", len(s.obj.pipelines), "jobs", len(s.obj.jobs), "issues", len(s.obj.issues),
			"releases", len(s.obj.releases), "duration", time.Since(start).Round(time.Millisecond).String())
		s.mu.RUnlock()
	}
	return org
}

// addActivity gives a project recent CI/CD runs, releases, issues and
// merge requests.
func (s *Server) addActivity(rnd *rand.Rand, projectID int64, service bool) {
	stages := []string{"build", "test", "lint", "package", "deploy"}
	for k := 0; k < 1+rnd.Intn(4); k++ {
		jobs := stages[:3+rnd.Intn(3)]
		status := []string{"success", "success", "success", "failed", "running"}[rnd.Intn(5)]
		_, js := s.AddPipeline(projectID, status, jobs...)
		switch status {
		case "failed": // one job failed, the later stages never ran
			at := rnd.Intn(len(js))
			for i, j := range js {
				switch {
				case i < at:
					s.SetJobStatus(j.ID, "success")
				case i > at:
					s.SetJobStatus(j.ID, "skipped")
				}
			}
		case "running":
			for i, j := range js {
				s.SetJobStatus(j.ID, []string{"success", "running", "pending"}[min(i, 2)])
			}
		}
	}
	if service {
		for k := 0; k < rnd.Intn(4); k++ {
			s.AddRelease(projectID, fmt.Sprintf("v1.%d.0", k))
		}
	}
	for k := 0; k < rnd.Intn(4); k++ {
		is := s.AddIssue(projectID, []string{"Login fails on Safari", "Add rate limiting", "Flaky integration test", "Upgrade Go", "Document the API"}[rnd.Intn(5)], rnd.Intn(10) == 0)
		if rnd.Intn(3) == 0 {
			s.UpdateIssue(is.ID, func(i *Issue) { i.State = "closed" })
		}
		if rnd.Intn(2) == 0 {
			s.UpdateIssue(is.ID, func(i *Issue) { i.Labels = []string{"bug"} })
		}
	}
	if rnd.Intn(2) == 0 {
		mr := s.AddMergeRequest(projectID, []string{"Add metrics", "Fix flaky test", "Bump dependencies"}[rnd.Intn(3)])
		if rnd.Intn(3) == 0 {
			s.UpdateMergeRequest(mr.ID, func(m *MergeRequest) { m.State = "merged" })
		}
	}
}

func randToken(rnd *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
	b := make([]byte, 20)
	for i := range b {
		b[i] = alphabet[rnd.Intn(len(alphabet))]
	}
	return string(b)
}
