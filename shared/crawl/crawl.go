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
	"fmt"
	"net/url"
	"sync"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// Kinds the crawler can list.
const (
	KindGroup   = "group"
	KindProject = "project"
)

// Source lists objects for one token.
type Source struct {
	Entry  tokenmap.Entry
	Client *gitlab.Client

	once  sync.Once
	user  gitlab.User
	uerr  error
	admin bool
}

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
func (s *Source) List(ctx context.Context, kind string, fn func(gitlab.Page) error) (Counts, error) {
	switch kind {
	case KindGroup:
		return s.Groups(ctx, fn)
	case KindProject:
		return s.Projects(ctx, fn)
	}
	return Counts{}, fmt.Errorf("crawl: unsupported kind %q", kind)
}

// Groups streams the groups the token sees whose full_path is in scope.
func (s *Source) Groups(ctx context.Context, fn func(gitlab.Page) error) (Counts, error) {
	var c Counts
	q := url.Values{}
	q.Set("all_available", "false")
	q.Set("order_by", "id")
	q.Set("sort", "asc")
	err := s.Client.ListOffset(ctx, "groups", q, c.filter("full_path", s.Entry.MatchGroup, fn))
	if err != nil {
		return c, fmt.Errorf("crawl: listing groups: %w", err)
	}
	return c, nil
}

// Projects streams the projects the token sees whose path_with_namespace
// matches a glob. Projects pending deletion are left out.
func (s *Source) Projects(ctx context.Context, fn func(gitlab.Page) error) (Counts, error) {
	var c Counts
	if _, err := s.Identify(ctx); err != nil {
		return c, fmt.Errorf("crawl: identifying token: %w", err)
	}
	q := url.Values{}
	if !s.admin {
		q.Set("membership", "true")
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
	return func(p gitlab.Page) error {
		c.Fetched += len(p.Items)
		kept := p.Items[:0]
		for _, o := range p.Items {
			if path, _ := o[field].(string); path != "" && match(path) && !pendingDeletion(o) {
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
