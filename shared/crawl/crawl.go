// Package crawl lists what one GitLab token may sync, page by page: the
// groups and projects it can see that its tokenMapping globs select.
//
// It uses collection endpoints only (never one call per object): groups
// from GET /groups with offset pagination (GitLab offers keyset there only
// to anonymous users), projects from GET /projects with keyset pagination
// ordered by id, which GitLab supports and which stays fast at any offset.
// A group access token lists its memberships (membership=true: its group's
// subtree and the projects shared with it); an admin token lists the whole
// instance, and the globs decide.
package crawl

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// Kinds the crawler can list.
const (
	KindGroup              = "group"
	KindProject            = "project"
	KindMergeRequest       = "merge-request"
	KindIssue              = "issue"
	KindPipeline           = "pipeline"
	KindJob                = "job"
	KindRelease            = "release"
	KindGroupWithMembers   = "group-with-members"
	KindProjectWithMembers = "project-with-members"
	KindMember             = "member"
	KindTag                = "tag"
	KindBranch             = "branch"
	KindDeployment         = "deployment"
	KindFile               = "file"
	KindFolder             = "folder"
	KindGitOps             = "gitops"
)

// Source lists objects for one token.
type Source struct {
	Entry  tokenmap.Entry
	Client *gitlab.Client
	// MinAccessLevel, when set, restricts group and project listings to
	// those where the token has at least this role.
	MinAccessLevel int

	once  sync.Once
	user  gitlab.User
	uerr  error
	admin bool

	refsMu sync.Mutex
	refs   []map[string]any
	refsOK bool

	groupsMu  sync.Mutex
	groups    []gitlab.Page // every group the token sees, listed once per Source
	groupsErr error
	groupsOK  bool
}

// Options are a kind's selector options (see mapping.Selector).
type Options struct {
	States            []string // merge requests: opened, closed, merged; empty means opened
	State             string   // issues: opened, closed, all; empty means opened
	UpdatedAfterDays  int      // merge requests and issues; 0: no limit
	LimitPerProject   int      // pipelines, jobs, releases; 0 means 100
	IncludeBotMembers bool     // group-with-members, project-with-members, member
	// IncludeInheritedMembers lists /members/all instead of /members.
	IncludeInheritedMembers bool
	// APIQueryParams are passed to GitLab's per-project listings (for
	// jobs: to each pipeline's jobs listing).
	APIQueryParams url.Values
	// PipelineQueryParams choose the pipelines whose jobs are listed.
	PipelineQueryParams url.Values
	// Branch options: only the default branch (one request per project),
	// else all branches, filtered by Search (GitLab) and Regex (here).
	DefaultBranchOnly bool
	Search            string
	Regex             string
	regex             *regexp.Regexp
	// Project options: see ProjectsWith.
	IncludeLanguages          bool
	IncludeOnlyActiveProjects bool
	IncludedFiles             []string
	SearchQueries             []SearchQuery
	// Files and Folders select the file and folder kinds.
	Files   FileOptions
	Folders []FolderOptions
	// Issue options.
	Labels      []string
	IssueType   string
	NonArchived bool
	// IncludeLabels adds __labels to projects.
	IncludeLabels bool
	// SpecPaths and Branch select GitOps spec files.
	SpecPaths []string
	Branch    string
	Now       time.Time
}

// SearchQuery is a named blob search run per project.
type SearchQuery struct{ Name, Query string }

// Compile prepares the options (the branch regex).
func (o *Options) Compile() error {
	if o.Regex == "" {
		return nil
	}
	re, err := regexp.Compile(o.Regex)
	if err != nil {
		return fmt.Errorf("regex %q: %w", o.Regex, err)
	}
	o.regex = re
	return nil
}

// MergeRequestOptions is the former name of Options.
type MergeRequestOptions = Options

// Counts says how many objects a listing fetched and how many the globs
// kept.
type Counts struct {
	Fetched, Selected int
}

// Identify asks GitLab who the token belongs to (one request, cached).
// It is also the earliest point a revoked or mistyped token is reported.
func (s *Source) Identify(ctx context.Context) (gitlab.User, error) {
	s.once.Do(func() {
		s.user, s.uerr = s.Client.CurrentUser(ctx)
		s.admin = s.user.IsAdmin
	})
	return s.user, s.uerr
}

// List streams the selected objects of kind to fn, one page at a time.
func (s *Source) List(ctx context.Context, kind string, o Options, fn func(gitlab.Page) error) (Counts, error) {
	switch kind {
	case KindGroup:
		return s.Groups(ctx, fn)
	case KindProject:
		return s.ProjectsWith(ctx, o, fn)
	case KindMergeRequest:
		return s.MergeRequests(ctx, o, fn)
	case KindIssue:
		return s.Issues(ctx, o, fn)
	case KindPipeline, KindJob, KindRelease, KindTag, KindBranch, KindDeployment:
		if err := o.Compile(); err != nil {
			return Counts{}, err
		}
		return s.ProjectChildren(ctx, kind, o, fn)
	case KindProjectWithMembers:
		return s.ProjectsWithMembers(ctx, o, fn)
	case KindMember:
		return s.GroupMembers(ctx, o, fn)
	case KindFile:
		return s.Files(ctx, o.Files, fn)
	case KindFolder:
		return s.Folders(ctx, o.Folders, fn)
	case KindGitOps:
		return s.SpecFiles(ctx, o.SpecPaths, o.Branch, fn)
	case KindGroupWithMembers:
		return s.GroupsWithMembers(ctx, o, fn)
	}
	return Counts{}, fmt.Errorf("crawl: unsupported kind %q", kind)
}

// allGroups lists every group the token sees, once: the group kind and
// the group-level listings of other kinds share it. Group counts are small
// next to projects, so keeping them is cheap.
func (s *Source) allGroups(ctx context.Context) ([]gitlab.Page, error) {
	s.groupsMu.Lock()
	defer s.groupsMu.Unlock()
	if s.groupsOK {
		return s.groups, s.groupsErr
	}
	q := url.Values{}
	q.Set("all_available", "false")
	q.Set("order_by", "id")
	q.Set("sort", "asc")
	if s.MinAccessLevel > 0 {
		q.Set("min_access_level", strconv.Itoa(s.MinAccessLevel))
	}
	var pages []gitlab.Page
	err := s.Client.ListOffset(ctx, "groups", q, func(p gitlab.Page) error {
		pages = append(pages, p)
		return nil
	})
	if err != nil {
		// Not cached: a later call may succeed (e.g. after a 5xx burst).
		return nil, fmt.Errorf("crawl: listing groups: %w", err)
	}
	s.groups, s.groupsOK = pages, true
	return pages, nil
}

// InvalidateGroups drops the cached group listing, so the next use lists
// again (a long-running daemon calls it after each resync).
func (s *Source) InvalidateGroups() {
	s.groupsMu.Lock()
	s.groups, s.groupsOK = nil, false
	s.groupsMu.Unlock()
}

// Covers reports whether the token can see path (a project's
// path_with_namespace or a group's full_path): an admin sees everything, a
// member token what lies under its top groups. It does not look at globs.
func (s *Source) Covers(ctx context.Context, path string) (bool, error) {
	if _, err := s.Identify(ctx); err != nil {
		return false, err
	}
	if s.admin {
		return true, nil
	}
	roots, err := s.RootGroupObjects(ctx)
	if err != nil {
		return false, err
	}
	for _, r := range roots {
		if path == r.FullPath || strings.HasPrefix(path, r.FullPath+"/") {
			return true, nil
		}
	}
	return false, nil
}

// Groups streams the groups the token sees whose full_path is in scope.
func (s *Source) Groups(ctx context.Context, fn func(gitlab.Page) error) (Counts, error) {
	var c Counts
	pages, err := s.allGroups(ctx)
	if err != nil {
		return c, err
	}
	filter := c.filter("full_path", s.Entry.MatchGroup, fn)
	for _, p := range pages {
		// Copy: the filter reuses the page's backing array.
		items := append([]map[string]any(nil), p.Items...)
		if err := filter(gitlab.Page{Items: items, RequestedAt: p.RequestedAt}); err != nil {
			return c, err
		}
	}
	return c, nil
}

// GroupRef names a group.
type GroupRef struct {
	ID       int64
	FullPath string
}

// RootGroups returns the ids of the token's top groups: those whose parent
// it cannot see. Group-level listings start there.
func (s *Source) RootGroups(ctx context.Context) ([]int64, error) {
	refs, err := s.RootGroupObjects(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	return ids, nil
}

// RootGroupObjects is RootGroups with the groups' full paths.
func (s *Source) RootGroupObjects(ctx context.Context) ([]GroupRef, error) {
	pages, err := s.allGroups(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	for _, p := range pages {
		for _, g := range p.Items {
			if id, ok := g["id"].(float64); ok {
				seen[int64(id)] = true
			}
		}
	}
	var roots []GroupRef
	for _, p := range pages {
		for _, g := range p.Items {
			parent, _ := g["parent_id"].(float64)
			if id, ok := g["id"].(float64); ok && (parent == 0 || !seen[int64(parent)]) {
				fp, _ := g["full_path"].(string)
				roots = append(roots, GroupRef{ID: int64(id), FullPath: fp})
			}
		}
	}
	return roots, nil
}

// MergeRequests streams the merge requests of selected projects: for an
// admin one instance-wide listing, otherwise one listing per root group
// (GitLab lists a group's merge requests with its subgroups').
func (s *Source) MergeRequests(ctx context.Context, o MergeRequestOptions, fn func(gitlab.Page) error) (Counts, error) {
	var c Counts
	if _, err := s.Identify(ctx); err != nil {
		return c, fmt.Errorf("crawl: identifying token: %w", err)
	}
	q := url.Values{}
	q.Set("scope", "all")
	states := o.States
	if len(states) == 0 {
		states = []string{"opened"}
	}
	wanted := map[string]bool{}
	for _, st := range states {
		wanted[st] = true
	}
	if len(states) == 1 {
		q.Set("state", states[0])
	} else {
		q.Set("state", "all")
	}
	if o.UpdatedAfterDays > 0 {
		now := o.Now
		if now.IsZero() {
			now = time.Now()
		}
		q.Set("updated_after", now.Add(-time.Duration(o.UpdatedAfterDays)*24*time.Hour).UTC().Format(time.RFC3339))
	}
	match := func(o map[string]any) bool {
		st, _ := o["state"].(string)
		return wanted[st] && s.Entry.MatchProject(MergeRequestProject(o))
	}
	return c, s.perRootGroup(ctx, "merge_requests", q, c.filterBy(match, fn))
}

// perRootGroup lists a collection instance-wide for an admin, else once
// per root group the token sees (GitLab includes subgroups).
func (s *Source) perRootGroup(ctx context.Context, collection string, q url.Values, fn func(gitlab.Page) error) error {
	if s.admin {
		if err := s.Client.ListOffset(ctx, collection, q, fn); err != nil {
			return fmt.Errorf("crawl: listing %s: %w", collection, err)
		}
		return nil
	}
	roots, err := s.RootGroups(ctx)
	if err != nil {
		return err
	}
	for _, id := range roots {
		if err := s.Client.ListOffset(ctx, fmt.Sprintf("groups/%d/%s", id, collection), q, fn); err != nil {
			return fmt.Errorf("crawl: listing %s of group %d: %w", collection, id, err)
		}
	}
	return nil
}

// MergeRequestProject returns the path_with_namespace of a merge
// request's project, from references.full ("group/project!iid").
func MergeRequestProject(mr map[string]any) string {
	refs, _ := mr["references"].(map[string]any)
	full, _ := refs["full"].(string)
	if i := strings.LastIndex(full, "!"); i > 0 {
		return full[:i]
	}
	return ""
}

// Projects streams the projects the token sees whose path_with_namespace
// matches a glob. Projects pending deletion are left out.
func (s *Source) Projects(ctx context.Context, fn func(gitlab.Page) error) (Counts, error) {
	return s.projects(ctx, false, fn)
}

// projects lists projects, only non-archived ones when activeOnly.
func (s *Source) projects(ctx context.Context, activeOnly bool, fn func(gitlab.Page) error) (Counts, error) {
	var c Counts
	if _, err := s.Identify(ctx); err != nil {
		return c, fmt.Errorf("crawl: identifying token: %w", err)
	}
	q := url.Values{}
	if !s.admin {
		q.Set("membership", "true")
	}
	if activeOnly {
		q.Set("archived", "false")
	}
	if s.MinAccessLevel > 0 {
		q.Set("min_access_level", strconv.Itoa(s.MinAccessLevel))
	}
	err := s.Client.ListKeyset(ctx, "projects", q, c.filter("path_with_namespace", s.Entry.MatchProject, fn))
	if err != nil {
		return c, fmt.Errorf("crawl: listing projects: %w", err)
	}
	return c, nil
}

// filter wraps fn so it only sees objects whose path field matches and
// that are not pending deletion, counting both.
func (c *Counts) filter(field string, match func(string) bool, fn func(gitlab.Page) error) func(gitlab.Page) error {
	return c.filterBy(func(o map[string]any) bool {
		path, _ := o[field].(string)
		return path != "" && match(path) && !pendingDeletion(o)
	}, fn)
}

// filterBy wraps fn so it only sees the objects keep accepts.
func (c *Counts) filterBy(keep func(map[string]any) bool, fn func(gitlab.Page) error) func(gitlab.Page) error {
	var mu sync.Mutex // offset listings call back from one goroutine, but be safe
	return func(p gitlab.Page) error {
		mu.Lock()
		defer mu.Unlock()
		c.Fetched += len(p.Items)
		kept := p.Items[:0]
		for _, o := range p.Items {
			if keep(o) {
				kept = append(kept, o)
			}
		}
		c.Selected += len(kept)
		if len(kept) == 0 {
			return nil
		}
		return fn(gitlab.Page{Items: kept, RequestedAt: p.RequestedAt})
	}
}

// pendingDeletion reports objects GitLab has scheduled for deletion; they
// are on their way out and are not synced.
func pendingDeletion(o map[string]any) bool {
	return o["marked_for_deletion_on"] != nil || o["marked_for_deletion_at"] != nil
}

// Issues streams the issues of selected projects, per root group (or
// instance-wide for an admin), like merge requests.
func (s *Source) Issues(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	var c Counts
	if _, err := s.Identify(ctx); err != nil {
		return c, fmt.Errorf("crawl: identifying token: %w", err)
	}
	q := url.Values{}
	q.Set("scope", "all")
	state := o.State
	if state == "" {
		state = "opened"
	}
	q.Set("state", state)
	if len(o.Labels) > 0 {
		q.Set("labels", strings.Join(o.Labels, ","))
	}
	if o.IssueType != "" {
		q.Set("issue_type", o.IssueType)
	}
	if o.NonArchived {
		q.Set("non_archived", "true")
	}
	if o.UpdatedAfterDays > 0 {
		now := o.Now
		if now.IsZero() {
			now = time.Now()
		}
		q.Set("updated_after", now.Add(-time.Duration(o.UpdatedAfterDays)*24*time.Hour).UTC().Format(time.RFC3339))
	}
	filter := c.filterBy(func(o map[string]any) bool { return s.Entry.MatchProject(ReferenceProject(o, "#")) }, fn)
	return c, s.perRootGroup(ctx, "issues", q, filter)
}

// ReferenceProject returns the project path of an object whose
// references.full is "group/project<sep>iid".
func ReferenceProject(obj map[string]any, sep string) string {
	refs, _ := obj["references"].(map[string]any)
	full, _ := refs["full"].(string)
	if i := strings.LastIndex(full, sep); i > 0 {
		return full[:i]
	}
	return ""
}

// childPath is the per-project listing of each project-child kind.
var childPath = map[string]string{KindPipeline: "pipelines", KindJob: "jobs", KindRelease: "releases",
	KindTag: "repository/tags", KindBranch: "repository/branches", KindDeployment: "deployments"}

// ProjectInfo is what child objects carry of their project, under
// "__project", so mappings can relate them and build identifiers.
func ProjectInfo(p map[string]any) map[string]any {
	return map[string]any{"id": p["id"], "path_with_namespace": p["path_with_namespace"], "web_url": p["web_url"], "name": p["name"]}
}

// ProjectChildren streams pipelines, jobs, releases, tags, deployments or
// branches of every selected project: GitLab lists them only per project,
// so this costs one request per project (newest first, up to
// LimitPerProject; APIQueryParams are passed to GitLab). Empty
// repositories have none and are skipped.
func (s *Source) ProjectChildren(ctx context.Context, kind string, o Options, fn func(gitlab.Page) error) (Counts, error) {
	limit := o.LimitPerProject
	if limit <= 0 {
		limit = 100
	}
	return s.EachProject(ctx, true, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
		id := int64(num(pr["id"]))
		info := ProjectInfo(pr)
		var items gitlab.Page
		var err error
		switch {
		case kind == KindJob && len(o.PipelineQueryParams) > 0:
			items, err = s.pipelineJobs(ctx, id, o, limit)
		case kind == KindJob:
			items, err = s.projectJobs(ctx, id, o, limit)
		case kind == KindBranch && o.DefaultBranchOnly:
			def, _ := pr["default_branch"].(string)
			var b map[string]any
			start := time.Now()
			if _, err = s.Client.Do(ctx, http.MethodGet, fmt.Sprintf("projects/%d/repository/branches/%s", id, gitlab.PathEscape(def)), nil, &b); err == nil {
				items = gitlab.Page{Items: []map[string]any{b}, RequestedAt: start}
			}
		default:
			q := gitlab.CloneValues(o.APIQueryParams)
			if kind == KindBranch && o.Search != "" {
				q.Set("search", o.Search)
			}
			items, err = s.Client.FirstItemsQuery(ctx, fmt.Sprintf("projects/%d/%s", id, childPath[kind]), q, limit)
		}
		if err != nil {
			return items, fmt.Errorf("crawl: listing %s of project %v: %w", childPath[kind], info["path_with_namespace"], err)
		}
		kept := items.Items[:0]
		for _, it := range items.Items {
			if kind == KindBranch && o.regex != nil {
				if name, _ := it["name"].(string); !o.regex.MatchString(name) {
					continue
				}
			}
			it["__project"] = info
			kept = append(kept, it)
		}
		items.Items = kept
		return items, nil
	}, fn)
}

// projectJobs lists a project's newest jobs (GET /projects/:id/jobs,
// keyset, newest first: one request for up to 100 jobs whatever the
// number of pipelines), up to limit, then the rest of the last pipeline
// begun, so no pipeline is cut in the middle. A pipeline's jobs are
// created together, so they are next to each other in this order.
// APIQueryParams filter the jobs (scope[]).
func (s *Source) projectJobs(ctx context.Context, projectID int64, o Options, limit int) (gitlab.Page, error) {
	var out gitlab.Page
	begun := map[float64]bool{}
	err := s.Client.WalkKeyset(ctx, fmt.Sprintf("projects/%d/jobs", projectID), o.APIQueryParams, func(p gitlab.Page) (bool, error) {
		if out.RequestedAt.IsZero() {
			out.RequestedAt = p.RequestedAt
		}
		for _, j := range p.Items {
			pl, _ := j["pipeline"].(map[string]any)
			pid := num(pl["id"])
			if len(out.Items) >= limit && !begun[pid] {
				return false, nil
			}
			begun[pid] = true
			out.Items = append(out.Items, j)
		}
		return true, nil
	})
	return out, err
}

// BranchSelected reports whether the branch options select branch name of
// a project whose default branch is def, as a resync would: only the
// default branch with DefaultBranchOnly, else GitLab's search (a
// substring; ^term and term$ anchor it) and then Regex. Call Compile
// first when Regex is set.
func (o *Options) BranchSelected(name, def string) bool {
	if o.DefaultBranchOnly {
		return name == def
	}
	if q := o.Search; q != "" {
		switch {
		case strings.HasPrefix(q, "^"):
			if !strings.HasPrefix(name, q[1:]) {
				return false
			}
		case strings.HasSuffix(q, "$"):
			if !strings.HasSuffix(name, q[:len(q)-1]) {
				return false
			}
		case !strings.Contains(name, q):
			return false
		}
	}
	return o.regex == nil || o.regex.MatchString(name)
}

// pipelineJobs lists the jobs of a project's newest pipelines: every job
// of each pipeline (all pages), pipeline after pipeline, until limit jobs;
// a pipeline is never cut in the middle. PipelineQueryParams filter the
// pipelines (status, ref, source…), APIQueryParams each pipeline's jobs
// (scope[], include_retried). Used when pipelines are filtered: the
// project's job listing cannot filter by pipeline.
func (s *Source) pipelineJobs(ctx context.Context, projectID int64, o Options, limit int) (gitlab.Page, error) {
	pipelines, err := s.Client.FirstItemsQuery(ctx, fmt.Sprintf("projects/%d/pipelines", projectID), o.PipelineQueryParams, limit)
	if err != nil {
		return pipelines, err
	}
	out := gitlab.Page{RequestedAt: pipelines.RequestedAt}
	for _, pl := range pipelines.Items {
		if len(out.Items) >= limit {
			break
		}
		err := s.Client.ListOffset(ctx, fmt.Sprintf("projects/%d/pipelines/%d/jobs", projectID, int64(num(pl["id"]))), o.APIQueryParams, func(p gitlab.Page) error {
			out.Items = append(out.Items, p.Items...)
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// EachProject runs fetch for every selected project (skipping empty
// repositories when asked), as many at a time as the client's gate
// allows, and hands the non-empty pages to fn one at a time.
// The projects come from one listing per Source shared by every
// per-project kind (only the fields they need are kept: a few hundred
// bytes per project), so five per-project kinds do not list the projects
// five times.
func (s *Source) EachProject(ctx context.Context, skipEmpty bool, fetch func(ctx context.Context, project map[string]any) (gitlab.Page, error), fn func(gitlab.Page) error) (Counts, error) {
	refs, err := s.projectRefs(ctx)
	if err != nil {
		return Counts{}, err
	}
	return s.eachProjectFrom(ctx, skipEmpty, func(_ context.Context, each func(gitlab.Page) error) (Counts, error) {
		return Counts{}, each(gitlab.Page{Items: refs})
	}, fetch, fn)
}

// ProjectRef is the project as per-project kinds see it (their "repo"):
// the fields refFields names, as the shared project listing keeps them.
func ProjectRef(pr map[string]any) map[string]any {
	r := make(map[string]any, len(refFields))
	for _, f := range refFields {
		r[f] = pr[f]
	}
	return r
}

// refFields are the project fields per-project kinds use.
var refFields = []string{"id", "name", "path", "path_with_namespace", "default_branch", "empty_repo", "web_url", "archived"}

// projectRefs lists the selected projects once per Source.
func (s *Source) projectRefs(ctx context.Context) ([]map[string]any, error) {
	s.refsMu.Lock()
	defer s.refsMu.Unlock()
	if s.refsOK {
		return s.refs, nil
	}
	var refs []map[string]any
	_, err := s.Projects(ctx, func(p gitlab.Page) error {
		for _, pr := range p.Items {
			refs = append(refs, ProjectRef(pr))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.refs, s.refsOK = refs, true
	return refs, nil
}

func (s *Source) eachProject(ctx context.Context, skipEmpty, activeOnly bool, fetch func(ctx context.Context, project map[string]any) (gitlab.Page, error), fn func(gitlab.Page) error) (Counts, error) {
	return s.eachProjectFrom(ctx, skipEmpty, func(ctx context.Context, each func(gitlab.Page) error) (Counts, error) {
		return s.projects(ctx, activeOnly, each)
	}, fetch, fn)
}

func (s *Source) eachProjectFrom(ctx context.Context, skipEmpty bool, list func(context.Context, func(gitlab.Page) error) (Counts, error),
	fetch func(ctx context.Context, project map[string]any) (gitlab.Page, error), fn func(gitlab.Page) error) (Counts, error) {
	var c Counts
	var mu sync.Mutex
	sem := make(chan struct{}, cap(s.Client.Gate()))
	var wg sync.WaitGroup
	var firstErr error // guarded by mu
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) { // mu held
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	_, err := list(ctx, func(p gitlab.Page) error {
		for _, pr := range p.Items {
			if empty, _ := pr["empty_repo"].(bool); empty && skipEmpty {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				items, err := fetch(ctx, pr)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					fail(err)
					return
				}
				c.Fetched += len(items.Items)
				c.Selected += len(items.Items)
				if len(items.Items) > 0 && firstErr == nil {
					if err := fn(items); err != nil {
						fail(err)
					}
				}
			}()
		}
		return nil
	})
	wg.Wait()
	if firstErr != nil {
		return c, firstErr
	}
	return c, err
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// groupsInScope collects the groups in scope (the listing shared with the
// group kind) for the member kinds, which then read members group by group.
func (s *Source) groupsInScope(ctx context.Context) (groups []map[string]any, requested time.Time, out Counts, err error) {
	c, err := s.Groups(ctx, func(p gitlab.Page) error {
		groups = append(groups, p.Items...)
		requested = p.RequestedAt
		return nil
	})
	out.Fetched = c.Fetched
	return groups, requested, out, err
}

// GroupsWithMembers streams the groups in scope, each with its members
// under "__members" (see MembersOf).
func (s *Source) GroupsWithMembers(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	groups, requested, out, err := s.groupsInScope(ctx)
	if err != nil {
		return out, err
	}
	for _, cached := range groups {
		// The listing is shared with the group kind: add members to a copy.
		g := maps.Clone(cached)
		members, err := s.MembersOf(ctx, g, o)
		if err != nil {
			return out, err
		}
		g["__members"] = members
		out.Selected++
		if err := fn(gitlab.Page{Items: []map[string]any{g}, RequestedAt: requested}); err != nil {
			return out, err
		}
	}
	return out, nil
}

// MembersOf lists a group's members as the member kinds' options ask:
// direct (/members) or with the inherited ones (IncludeInheritedMembers:
// /members/all), bots left out unless IncludeBotMembers; all pages.
func (s *Source) MembersOf(ctx context.Context, group map[string]any, o Options) ([]any, error) {
	suffix := "members"
	if o.IncludeInheritedMembers {
		suffix = "members/all"
	}
	members, err := s.listMembers(ctx, fmt.Sprintf("groups/%d/%s", int64(num(group["id"])), suffix), o.IncludeBotMembers)
	if err != nil {
		return nil, fmt.Errorf("crawl: listing members of group %v: %w", group["full_path"], err)
	}
	return members, nil
}

// MemberObjects are the member kind's objects for one group's members:
// each member with the group under "__group".
func MemberObjects(group map[string]any, members []any) []map[string]any {
	info := map[string]any{"id": group["id"], "full_path": group["full_path"], "name": group["name"], "web_url": group["web_url"]}
	items := make([]map[string]any, 0, len(members))
	for _, m := range members {
		mm := m.(map[string]any)
		mm["__group"] = info
		items = append(items, mm)
	}
	return items
}

// IsBot reports bot users: GitLab's bot flag, or the usernames of group and
// project access token bots.
func IsBot(m map[string]any) bool {
	if b, _ := m["bot"].(bool); b {
		return true
	}
	u, _ := m["username"].(string)
	return strings.HasPrefix(u, "group_") && strings.Contains(u, "_bot") || strings.HasPrefix(u, "project_") && strings.Contains(u, "_bot")
}

// ProjectsWithMembers streams the selected projects, each with its members
// under "__members" (direct, or with IncludeInheritedMembers /members/all;
// bots left out unless IncludeBotMembers). One request per project.
func (s *Source) ProjectsWithMembers(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	suffix := "members"
	if o.IncludeInheritedMembers {
		suffix = "members/all"
	}
	return s.eachProject(ctx, false, false, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
		start := time.Now()
		members, err := s.listMembers(ctx, fmt.Sprintf("projects/%d/%s", int64(num(pr["id"])), suffix), o.IncludeBotMembers)
		if err != nil {
			return gitlab.Page{}, fmt.Errorf("crawl: members of project %v: %w", pr["path_with_namespace"], err)
		}
		cp := maps.Clone(pr)
		cp["__members"] = members
		return gitlab.Page{Items: []map[string]any{cp}, RequestedAt: start}, nil
	}, fn)
}

// GroupMembers streams the members of the groups in scope, one object per
// member and group, the group under "__group". A member of several groups
// is owned by the first listing that reaches it (ids dedupe).
func (s *Source) GroupMembers(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	groups, requested, out, err := s.groupsInScope(ctx)
	if err != nil {
		return out, err
	}
	for _, g := range groups {
		members, err := s.MembersOf(ctx, g, o)
		if err != nil {
			return out, err
		}
		items := MemberObjects(g, members)
		out.Selected += len(items)
		if len(items) > 0 {
			if err := fn(gitlab.Page{Items: items, RequestedAt: requested}); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func (s *Source) listMembers(ctx context.Context, path string, includeBots bool) ([]any, error) {
	members := []any{}
	err := s.Client.ListOffset(ctx, path, nil, func(p gitlab.Page) error {
		for _, m := range p.Items {
			if !includeBots && IsBot(m) {
				continue
			}
			members = append(members, m)
		}
		return nil
	})
	return members, err
}

// MaxFileSize is the largest file read (file://, includedFiles, file kind).
const MaxFileSize = 1 << 20

// ProjectsWith streams projects with the project selector's options:
// includeOnlyActiveProjects (archived=false in the listing),
// includeLanguages (__languages), includedFiles (__includedFiles, path →
// content or null when absent) and searchQueries (__searchQueries, name →
// whether the blob search matched). Each option costs requests per project,
// made concurrently within the token's gate.
func (s *Source) ProjectsWith(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	if !o.IncludeLanguages && !o.IncludeLabels && len(o.IncludedFiles) == 0 && len(o.SearchQueries) == 0 {
		return s.projects(ctx, o.IncludeOnlyActiveProjects, fn)
	}
	return s.eachProject(ctx, false, o.IncludeOnlyActiveProjects, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
		start := time.Now()
		cp := make(map[string]any, len(pr)+3)
		for k, v := range pr {
			cp[k] = v
		}
		if err := s.Enrich(ctx, cp, o); err != nil {
			return gitlab.Page{}, err
		}
		return gitlab.Page{Items: []map[string]any{cp}, RequestedAt: start}, nil
	}, fn)
}

// Enrich adds the project selector's extra data to one project object.
func (s *Source) Enrich(ctx context.Context, pr map[string]any, o Options) error {
	id := int64(num(pr["id"]))
	empty, _ := pr["empty_repo"].(bool)
	ref, _ := pr["default_branch"].(string)
	if o.IncludeLanguages {
		langs := map[string]any{}
		if _, err := s.Client.Do(ctx, http.MethodGet, fmt.Sprintf("projects/%d/languages", id), nil, &langs); err != nil {
			return fmt.Errorf("crawl: languages of %v: %w", pr["path_with_namespace"], err)
		}
		pr["__languages"] = langs
	}
	if o.IncludeLabels {
		labels := []any{}
		err := s.Client.ListOffset(ctx, fmt.Sprintf("projects/%d/labels", id), nil, func(p gitlab.Page) error {
			for _, l := range p.Items {
				labels = append(labels, l)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("crawl: labels of %v: %w", pr["path_with_namespace"], err)
		}
		pr["__labels"] = labels
	}
	if len(o.IncludedFiles) > 0 {
		files := map[string]any{}
		for _, f := range o.IncludedFiles {
			files[f] = nil
			if empty {
				continue
			}
			content, err := s.FileContent(ctx, id, f, ref)
			if err != nil {
				return err
			}
			if content != nil {
				files[f] = *content
			}
		}
		pr["__includedFiles"] = files
	}
	if len(o.SearchQueries) > 0 {
		found := map[string]any{}
		for _, q := range o.SearchQueries {
			ok, err := s.SearchBlobs(ctx, id, q.Query)
			if err != nil {
				return err
			}
			found[q.Name] = ok
		}
		pr["__searchQueries"] = found
	}
	return nil
}

// FileContent reads a file from a project's ref; nil when it is not there.
// Any other failure (403, timeout, over MaxFileSize) is an error: the
// caller must not take it for "no file".
func (s *Source) FileContent(ctx context.Context, projectID int64, filePath, ref string) (*string, error) {
	b, err := s.FileBytes(ctx, projectID, filePath, ref)
	if b == nil || err != nil {
		return nil, err
	}
	c := string(b)
	return &c, nil
}

// FileBytes is FileContent as bytes, for callers that parse the content
// and need no string copy of it. A file that is there but empty gives a
// non-nil, empty slice.
func (s *Source) FileBytes(ctx context.Context, projectID int64, filePath, ref string) ([]byte, error) {
	q := url.Values{}
	if ref != "" {
		q.Set("ref", ref)
	}
	b, status, err := s.Client.Raw(ctx, fmt.Sprintf("projects/%d/repository/files/%s/raw", projectID, gitlab.PathEscape(filePath)), q, MaxFileSize)
	if status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("crawl: file %s of project %d: %w", filePath, projectID, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// SearchBlobs reports whether GitLab's blob search finds query in a project.
func (s *Source) SearchBlobs(ctx context.Context, projectID int64, query string) (bool, error) {
	q := url.Values{}
	q.Set("scope", "blobs")
	q.Set("search", query)
	p, err := s.Client.FirstItemsQuery(ctx, fmt.Sprintf("projects/%d/search", projectID), q, 1)
	if err != nil {
		return false, fmt.Errorf("crawl: search %q in project %d: %w", query, projectID, err)
	}
	return len(p.Items) > 0, nil
}

// FromSelector turns a mapping resource's selector options into listing
// options (the resync and the webhook handlers share it).
func FromSelector(o mapping.Selector) Options {
	out := Options{States: o.States, State: o.State, UpdatedAfterDays: o.UpdatedAfterDays,
		LimitPerProject: o.LimitPerProject, IncludeBotMembers: o.IncludeBotMembers, IncludeInheritedMembers: o.IncludeInheritedMembers,
		APIQueryParams: o.APIQueryParams, PipelineQueryParams: o.PipelineQueryParams, DefaultBranchOnly: o.DefaultBranchOnly, Search: o.Search, Regex: o.Regex,
		IncludeLanguages: o.IncludeLanguages, IncludeOnlyActiveProjects: o.IncludeOnlyActiveProjects, IncludedFiles: o.IncludedFiles,
		Files:  FileOptions{Path: o.Files.Path, Repos: o.Files.Repos, SkipParsing: o.Files.SkipParsing, Strategy: o.Files.Strategy},
		Labels: o.Labels, IssueType: o.IssueType, NonArchived: o.NonArchived, IncludeLabels: o.IncludeLabels}
	for _, q := range o.SearchQueries {
		out.SearchQueries = append(out.SearchQueries, SearchQuery{Name: q.Name, Query: q.Query})
	}
	for _, f := range o.Folders {
		fo := FolderOptions{Path: f.Path}
		for _, r := range f.Repos {
			fo.Repos = append(fo.Repos, FolderRepo{Name: r.Name, Branch: r.Branch})
		}
		out.Folders = append(out.Folders, fo)
	}
	return out
}

// ResourceGroup is the resources of a kind that share listing options:
// one listing serves them all.
type ResourceGroup struct {
	Options   Options
	Resources []*mapping.Resource
}

// GroupResources groups a kind's resources by their listing options, in
// file order. Resources with the same selector options (the usual case)
// share one listing; a resource with other options (another file glob,
// other merge request states, other project extras) gets its own, so it
// sees exactly the objects and fields its selector asks for. No resources
// give one group without resources (the GitOps kind).
func GroupResources(resources []*mapping.Resource) []ResourceGroup {
	var out []ResourceGroup
	index := map[string]int{}
	for _, r := range resources {
		o := FromSelector(r.Options)
		b, _ := json.Marshal(o) // exported fields only: the options as written
		if gi, ok := index[string(b)]; ok {
			out[gi].Resources = append(out[gi].Resources, r)
			continue
		}
		index[string(b)] = len(out)
		out = append(out, ResourceGroup{Options: o, Resources: []*mapping.Resource{r}})
	}
	if len(out) == 0 {
		out = append(out, ResourceGroup{})
	}
	return out
}
