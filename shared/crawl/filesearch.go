package crawl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// fileNameTerm turns a path glob into GitLab's "filename:" search term
// (its last segment; GitLab's filename filter takes wildcards).
func fileNameTerm(glob string) string {
	return "filename:" + path.Base(glob)
}

// searchFiles finds candidate files with GitLab's blob search; the glob
// then decides, exactly. projectID 0 means a group search (results carry
// their project_id).
func (s *Source) searchFiles(ctx context.Context, searchPath, glob string, projectID int64) ([]map[string]any, error) {
	q := url.Values{}
	q.Set("scope", "blobs")
	q.Set("search", fileNameTerm(glob))
	seen := map[string]bool{}
	var out []map[string]any
	err := s.Client.ListOffset(ctx, searchPath, q, func(p gitlab.Page) error {
		for _, hit := range p.Items {
			fp, _ := hit["path"].(string)
			key := fmt.Sprintf("%v|%s", hit["project_id"], fp)
			if fp == "" || seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, map[string]any{"type": "blob", "path": fp, "project_id": hit["project_id"]})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("crawl: searching %s in %s: %w", fileNameTerm(glob), searchPath, err)
	}
	return out, nil
}

// groupSearch is the result of one blob search per root group the token
// sees. It covers only the projects under those groups: a token that sees
// no group (a project access token), a project in a personal namespace or
// one shared with the token's group from outside it is in no search, and
// finding no files there would drop that project's entities. Those
// projects are searched one by one instead (Ocean's fallback to project
// search, gitlab-v2 PR #2801 for issue #2800, done per project rather than
// only when every group search came back empty).
type groupSearch struct {
	roots []string           // full paths of the groups searched
	hits  map[int64][]string // project id → paths found

	mu      sync.Mutex
	outside int    // projects searched one by one
	example string // the first of them, for the log
}

// groupSearchFiles searches each root group once. It returns nil (and the
// caller falls back to the repository tree) when GitLab has no advanced
// search: blob search across a group then answers 400.
func (s *Source) groupSearchFiles(ctx context.Context, glob string) (*groupSearch, error) {
	roots, err := s.RootGroupObjects(ctx)
	if err != nil {
		return nil, err
	}
	gs := &groupSearch{hits: map[int64][]string{}}
	for _, g := range roots {
		found, err := s.searchFiles(ctx, fmt.Sprintf("groups/%d/search", g.ID), glob, 0)
		var ae *gitlab.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			s.Client.Logger().Warn("group blob search is unavailable (no advanced search); finding files with the repository tree instead")
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		gs.roots = append(gs.roots, g.FullPath)
		for _, f := range found {
			pid := int64(num(f["project_id"]))
			gs.hits[pid] = append(gs.hits[pid], f["path"].(string))
		}
	}
	return gs, nil
}

// covers reports whether project pr lies under a group that was searched.
func (gs *groupSearch) covers(pr map[string]any) bool {
	pwn, _ := pr["path_with_namespace"].(string)
	for _, r := range gs.roots {
		if strings.HasPrefix(pwn, r+"/") {
			return true
		}
	}
	return false
}

// entries are project pr's candidate files: the group search's hits, or a
// project search of its own when no group search covered it.
func (gs *groupSearch) entries(ctx context.Context, s *Source, pr map[string]any, glob string) ([]map[string]any, error) {
	id := int64(num(pr["id"]))
	if !gs.covers(pr) {
		gs.mu.Lock()
		if gs.outside == 0 {
			gs.example, _ = pr["path_with_namespace"].(string)
		}
		gs.outside++
		gs.mu.Unlock()
		return s.searchFiles(ctx, fmt.Sprintf("projects/%d/search", id), glob, id)
	}
	var out []map[string]any
	for _, p := range gs.hits[id] {
		out = append(out, map[string]any{"type": "blob", "path": p})
	}
	return out, nil
}

// logOutside says once per listing how many projects no group search
// covered, so an operator sees why a groupSearch made per-project
// requests.
func (gs *groupSearch) logOutside(s *Source) {
	if gs == nil {
		return
	}
	gs.mu.Lock()
	n, ex := gs.outside, gs.example
	gs.mu.Unlock()
	if n == 0 {
		return
	}
	s.Client.Logger().Info("file kind, groupSearch: projects in no group the token sees (a project access token, personal namespaces, projects shared from outside) were searched one by one",
		"projects", n, "example", ex, "groups_searched", len(gs.roots))
}

// refusedListing turns a permanent refusal of one repository's file
// listing (its blob search or tree) into a FileError for project pr, so
// the kind goes on with the other repositories and keeps what this one
// produced before, as Ocean skips a repository whose blob search answers
// 400 or 404 (gitlab-v2 PR #3713). Refusals: 400 (GitLab cannot search
// that repository), 404 (no repository, or no access to it) and a 3xx
// that was not followed (a redirect without a usable Location; one within
// the GitLab origin is followed, one to another origin is refused as a
// configuration error). Any other error is returned as it is and fails
// the kind.
func refusedListing(err error, pr map[string]any, glob, ref string) error {
	var ae *gitlab.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case ae.Status == http.StatusBadRequest, ae.Status == http.StatusNotFound, ae.Status >= 300 && ae.Status < 400:
	default:
		return err
	}
	pwn, _ := pr["path_with_namespace"].(string)
	return &FileError{Project: pwn, ProjectID: int64(num(pr["id"])), Path: glob, Ref: ref, Reason: ReasonRefused, Err: err}
}
