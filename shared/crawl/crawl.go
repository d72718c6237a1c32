// Package crawl lists what one GitLab token may sync, page by page: the
// groups and projects it can see that its tokenMapping globs select.
//
// It uses collection endpoints only (never one call per object): groups
// from GET /groups with offset pagination (GitLab offers keyset there only
// to anonymous users), projects from GET /projects with keyset pagination
// ordered by id, which GitLab supports and which stays fast at any offset,
// read as concurrent id ranges when long (gitlab.ListKeysetParallel).
// A group access token lists its memberships (membership=true: its group's
// subtree and the projects shared with it); an admin token lists the whole
// instance, and the globs decide.
//
// What a kind's listing selects is package selector's (the kind names and
// selector.Options, which Options embeds beside the crawler's own
// settings); this package owns how GitLab is read to honour it.
package crawl

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// Source lists objects for one token.
type Source struct {
	Entry  tokenmap.Entry
	Client *gitlab.Client
	// Visibility restricts the group and project listings of every kind
	// (the mapping's listing-wide settings).
	selector.Visibility

	once  sync.Once
	user  gitlab.User
	uerr  error
	admin bool

	refs projectRefs // the per-project kinds' shared listing

	groupsMu  sync.Mutex
	groups    []gitlab.Page // every group the token sees, listed once per Source
	groupsErr error
	groupsOK  bool

	personalMu sync.Mutex
	personal   []PersonalProject // see PersonalProjects
	personalOK bool
}

// Counts says how many objects a listing fetched and how many the globs
// kept.
type Counts struct {
	Fetched, Selected int
}

// NewSource is the source of one token under the mapping's listing-wide
// settings v (minimum access level, owned projects, project visibility;
// see mapping.Config.Listing): they apply to every kind, for resyncs and
// events alike. v may be nil: no restriction.
func NewSource(e tokenmap.Entry, c *gitlab.Client, v *selector.Visibility) *Source {
	s := &Source{Entry: e, Client: c}
	if v != nil {
		s.Visibility = *v
	}
	return s
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
	case selector.KindGroup:
		return s.GroupsWith(ctx, o.ActiveGroups, fn)
	case selector.KindProject:
		return s.ProjectsWith(ctx, o, fn)
	case selector.KindMergeRequest:
		return s.MergeRequests(ctx, o, fn)
	case selector.KindIssue:
		return s.Issues(ctx, o, fn)
	case selector.KindPipeline, selector.KindJob, selector.KindRelease, selector.KindTag, selector.KindBranch, selector.KindDeployment:
		if err := o.Compile(); err != nil {
			return Counts{}, err
		}
		return s.ProjectChildren(ctx, kind, o, fn)
	case selector.KindProjectWithMembers:
		return s.ProjectsWithMembers(ctx, o, fn)
	case selector.KindMember:
		return s.GroupMembers(ctx, o, fn)
	case selector.KindFile:
		return s.Files(ctx, o, fn)
	case selector.KindFolder:
		return s.Folders(ctx, o, fn)
	case selector.KindSkill:
		return s.Skills(ctx, o, fn)
	case selector.KindPlugin:
		return s.Plugins(ctx, o, fn)
	case selector.KindGitOps:
		return s.SpecFiles(ctx, o.SpecPaths, o.Branch, fn)
	case selector.KindGroupWithMembers:
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

// InvalidateGroups drops the cached group listing (and personal
// projects), so the next use lists again (a long-running daemon calls it
// after each resync).
func (s *Source) InvalidateGroups() {
	s.groupsMu.Lock()
	s.groups, s.groupsOK = nil, false
	s.groupsMu.Unlock()
	s.personalMu.Lock()
	s.personal, s.personalOK = nil, false
	s.personalMu.Unlock()
}

// Covers reports whether the token can see path (a project's
// path_with_namespace or a group's full_path): an admin sees everything, a
// member token what lies under its top groups and its personal projects.
// It does not look at globs.
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
	return s.coversPersonal(ctx, path)
}

// Groups streams the groups the token sees whose full_path is in scope.
func (s *Source) Groups(ctx context.Context, fn func(gitlab.Page) error) (Counts, error) {
	return s.GroupsWith(ctx, nil, fn)
}

// GroupsWith is Groups with includeOnlyActiveGroups (see ActiveSelected).
func (s *Source) GroupsWith(ctx context.Context, active *bool, fn func(gitlab.Page) error) (Counts, error) {
	var c Counts
	pages, err := s.allGroups(ctx)
	if err != nil {
		return c, err
	}
	filter := c.filterBy(func(o map[string]any) bool {
		path, _ := o["full_path"].(string)
		return path != "" && s.Entry.MatchGroup(path) && !PendingDeletion(o) && ActiveSelected(o, active)
	}, fn)
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

// Projects streams the projects the token sees whose path_with_namespace
// matches a glob. Projects pending deletion are left out.
func (s *Source) Projects(ctx context.Context, fn func(gitlab.Page) error) (Counts, error) {
	return s.projects(ctx, nil, fn)
}

// projects lists projects: with active set, only active ones (true) or
// only archived ones (false). GitLab's active parameter means "not
// archived and not pending deletion"; pending deletion is always left out
// here, so the archived flag of the listing decides, and one listing
// serves every resource whatever it asks.
func (s *Source) projects(ctx context.Context, active *bool, fn func(gitlab.Page) error) (Counts, error) {
	var c Counts
	if _, err := s.Identify(ctx); err != nil {
		return c, fmt.Errorf("crawl: identifying token: %w", err)
	}
	q := url.Values{}
	if !s.admin {
		q.Set("membership", "true")
	}
	if s.MinAccessLevel > 0 {
		q.Set("min_access_level", strconv.Itoa(s.MinAccessLevel))
	}
	if s.OwnedOnly {
		q.Set("owned", "true")
	}
	if s.ProjectVisibility != "" {
		q.Set("visibility", s.ProjectVisibility)
	}
	keep := func(o map[string]any) bool {
		path, _ := o["path_with_namespace"].(string)
		return path != "" && s.Entry.MatchProject(path) && !PendingDeletion(o) && ActiveSelected(o, active)
	}
	// Long listings are read as concurrent id ranges (pages arrive out of
	// id order); small ones are one chain as before.
	err := s.Client.ListKeysetParallel(ctx, "projects", q, c.filterBy(keep, fn))
	if err != nil {
		return c, fmt.Errorf("crawl: listing projects: %w", err)
	}
	return c, nil
}

// ActiveSelected applies includeOnlyActiveProjects or
// includeOnlyActiveGroups to a project or group object: nil keeps it, true
// keeps it when not archived, false when archived.
func ActiveSelected(o map[string]any, active *bool) bool {
	if active == nil {
		return true
	}
	archived, _ := o["archived"].(bool)
	return archived != *active
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

// deletionFields are the fields in which GitLab marks an object scheduled
// for deletion.
var deletionFields = []string{"marked_for_deletion_on", "marked_for_deletion_at"}

// PendingDeletion reports whether GitLab marks o (a project or group as
// the API serves it) scheduled for deletion: resyncs leave it out, and a
// deletion event may take it as gone.
func PendingDeletion(o map[string]any) bool {
	for _, f := range deletionFields {
		if o[f] != nil {
			return true
		}
	}
	return false
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
