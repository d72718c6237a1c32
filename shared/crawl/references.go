package crawl

import (
	"context"
	"fmt"
	"strconv"
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
// Results are cached for the life of a References (one resync, or one
// event), and the requests go through the token's client like every other
// request. The same cache serves file:// values in repository content (see
// WithReferences): each distinct project, ref and path is read once while
// it stays cached. The files it holds are bounded (fileCacheBytes, oldest
// out first), so a resync over thousands of repositories does not keep
// every README it resolved.
type References struct {
	mu    sync.Mutex
	files map[string]cachedFile
	queue []string // files' keys, oldest first, for eviction
	head  int      // queue[:head] are evicted
	size  int      // bytes the cached files hold
	limit int
	found map[string]bool
}

// cachedFile is a file read: its content (nil: not there) or the
// permanent FileError reading it gave (over MaxFileSize), so a file named
// by many objects is not read again to fail again.
type cachedFile struct {
	content *string
	err     *FileError
}

// fileCacheBytes bounds the files a References holds: 32 files at the
// MaxFileSize limit. A file named by many objects is nearly always named
// by the objects of one project, read together, so the oldest files are
// the ones to let go.
const fileCacheBytes = 32 << 20

// NewReferences returns an empty cache.
func NewReferences() *References {
	return &References{files: map[string]cachedFile{}, found: map[string]bool{}, limit: fileCacheBytes}
}

type referencesKey struct{}

// WithReferences makes the file:// values in repository content read with
// ctx (the file and plugin kinds, by FileObjects and the listings) use r's
// cache, so the objects of one resync or event read each file once.
// Without it each object has a cache of its own.
func WithReferences(ctx context.Context, r *References) context.Context {
	return context.WithValue(ctx, referencesKey{}, r)
}

// referencesFrom is ctx's References, or a new one.
func referencesFrom(ctx context.Context) *References {
	if r, ok := ctx.Value(referencesKey{}).(*References); ok && r != nil {
		return r
	}
	return NewReferences()
}

// file reads path of project id at ref through the cache: nil when it is
// not there. Errors other than a FileError are not cached: the next
// object asks again.
func (r *References) file(ctx context.Context, src *Source, id int64, path, ref string) (*string, error) {
	key := strconv.FormatInt(id, 10) + "|" + ref + "|" + path
	r.mu.Lock()
	f, hit := r.files[key]
	r.mu.Unlock()
	if !hit {
		c, err := src.FileContent(ctx, id, path, ref)
		fe, permanent := AsFileError(err)
		if err != nil && !permanent {
			return nil, err
		}
		f = cachedFile{content: c, err: fe}
		r.put(key, f)
	}
	if f.err != nil {
		// Callers name the project and the referring file on it: each
		// gets a copy.
		cp := *f.err
		return nil, &cp
	}
	return f.content, nil
}

// put caches a file, then lets the oldest go while over the limit.
func (r *References) put(key string, f cachedFile) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.files[key]; ok {
		return
	}
	r.files[key] = f
	r.queue = append(r.queue, key)
	r.size += cachedSize(key, f)
	for r.size > r.limit && r.head < len(r.queue) {
		old := r.queue[r.head]
		r.queue[r.head] = ""
		r.head++
		r.size -= cachedSize(old, r.files[old])
		delete(r.files, old)
	}
	if r.head > len(r.queue)/2 {
		r.queue = append([]string(nil), r.queue[r.head:]...)
		r.head = 0
	}
}

// cachedSize is about what an entry holds: its content, its key and the
// map's and queue's share.
func cachedSize(key string, f cachedFile) int {
	n := 2*len(key) + 64
	if f.content != nil {
		n += len(*f.content)
	}
	return n
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

// Resolve replaces the entity's file:// and search:// values, reading with
// src's token from the project the raw object obj belongs to, as Ocean's
// GitManipulationHandler does: the object itself when it is a project,
// else its "repo" (file, folder, skill and plugin objects). Ocean v1 reads
// a folder object's files on its __branch and below its path
// (gitlab/gitlab_integration/git_integration.py, _validate_project_scope);
// v2 on the default branch from the repository root
// (gitlab-v2/gitlab/entity_processors/file_entity_processor.py). Objects
// of other kinds have no project to read: their values become null, as in
// Ocean.
func (r *References) Resolve(ctx context.Context, src *Source, obj map[string]any, e *catalog.Entity, gen string) error {
	project, ref, base := referenceScope(obj, gen)
	id := int64(num(project["id"]))
	empty, _ := project["empty_repo"].(bool)
	for k, v := range e.Properties {
		s, ok := v.(string)
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(s, "file://"):
			p := strings.TrimPrefix(s, "file://")
			if base != "" {
				p = base + "/" + p
			}
			if id == 0 || ref == "" || empty || p == "" {
				e.Properties[k] = nil
				continue
			}
			c, err := r.file(ctx, src, id, p, ref)
			if err != nil {
				return fmt.Errorf("property %s (%s): %w", k, s, err)
			}
			if c == nil {
				e.Properties[k] = nil
			} else {
				e.Properties[k] = *c
			}
		case strings.HasPrefix(s, "search://"):
			scope, query, err := searchTerm(s)
			if err != nil {
				return fmt.Errorf("property %s: %w", k, err)
			}
			if id == 0 {
				e.Properties[k] = nil
				continue
			}
			if gen == "v1" && scope == "blobs" && base != "" && !strings.Contains(query, "path:") {
				query += " path:" + base
			}
			key := fmt.Sprintf("%d|%s|%s", id, scope, query)
			r.mu.Lock()
			f, hit := r.found[key]
			r.mu.Unlock()
			if !hit {
				if empty {
					f = false
				} else if f, err = src.Search(ctx, id, scope, query); err != nil {
					if !denied(err) {
						return fmt.Errorf("property %s (%s): %w", k, s, err)
					}
					f = false // GitLab refused the project: no match, as in Ocean
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

// referenceScope is the project a raw object's references read, the ref
// and (v1 folders) the base path.
func referenceScope(obj map[string]any, gen string) (project map[string]any, ref, base string) {
	project = obj
	if repo, ok := obj["repo"].(map[string]any); ok {
		project = repo
	} else if _, ok := obj["path_with_namespace"]; !ok {
		return map[string]any{}, "", ""
	}
	ref, _ = project["default_branch"].(string)
	if gen == "v1" {
		if b, ok := obj["__branch"].(string); ok && b != "" {
			ref = b
		}
		if f, ok := obj["folder"].(map[string]any); ok {
			base, _ = f["path"].(string)
		}
	}
	return project, ref, base
}

// searchTerm reads Ocean's "search://scope=SCOPE&&query=TERMS": the scope
// first, then the query, split at the first "&&" with spaces around either
// part allowed (gitlab-v2/gitlab/entity_processors/utils.py); the query
// may hold "=".
func searchTerm(s string) (scope, query string, err error) {
	rest := strings.TrimPrefix(s, "search://")
	left, right, ok := strings.Cut(rest, "&&")
	left, right = strings.TrimSpace(left), strings.TrimSpace(right)
	if !ok || !strings.HasPrefix(left, "scope=") || !strings.HasPrefix(right, "query=") {
		return "", "", fmt.Errorf("%q: use search://scope=blobs&&query=TERMS", s)
	}
	scope, query = strings.TrimPrefix(left, "scope="), strings.TrimPrefix(right, "query=")
	if scope == "" || query == "" {
		return "", "", fmt.Errorf("%q: use search://scope=blobs&&query=TERMS", s)
	}
	return scope, query, nil
}
