package crawl

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// MergeRequests streams the merge requests of selected projects: for an
// admin one instance-wide listing, otherwise one listing per root group
// (GitLab lists a group's merge requests with its subgroups'). As in
// Ocean v2 (gitlab-v2/main.py, on_resync_merge_requests), the updatedAfter
// window applies to closed, locked and merged ones: opened merge requests
// are listed whatever their age, in a listing of their own, unless
// UpdatedAfterOpened.
func (s *Source) MergeRequests(ctx context.Context, o MergeRequestOptions, fn func(gitlab.Page) error) (Counts, error) {
	var c Counts
	if _, err := s.Identify(ctx); err != nil {
		return c, fmt.Errorf("crawl: identifying token: %w", err)
	}
	states := o.States
	if len(states) == 0 {
		states = []string{"opened"}
	}
	inGroups, err := s.activeGroupFilter(ctx, o.ActiveGroups)
	if err != nil {
		return c, err
	}
	window := o.windowStart()
	var others []string
	for _, st := range states {
		if st != "opened" {
			others = append(others, st)
		}
	}
	type listing struct {
		states  []string
		windowd bool
	}
	var listings []listing
	switch {
	case window.IsZero() || o.UpdatedAfterOpened || len(others) == len(states):
		listings = []listing{{states, !window.IsZero()}}
	case len(others) == 0:
		listings = []listing{{states, false}}
	default:
		listings = []listing{{[]string{"opened"}, false}, {others, true}}
	}
	for _, l := range listings {
		q := url.Values{}
		q.Set("scope", "all")
		if len(l.states) == 1 {
			q.Set("state", l.states[0])
		} else {
			q.Set("state", "all")
		}
		if l.windowd {
			q.Set("updated_after", window.UTC().Format(time.RFC3339))
		}
		match := func(mr map[string]any) bool {
			st, _ := mr["state"].(string)
			p := MergeRequestProject(mr)
			return slices.Contains(l.states, st) && s.Entry.MatchProject(p) && inGroups(p)
		}
		if err := s.perRootGroup(ctx, "merge_requests", q, c.filterBy(match, fn)); err != nil {
			return c, err
		}
	}
	return c, nil
}

// windowStart is when the updatedAfter window opens; zero: no window.
func (o *Options) windowStart() time.Time {
	if o.UpdatedAfterDays <= 0 {
		return time.Time{}
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	return now.Add(-time.Duration(o.UpdatedAfterDays * float64(24*time.Hour)))
}

// MergeRequestSelected reports whether a resync with these options lists
// merge request mr (its state and its updated_at against the window), so
// a webhook event writes only what a resync would.
func (o *Options) MergeRequestSelected(mr map[string]any) bool {
	st, _ := mr["state"].(string)
	states := o.States
	if len(states) == 0 {
		states = []string{"opened"}
	}
	if !slices.Contains(states, st) {
		return false
	}
	w := o.windowStart()
	if w.IsZero() || (st == "opened" && !o.UpdatedAfterOpened) {
		return true
	}
	return updatedSince(mr, w)
}

// IssueSelected is MergeRequestSelected for issues.
func (o *Options) IssueSelected(issue map[string]any) bool {
	st, _ := issue["state"].(string)
	if o.State != "" && o.State != st {
		return false
	}
	w := o.windowStart()
	return w.IsZero() || updatedSince(issue, w)
}

func updatedSince(obj map[string]any, t time.Time) bool {
	s, _ := obj["updated_at"].(string)
	u, err := time.Parse(time.RFC3339, s)
	return err != nil || !u.Before(t) // unreadable: keep, GitLab filtered it
}

// activeGroupFilter applies includeOnlyActiveGroups to objects listed per
// root group: it reports whether a project path lies in a group the option
// keeps. nil keeps everything without a request.
func (s *Source) activeGroupFilter(ctx context.Context, active *bool) (func(projectPath string) bool, error) {
	if active == nil {
		return func(string) bool { return true }, nil
	}
	pages, err := s.allGroups(ctx)
	if err != nil {
		return nil, err
	}
	archived := map[string]bool{}
	for _, p := range pages {
		for _, g := range p.Items {
			if a, _ := g["archived"].(bool); a {
				fp, _ := g["full_path"].(string)
				archived[fp] = true
			}
		}
	}
	return func(projectPath string) bool {
		inArchived := false
		for p := projectPath; ; {
			i := strings.LastIndex(p, "/")
			if i < 0 {
				break
			}
			p = p[:i]
			if archived[p] {
				inArchived = true
				break
			}
		}
		return inArchived != *active
	}, nil
}

// perRootGroup lists a collection instance-wide for an admin, else once
// per root group the token sees (GitLab includes subgroups) and once per
// personal project of the token (see PersonalProjects).
//
// The collections (issues, merge requests) take no order_by=id (their
// order_by is created_at, updated_at, title…: GitLab answers 400 to id),
// so they are read as Ocean reads them: pages one after another in
// GitLab's order, created_at desc, the order Ocean's objects come in.
func (s *Source) perRootGroup(ctx context.Context, collection string, q url.Values, fn func(gitlab.Page) error) error {
	if s.admin {
		if err := s.walkAll(ctx, collection, q, fn); err != nil {
			return fmt.Errorf("crawl: listing %s: %w", collection, err)
		}
		return nil
	}
	roots, err := s.RootGroups(ctx)
	if err != nil {
		return err
	}
	for _, id := range roots {
		if err := s.walkAll(ctx, fmt.Sprintf("groups/%d/%s", id, collection), q, fn); err != nil {
			return fmt.Errorf("crawl: listing %s of group %d: %w", collection, id, err)
		}
	}
	return s.perPersonalProject(ctx, collection, q, fn)
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

// Issues streams the issues of selected projects, per root group (or
// instance-wide for an admin), like merge requests.
func (s *Source) Issues(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	var c Counts
	if _, err := s.Identify(ctx); err != nil {
		return c, fmt.Errorf("crawl: identifying token: %w", err)
	}
	inGroups, err := s.activeGroupFilter(ctx, o.ActiveGroups)
	if err != nil {
		return c, err
	}
	q := url.Values{}
	q.Set("scope", "all")
	if o.State != "" {
		q.Set("state", o.State)
	}
	if len(o.Labels) > 0 {
		q.Set("labels", strings.Join(o.Labels, ","))
	}
	if o.IssueType != "" {
		q.Set("issue_type", o.IssueType)
	}
	if o.NonArchived {
		q.Set("non_archived", "true")
	}
	if w := o.windowStart(); !w.IsZero() {
		q.Set("updated_after", w.UTC().Format(time.RFC3339))
	}
	filter := c.filterBy(func(o map[string]any) bool {
		p := ReferenceProject(o, "#")
		return s.Entry.MatchProject(p) && inGroups(p)
	}, fn)
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
