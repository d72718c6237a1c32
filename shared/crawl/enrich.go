package crawl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

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
		return s.projects(ctx, o.ActiveProjects, fn)
	}
	return s.eachProject(ctx, false, o.ActiveProjects, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
		start := time.Now()
		cp := make(map[string]any, len(pr)+3)
		for k, v := range pr {
			cp[k] = v
		}
		if err := s.enrich(ctx, cp, o); err != nil {
			return gitlab.Page{}, err
		}
		return gitlab.Page{Items: []map[string]any{cp}, RequestedAt: start}, nil
	}, fn)
}

// EnrichReads reports whether enrich asks GitLab for anything with these
// options (languages, labels, included files, search queries): a caller
// that holds the project already can map it at no cost when it does not.
func (o Options) EnrichReads() bool {
	return o.IncludeLanguages || o.IncludeLabels || len(o.IncludedFiles) > 0 || len(o.SearchQueries) > 0
}

// enrich adds the project selector's extra data to one project object.
func (s *Source) enrich(ctx context.Context, pr map[string]any, o Options) error {
	id := int64(num(pr["id"]))
	empty, _ := pr["empty_repo"].(bool)
	ref, _ := pr["default_branch"].(string)
	if o.IncludeLanguages {
		langs := map[string]any{}
		if _, err := s.Client.Do(ctx, http.MethodGet, fmt.Sprintf("projects/%d/languages", id), nil, &langs); err != nil && !denied(err) {
			return fmt.Errorf("crawl: languages of %v: %w", pr["path_with_namespace"], err)
		}
		pr["__languages"] = langs
	}
	if o.IncludeLabels {
		labels := []any{}
		err := s.Client.ListOffset(ctx, fmt.Sprintf("projects/%d/labels", id), nil, func(p gitlab.Page) error {
			for _, l := range p.Items {
				if o.Generation == "v1" {
					// python-gitlab adds the parent's id to each label
					// (gitlab/gitlab_integration/gitlab_service.py,
					// get_project_labels).
					l["project_id"] = float64(id)
				}
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
			// Ocean reads the path from the repository root, without a
			// leading slash, and keys the result by the path as written
			// (port_ocean/core/utils/included_files.py).
			content, err := s.FileContent(ctx, id, strings.TrimLeft(f, "/"), ref)
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
			found[q.Name] = s.SearchMatch(ctx, id, q.Scope, q.Query)
		}
		pr["__searchQueries"] = found
	}
	return nil
}

// FileContent reads a file from a project's ref; nil when it is not there.
// Any other failure (403, timeout, over MaxFileSize) is an error: the
// caller must not take it for "no file". Over MaxFileSize is a FileError.
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
	if errors.Is(err, gitlab.ErrTooLarge) {
		return nil, &FileError{ProjectID: projectID, Path: filePath, Ref: ref, Reason: ReasonTooLarge, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("crawl: file %s of project %d: %w", filePath, projectID, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// SearchMatch is a search query's value for a project, as Ocean gives
// it (gitlab-v2/gitlab/clients/gitlab_client.py, _enrich_project_with_search_queries):
// whether GitLab's search in scope finds query (false when GitLab
// refuses the project, 403 or 404), or nil when the search fails
// otherwise (an unknown scope, a timeout): one failed query does not fail
// the kind.
func (s *Source) SearchMatch(ctx context.Context, projectID int64, scope, query string) any {
	if scope == "" {
		scope = "blobs"
	}
	ok, err := s.Search(ctx, projectID, scope, query)
	switch {
	case err == nil:
		return ok
	case denied(err):
		return false
	}
	s.Client.Logger().Warn("search query failed; its value is null for this project", "project_id", projectID, "scope", scope, "error", err)
	return nil
}

// denied reports GitLab refusing an object: 403 or 404.
func denied(err error) bool {
	var ae *gitlab.APIError
	return errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusNotFound)
}

// SearchBlobs reports whether GitLab's blob search finds query in a project.
func (s *Source) SearchBlobs(ctx context.Context, projectID int64, query string) (bool, error) {
	return s.Search(ctx, projectID, "blobs", query)
}

// Search reports whether GitLab's project search in scope finds query.
func (s *Source) Search(ctx context.Context, projectID int64, scope, query string) (bool, error) {
	q := url.Values{}
	q.Set("scope", scope)
	q.Set("search", query)
	p, err := s.Client.FirstItemsQuery(ctx, fmt.Sprintf("projects/%d/search", projectID), q, 1)
	if err != nil {
		return false, fmt.Errorf("crawl: search %s %q in project %d: %w", scope, query, projectID, err)
	}
	return len(p.Items) > 0, nil
}
