package crawl

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// References resolves mapped property values that point into a project's
// repository, as the integration we replace does:
//
//   - "file://PATH" becomes the content of PATH on the default branch
//     (null when the file is not there);
//   - "search://scope=blobs&&query=TERM" becomes whether GitLab's blob
//     search finds TERM in the project.
//
// Results are cached for the life of a References (one resync), and the
// requests go through the token's client like every other request.
type References struct {
	mu    sync.Mutex
	files map[string]*string
	found map[string]bool
}

// NewReferences returns an empty cache.
func NewReferences() *References {
	return &References{files: map[string]*string{}, found: map[string]bool{}}
}

// Has reports whether an entity holds a value to resolve.
func Has(e *catalog.Entity) bool {
	for _, v := range e.Properties {
		if s, ok := v.(string); ok && (strings.HasPrefix(s, "file://") || strings.HasPrefix(s, "search://")) {
			return true
		}
	}
	return false
}

// Resolve replaces the entity's file:// and search:// values, reading from
// project (a GitLab project object) with src's token.
func (r *References) Resolve(ctx context.Context, src *Source, project map[string]any, e *catalog.Entity) error {
	id := int64(num(project["id"]))
	ref, _ := project["default_branch"].(string)
	empty, _ := project["empty_repo"].(bool)
	for k, v := range e.Properties {
		s, ok := v.(string)
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(s, "file://"):
			p := strings.TrimPrefix(s, "file://")
			if empty || p == "" {
				e.Properties[k] = nil
				continue
			}
			key := fmt.Sprintf("%d|%s|%s", id, ref, p)
			r.mu.Lock()
			c, hit := r.files[key]
			r.mu.Unlock()
			if !hit {
				var err error
				if c, err = src.FileContent(ctx, id, p, ref); err != nil {
					return fmt.Errorf("property %s (%s): %w", k, s, err)
				}
				r.mu.Lock()
				r.files[key] = c
				r.mu.Unlock()
			}
			if c == nil {
				e.Properties[k] = nil
			} else {
				e.Properties[k] = *c
			}
		case strings.HasPrefix(s, "search://"):
			term, err := searchTerm(s)
			if err != nil {
				return fmt.Errorf("property %s: %w", k, err)
			}
			key := fmt.Sprintf("%d|%s", id, term)
			r.mu.Lock()
			f, hit := r.found[key]
			r.mu.Unlock()
			if !hit {
				if empty {
					f = false
				} else if f, err = src.SearchBlobs(ctx, id, term); err != nil {
					return fmt.Errorf("property %s (%s): %w", k, s, err)
				}
				r.mu.Lock()
				r.found[key] = f
				r.mu.Unlock()
			}
			e.Properties[k] = f
		}
	}
	return nil
}

// searchTerm reads "search://scope=blobs&&query=TERM".
func searchTerm(s string) (string, error) {
	rest := strings.TrimPrefix(s, "search://")
	var scope, query string
	for _, part := range strings.Split(rest, "&&") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "scope":
			scope = v
		case "query":
			if u, err := url.QueryUnescape(v); err == nil {
				v = u
			}
			query = v
		}
	}
	if scope != "blobs" || query == "" {
		return "", fmt.Errorf("%q: use search://scope=blobs&&query=TERM", s)
	}
	return query, nil
}
