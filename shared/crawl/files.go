package crawl

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// FileOptions select files of the file kind.
type FileOptions struct {
	// Path is a doublestar glob on the file's path in the repository.
	Path string
	// Repos restricts to these projects (path_with_namespace or name).
	Repos []string
	// SkipParsing keeps the content as text instead of parsing JSON/YAML.
	SkipParsing bool
	// Strategy finds the files: "repositoryTree" (default: one tree
	// listing per project, exact), "projectSearch" (GitLab's blob search
	// per project, by file name) or "groupSearch" (one search per root
	// group; needs advanced search, else falls back to repositoryTree).
	Strategy string
}

// FolderOptions select folders of the folder kind.
type FolderOptions struct {
	Path  string
	Repos []FolderRepo
}

// FolderRepo is a project (path_with_namespace or name) and the branch
// whose tree is read (default: the project's default branch).
type FolderRepo struct{ Name, Branch string }

func repoSelected(pr map[string]any, repos []string) bool {
	if len(repos) == 0 {
		return true
	}
	pwn, _ := pr["path_with_namespace"].(string)
	name, _ := pr["path"].(string)
	for _, r := range repos {
		if r == pwn || r == name {
			return true
		}
	}
	return false
}

// Tree lists a project's repository tree at ref, recursively, with keyset
// pagination (one request per 100 entries).
func (s *Source) Tree(ctx context.Context, projectID int64, ref string) ([]map[string]any, time.Time, error) {
	q := url.Values{}
	q.Set("recursive", "true")
	if ref != "" {
		q.Set("ref", ref)
	}
	var out []map[string]any
	var at time.Time
	err := s.Client.ListKeysetRaw(ctx, fmt.Sprintf("projects/%d/repository/tree", projectID), q, func(p gitlab.Page) error {
		if at.IsZero() {
			at = p.RequestedAt
		}
		out = append(out, p.Items...)
		return nil
	})
	if err != nil {
		return nil, at, fmt.Errorf("crawl: repository tree of project %d: %w", projectID, err)
	}
	return out, at, nil
}

// Files streams one object per matching file (per YAML document), shaped
// {"file": {path, name, size, blob_id, ref, content}, "repo": project}:
// one tree listing per project, then one raw read per matching file. A
// file that cannot be read fails the kind (so nothing is deleted); only a
// file gone from the tree stops being synced.
func (s *Source) Files(ctx context.Context, fo FileOptions, fn func(gitlab.Page) error) (Counts, error) {
	if fo.Path == "" {
		return Counts{}, errors.New("crawl: file kind: selector.files.path is required")
	}
	var hits map[int64][]string // groupSearch: project id → paths
	if fo.Strategy == "groupSearch" {
		var err error
		if hits, err = s.groupSearchFiles(ctx, fo.Path); err != nil {
			return Counts{}, err
		}
		if hits == nil {
			fo.Strategy = "repositoryTree"
		}
	}
	return s.EachProject(ctx, true, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
		if !repoSelected(pr, fo.Repos) {
			return gitlab.Page{}, nil
		}
		id := int64(num(pr["id"]))
		ref, _ := pr["default_branch"].(string)
		var entries []map[string]any
		at := time.Now()
		var err error
		switch fo.Strategy {
		case "projectSearch":
			entries, err = s.searchFiles(ctx, fmt.Sprintf("projects/%d/search", id), fo.Path, id)
		case "groupSearch":
			for _, p := range hits[id] {
				entries = append(entries, map[string]any{"type": "blob", "path": p})
			}
		default:
			entries, at, err = s.Tree(ctx, id, ref)
		}
		if err != nil {
			return gitlab.Page{}, err
		}
		var items []map[string]any
		for _, e := range entries {
			p, _ := e["path"].(string)
			if e["type"] != "blob" || !doublestar.MatchUnvalidated(fo.Path, p) {
				continue
			}
			objs, err := s.FileObjects(ctx, pr, p, ref, fo.SkipParsing)
			if err != nil {
				return gitlab.Page{}, err
			}
			if objs == nil {
				if fo.Strategy == "repositoryTree" || fo.Strategy == "" {
					// The tree just listed it: a 404 is not proof it is
					// gone (GitLab also answers 404 for no access), so the
					// kind fails and its entity is kept.
					return gitlab.Page{}, fmt.Errorf("crawl: file %s of project %v: in the repository tree but GitLab answered 404 on reading it", p, pr["path_with_namespace"])
				}
				continue // a search hit that is no longer there: gone
			}
			items = append(items, objs...)
		}
		return gitlab.Page{Items: items, RequestedAt: at}, nil
	}, fn)
}

// FileObjects reads a file of project pr at ref and returns its file-kind
// objects, {"file": {path, name, size, blob_id, ref, content}, "repo":
// pr}: one per YAML document, or one with the text. nil (no error) when
// GitLab answers 404. The raw read is bounded (MaxFileSize) and parsed
// from its bytes, so a file is never held whole twice.
func (s *Source) FileObjects(ctx context.Context, pr map[string]any, filePath, ref string, skipParsing bool) ([]map[string]any, error) {
	content, err := s.FileBytes(ctx, int64(num(pr["id"])), filePath, ref)
	if err != nil || content == nil {
		return nil, err
	}
	docs := []any{}
	if skipParsing {
		docs = append(docs, string(content))
	} else {
		docs = parseContent(filePath, content)
	}
	// Git's blob id is the SHA-1 of the content with its header: the id
	// GitLab's tree lists, computed here so every strategy and webhook
	// events give the same object.
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	blobID := hex.EncodeToString(h.Sum(nil))
	out := make([]map[string]any, 0, len(docs))
	for _, d := range docs {
		out = append(out, map[string]any{
			"file": map[string]any{"path": filePath, "name": path.Base(filePath), "size": float64(len(content)), "blob_id": blobID, "ref": ref, "content": d},
			"repo": pr,
		})
	}
	return out, nil
}

// FileSelected reports whether the file options select filePath in
// project pr (its glob and repos).
func FileSelected(fo FileOptions, pr map[string]any, filePath string) bool {
	return repoSelected(pr, fo.Repos) && doublestar.MatchUnvalidated(fo.Path, filePath)
}

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

// groupSearchFiles searches each root group once. It returns nil (and the
// caller falls back to the repository tree) when GitLab has no advanced
// search: blob search across a group then answers 400.
func (s *Source) groupSearchFiles(ctx context.Context, glob string) (map[int64][]string, error) {
	roots, err := s.RootGroups(ctx)
	if err != nil {
		return nil, err
	}
	hits := map[int64][]string{}
	for _, id := range roots {
		found, err := s.searchFiles(ctx, fmt.Sprintf("groups/%d/search", id), glob, 0)
		var ae *gitlab.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			s.Client.Logger().Warn("group blob search is unavailable (no advanced search); finding files with the repository tree instead")
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, f := range found {
			pid := int64(num(f["project_id"]))
			hits[pid] = append(hits[pid], f["path"].(string))
		}
	}
	return hits, nil
}

// parseContent parses JSON, or YAML (one value per document), else keeps
// the text.
func parseContent(p string, content []byte) []any {
	switch strings.ToLower(path.Ext(p)) {
	case ".json":
		var v any
		if err := json.Unmarshal(content, &v); err == nil {
			return []any{v}
		}
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(content))
		var docs []any
		for {
			var v any
			err := dec.Decode(&v)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return []any{string(content)}
			}
			docs = append(docs, jsonable(v))
		}
		if len(docs) > 0 {
			return docs
		}
	}
	return []any{string(content)}
}

// jsonable turns YAML's values into what jq and JSON expect.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return v
}

// Folders streams one object per matching folder: {"folder": tree entry,
// "repo": project, "__branch": branch}.
func (s *Source) Folders(ctx context.Context, folders []FolderOptions, fn func(gitlab.Page) error) (Counts, error) {
	if len(folders) == 0 {
		return Counts{}, errors.New("crawl: folder kind: selector.folders is required")
	}
	return s.EachProject(ctx, true, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
		def, _ := pr["default_branch"].(string)
		var out gitlab.Page
		done := map[string]bool{}
		for _, f := range folders {
			branch, ok := folderBranch(pr, f.Repos, def)
			if !ok || done[branch] {
				continue
			}
			done[branch] = true
			items, at, err := s.ProjectFolders(ctx, pr, folders, branch, branch)
			if err != nil {
				return gitlab.Page{}, err
			}
			out.Items, out.RequestedAt = append(out.Items, items...), at
		}
		return out, nil
	}, fn)
}

// FoldersOnBranch reports whether any folder option reads project pr on
// branch.
func FoldersOnBranch(pr map[string]any, folders []FolderOptions, branch string) bool {
	return len(folderGlobs(pr, folders, branch)) > 0
}

func folderGlobs(pr map[string]any, folders []FolderOptions, branch string) []string {
	def, _ := pr["default_branch"].(string)
	var globs []string
	for _, f := range folders {
		if b, ok := folderBranch(pr, f.Repos, def); ok && b == branch {
			globs = append(globs, f.Path)
		}
	}
	return globs
}

// ProjectFolders lists the folder-kind objects of project pr on branch
// (see FolderObjects) with one tree listing at ref (the branch, or a
// commit of it); none, and no request, when no option reads that branch.
func (s *Source) ProjectFolders(ctx context.Context, pr map[string]any, folders []FolderOptions, branch, ref string) ([]map[string]any, time.Time, error) {
	if !FoldersOnBranch(pr, folders, branch) {
		return nil, time.Time{}, nil
	}
	entries, at, err := s.Tree(ctx, int64(num(pr["id"])), ref)
	if err != nil {
		return nil, at, err
	}
	return FolderObjects(pr, folders, branch, entries), at, nil
}

// FolderObjects picks from a repository tree the folders the options that
// read project pr on branch select: {"folder": tree entry, "repo": pr,
// "__branch": branch}, one per folder.
func FolderObjects(pr map[string]any, folders []FolderOptions, branch string, entries []map[string]any) []map[string]any {
	globs := folderGlobs(pr, folders, branch)
	var items []map[string]any
	for _, e := range entries {
		p, _ := e["path"].(string)
		if e["type"] != "tree" {
			continue
		}
		for _, g := range globs {
			if doublestar.MatchUnvalidated(g, p) {
				items = append(items, map[string]any{"folder": e, "repo": pr, "__branch": branch})
				break
			}
		}
	}
	return items
}

func folderBranch(pr map[string]any, repos []FolderRepo, def string) (string, bool) {
	if len(repos) == 0 {
		return def, true
	}
	pwn, _ := pr["path_with_namespace"].(string)
	name, _ := pr["path"].(string)
	for _, r := range repos {
		if r.Name == pwn || r.Name == name {
			if r.Branch != "" {
				return r.Branch, true
			}
			return def, true
		}
	}
	return "", false
}
