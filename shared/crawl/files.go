package crawl

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// FileOptions select files of the file kind (see selector.Files).
type FileOptions = selector.Files

// pathGlob is the glob a file path is matched with: as Ocean v2's
// repositoryTree strategy does, a path without a slash matches the file
// name at any depth (gitlab-v2/gitlab/clients/gitlab_client.py,
// _search_files_in_repository).
func pathGlob(fo FileOptions) string {
	if !strings.Contains(fo.Path, "/") {
		return "**/" + fo.Path
	}
	return fo.Path
}

// FolderOptions select folders of the folder kind. A path without glob
// characters selects the folders directly inside it, as in Ocean (a
// non-recursive tree listing of that path); a glob selects the folders it
// matches. Repos names the projects to read; with none, every project is
// read on its default branch (as Ocean v2; v1 read none).
type FolderOptions = selector.Folder

// folderGlob is the glob that folder paths are matched with.
func folderGlob(f FolderOptions) string {
	if strings.ContainsAny(f.Path, "*?[]{}") {
		return strings.Trim(f.Path, "/")
	}
	if p := strings.Trim(f.Path, "/"); p != "" {
		return p + "/*"
	}
	return "*"
}

// FolderRepo is a project (path_with_namespace or name) and the branch
// whose tree is read (default: the project's default branch).
type FolderRepo = selector.FolderRepo

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
// the strategy's listing per project (see FileOptions.Strategy), then one
// raw read per matching file. A file that cannot be read fails the kind
// (so nothing is deleted), unless the failure is a FileError and ctx has
// WithFileErrors: then only that file is left out. A repository that
// refuses the listing itself (see refusedListing) is such a FileError for
// the whole project. Only a file gone from the listing stops being synced.
func (s *Source) Files(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	fo := o.Files
	if fo.Path == "" {
		return Counts{}, errors.New("crawl: file kind: selector.files.path is required")
	}
	var gs *groupSearch
	if fo.Strategy == "groupSearch" {
		var err error
		if gs, err = s.groupSearchFiles(ctx, fo.Path); err != nil {
			return Counts{}, err
		}
		if gs == nil {
			fo.Strategy = "repositoryTree"
		}
	}
	// Ocean applies the file kind's includeOnlyActiveGroups to the
	// projects it searches (gitlab-v2/main.py, on_resync_files).
	c, err := s.EachProject(ctx, true, o.ActiveGroups, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
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
			entries, err = gs.entries(ctx, s, pr, fo.Path)
		default:
			entries, at, err = s.Tree(ctx, id, ref)
		}
		if err != nil {
			return gitlab.Page{}, skipFile(ctx, refusedListing(err, pr, fo.Path, ref), pr)
		}
		var items []map[string]any
		for _, e := range entries {
			p, _ := e["path"].(string)
			if e["type"] != "blob" || !doublestar.MatchUnvalidated(pathGlob(fo), p) {
				continue
			}
			objs, err := s.FileObjects(ctx, pr, p, ref, fo)
			if err == nil && objs == nil {
				if fo.Strategy != "repositoryTree" && fo.Strategy != "" {
					continue // a search hit that is no longer there: gone
				}
				// The tree just listed it: a 404 is not proof it is gone
				// (GitLab also answers 404 for no access), so its
				// entities are kept.
				pwn, _ := pr["path_with_namespace"].(string)
				err = &FileError{Project: pwn, ProjectID: id, Path: p, Ref: ref, Reason: ReasonNotFound,
					Err: errors.New("in the repository tree, but GitLab answered 404 on reading it")}
			}
			if err != nil {
				if err := skipFile(ctx, err, pr); err != nil {
					return gitlab.Page{}, err
				}
				continue
			}
			items = append(items, objs...)
		}
		return s.withIncludedFiles(ctx, pr, o.IncludedFiles, gitlab.Page{Items: items, RequestedAt: at})
	}, fn)
	gs.logOutside(s)
	return c, err
}

// FileObjects reads a file of project pr at ref and returns its file-kind
// object, shaped as Ocean's (gitlab-v2/gitlab/clients/gitlab_client.py,
// _process_file): {"file": GitLab's Repository Files API object
// (file_name, file_path, size, encoding, content_sha256, ref, blob_id,
// commit_id, last_commit_id, execute_filemode) with content decoded and
// parsed, project_id (a string) and path; "repo": pr}. nil (no error)
// when GitLab answers 404. The read is bounded (MaxFileSize).
func (s *Source) FileObjects(ctx context.Context, pr map[string]any, filePath, ref string, fo FileOptions) ([]map[string]any, error) {
	id := int64(num(pr["id"]))
	file, content, err := s.FileObject(ctx, id, filePath, ref)
	if err != nil || file == nil {
		return nil, err
	}
	var parsed any = string(content)
	if !fo.SkipParsing {
		parsed = parseFile(string(fo.Generation), filePath, content)
		if fo.Generation != "v1" {
			at, _ := file["ref"].(string)
			if parsed, err = s.resolveFileRefs(ctx, pr, filePath, at, parsed); err != nil {
				return nil, referencedFrom(withProject(err, pr), filePath)
			}
		} else if falsy(parsed) {
			// v1 skips a file whose parsed content is empty
			// (gitlab_service.py, get_and_parse_single_file).
			return []map[string]any{}, nil
		}
	}
	file["content"] = parsed
	file["project_id"] = strconv.FormatInt(id, 10)
	file["path"] = filePath
	return []map[string]any{{"file": file, "repo": pr}}, nil
}

// FileObject reads GET /projects/:id/repository/files/:path: GitLab's
// file object (content left out) and the decoded content; nil, nil when
// GitLab answers 404; a FileError when it is over MaxFileSize.
func (s *Source) FileObject(ctx context.Context, projectID int64, filePath, ref string) (map[string]any, []byte, error) {
	q := url.Values{}
	if ref != "" {
		q.Set("ref", ref)
	}
	// The content is base64 in JSON: a third more than the file.
	b, status, err := s.Client.Raw(ctx, fmt.Sprintf("projects/%d/repository/files/%s", projectID, gitlab.PathEscape(filePath)), q, MaxFileSize*4/3+8192)
	if status == http.StatusNotFound {
		return nil, nil, nil
	}
	if errors.Is(err, gitlab.ErrTooLarge) {
		return nil, nil, &FileError{ProjectID: projectID, Path: filePath, Ref: ref, Reason: ReasonTooLarge, Err: err}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("crawl: file %s of project %d: %w", filePath, projectID, err)
	}
	var file map[string]any
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, nil, fmt.Errorf("crawl: file %s of project %d: GitLab's answer is not a file object: %w", filePath, projectID, err)
	}
	enc, _ := file["content"].(string)
	content, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, nil, fmt.Errorf("crawl: file %s of project %d: content is not base64: %w", filePath, projectID, err)
	}
	if len(content) > MaxFileSize {
		// The answer's bound leaves room for the JSON around the
		// content; the limit is on the file itself, as for raw reads.
		return nil, nil, &FileError{ProjectID: projectID, Path: filePath, Ref: ref, Reason: ReasonTooLarge,
			Err: fmt.Errorf("%d bytes: %w", len(content), gitlab.ErrTooLarge)}
	}
	delete(file, "content")
	return file, content, nil
}

// Bounds on the file:// values of one object of repository content (a
// file of the file kind, a plugin manifest). A committer writes that
// content: without them a 1 MiB file holding 60,000 "file://big.txt"
// values would cost 60,000 reads and 60 GiB once resolved.
const (
	// MaxFileRefs is how many file:// values of one object are resolved.
	// Ocean's examples name a handful (a README, an OpenAPI spec, an
	// owners file); 100 leaves room for a catalog file listing many
	// components while capping the reads one commit can cause.
	MaxFileRefs = 100
	// MaxFileRefBytes is the total size of one object's resolved values,
	// counted per value (a file named twice counts twice: the mapping and
	// the entity sent to Port copy it each time). Four files at the
	// MaxFileSize limit.
	MaxFileRefBytes = 4 << 20
)

// resolveFileRefs replaces, in parsed content, object values that are
// "file://PATH" with the text of PATH (from the repository root, at ref;
// null when it is not there), as Ocean v2 does (gitlab_client.py,
// _resolve_file_references): only object values, not list items, and
// "file:///" is left alone. Unlike Ocean it is bounded (MaxFileRefs,
// MaxFileRefBytes): past the budget values stay "file://..." strings, and
// one warning names project pr's file from. Files are read through ctx's
// References (WithReferences), each distinct path once, and the values of
// one file share its string.
func (s *Source) resolveFileRefs(ctx context.Context, pr map[string]any, from, ref string, v any) (any, error) {
	id := int64(num(pr["id"]))
	refs := referencesFrom(ctx)
	fr := &fileRefs{maxRefs: MaxFileRefs, maxBytes: MaxFileRefBytes, read: func(ctx context.Context, p string) (*string, error) {
		return refs.file(ctx, s, id, p, ref)
	}}
	out, err := fr.resolve(ctx, v)
	if err != nil {
		return nil, err
	}
	if fr.left > 0 {
		pwn, _ := pr["path_with_namespace"].(string)
		s.Client.Logger().Warn("file:// values over the budget of one object are left unresolved",
			"project", pwn, "file", from, "ref", ref, "resolved", fr.resolved, "resolved_bytes", fr.bytes,
			"unresolved", fr.left, "max_references", fr.maxRefs, "max_bytes", fr.maxBytes)
	}
	return out, nil
}

// fileRefs resolves the file:// values of one object within its budget.
type fileRefs struct {
	maxRefs, maxBytes int
	read              func(ctx context.Context, path string) (*string, error)

	resolved, bytes int                // values resolved, their total size
	left            int                // values left unresolved
	spent           bool               // the budget is spent: resolve no more
	local           map[string]*string // paths read for this object
}

// resolve walks v in a fixed order (object keys sorted), so which values
// are resolved when the budget runs out does not change between reads.
func (fr *fileRefs) resolve(ctx context.Context, v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			e := x[k]
			if str, ok := e.(string); ok && strings.HasPrefix(str, "file://") {
				if strings.HasPrefix(str, "file:///") {
					continue
				}
				r, err := fr.value(ctx, str)
				if err != nil {
					return nil, err
				}
				x[k] = r
				continue
			}
			r, err := fr.resolve(ctx, e)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	case []any:
		for i, e := range x {
			r, err := fr.resolve(ctx, e)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	}
	return v, nil
}

// value is what a "file://PATH" value becomes: the file's text, nil when
// it is not there, or the value itself once the budget is spent. A value
// that would go over the budget spends it, so the values resolved are a
// prefix of the walk.
func (fr *fileRefs) value(ctx context.Context, ref string) (any, error) {
	if fr.spent || fr.resolved >= fr.maxRefs {
		fr.spent = true
		fr.left++
		return ref, nil
	}
	p := strings.TrimLeft(ref[len("file://"):], "/")
	c, ok := fr.local[p]
	if !ok {
		var err error
		if c, err = fr.read(ctx, p); err != nil {
			return nil, err
		}
		if fr.local == nil {
			fr.local = map[string]*string{}
		}
		fr.local[p] = c
	}
	n := 0
	if c != nil {
		n = len(*c)
	}
	if fr.bytes+n > fr.maxBytes {
		fr.spent = true
		fr.left++
		return ref, nil
	}
	fr.resolved++
	fr.bytes += n
	if c == nil {
		return nil, nil
	}
	// The cached string: every value of one file shares its bytes.
	return *c, nil
}

func falsy(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case float64:
		return x == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// fileSelected reports whether the file options select filePath in
// project pr (its glob and repos).
func fileSelected(fo FileOptions, pr map[string]any, filePath string) bool {
	return repoSelected(pr, fo.Repos) && doublestar.MatchUnvalidated(pathGlob(fo), filePath)
}

// Folders streams one object per matching folder: {"folder": tree entry,
// "repo": project, "__branch": branch}.
func (s *Source) Folders(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	folders := o.Folders
	if len(folders) == 0 {
		return Counts{}, errors.New("crawl: folder kind: selector.folders is required")
	}
	return s.EachProject(ctx, true, o.ActiveProjects, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
		def, _ := pr["default_branch"].(string)
		var out gitlab.Page
		done := map[string]bool{}
		for _, f := range folders {
			branch, ok := folderBranch(pr, f, def)
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
		return s.withIncludedFiles(ctx, pr, o.IncludedFiles, out)
	}, fn)
}

// withIncludedFiles is page with its objects' included files (see
// addIncludedFiles). When one of them cannot be used (a FileError, with a
// sink in ctx), the project's objects are left out rather than written
// without it: what they produced before is kept.
func (s *Source) withIncludedFiles(ctx context.Context, pr map[string]any, paths []string, page gitlab.Page) (gitlab.Page, error) {
	if err := s.addIncludedFiles(ctx, pr, paths, page.Items); err != nil {
		return gitlab.Page{}, skipFile(ctx, err, pr)
	}
	return page, nil
}

// referencedFrom records, on a FileError about a file another one named
// with file://, which file named it.
func referencedFrom(err error, from string) error {
	if fe, ok := AsFileError(err); ok && fe.Path != from && fe.ReferencedFrom == "" {
		fe.ReferencedFrom = from
	}
	return err
}

// addIncludedFiles sets __includedFiles on a project's file or folder
// objects: each path, from the repository root, read on the project's
// default branch (Ocean v2 reads folder objects' files there too, whatever
// their branch: gitlab-v2/gitlab/enrichments/included_files/strategies.py),
// keyed as written, null when the file is not there.
func (s *Source) addIncludedFiles(ctx context.Context, pr map[string]any, paths []string, items []map[string]any) error {
	if len(paths) == 0 || len(items) == 0 {
		return nil
	}
	id := int64(num(pr["id"]))
	ref, _ := pr["default_branch"].(string)
	files := make(map[string]any, len(paths))
	for _, p := range paths {
		c, err := s.FileContent(ctx, id, strings.TrimLeft(p, "/"), ref)
		if err != nil {
			return err
		}
		files[p] = nil
		if c != nil {
			files[p] = *c
		}
	}
	for _, it := range items {
		it["__includedFiles"] = files
	}
	return nil
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
		if b, ok := folderBranch(pr, f, def); ok && b == branch {
			globs = append(globs, folderGlob(f))
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

func folderBranch(pr map[string]any, f FolderOptions, def string) (string, bool) {
	repos := f.Repos
	if len(repos) == 0 {
		return def, len(f.Repos) == 0
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
