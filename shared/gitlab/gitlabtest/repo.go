package gitlabtest

import (
	"cmp"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Repository content is generated from the project, deterministically, so
// thousands of projects cost no memory until a test reads them; tests
// can add or replace files with SetFile.

// SetFile writes (content != "") or deletes (content == "") a file on a
// project's default branch.
func (s *Server) SetFile(projectID int64, filePath, content string) {
	s.lockW()
	defer s.mu.Unlock()
	s.setFile(projectID, filePath, content)
}

func (s *Server) setFile(projectID int64, filePath, content string) {
	if s.files == nil {
		s.files = map[int64]map[string]*string{}
	}
	if s.files[projectID] == nil {
		s.files[projectID] = map[string]*string{}
	}
	if content == "" {
		s.files[projectID][filePath] = nil
		return
	}
	c := content
	s.files[projectID][filePath] = &c
}

// repoFiles returns a project's files (path → content) on its default
// branch.
func (s *Server) repoFiles(p *Project) map[string]string {
	return s.repoFilesWith(p, s.files[p.ID])
}

// repoFilesAt returns the files at ref: a pushed commit's sha gives the
// repository as it was then, a branch name the branch's files. ok is
// false for a sha the project never had (GitLab: 404 Commit Not Found).
func (s *Server) repoFilesAt(p *Project, ref string) (map[string]string, bool) {
	if !isSHA(ref) {
		return s.repoFiles(p), true
	}
	overrides, ok := s.commits[p.ID][ref]
	if !ok {
		return nil, false
	}
	return s.repoFilesWith(p, overrides), true
}

// refExists reports whether ref names a branch or a tag of p now.
func (s *Server) refExists(p *Project, pwn, ref string) bool {
	if ref == "HEAD" || slices.Contains(s.branchNames(p), ref) {
		return true
	}
	for _, t := range s.tagList(p, pwn) {
		if t["name"] == ref {
			return true
		}
	}
	return false
}

func isSHA(ref string) bool {
	if len(ref) != 40 {
		return false
	}
	_, err := hex.DecodeString(ref)
	return err == nil
}

// snapshot records the current file overrides as commit sha.
func (s *Server) snapshot(projectID int64, sha string) {
	if s.commits == nil {
		s.commits = map[int64]map[string]map[string]*string{}
	}
	if s.commits[projectID] == nil {
		s.commits[projectID] = map[string]map[string]*string{}
	}
	s.commits[projectID][sha] = maps.Clone(s.files[projectID])
}

func (s *Server) repoFilesWith(p *Project, overrides map[string]*string) map[string]string {
	out := map[string]string{}
	if p.EmptyRepo {
		return out
	}
	pwn := s.groups[p.NamespaceID].FullPath + "/" + p.Path
	out["README.md"] = fmt.Sprintf("# %s\n\n%s\n\nOwned by the %s group.\n", p.Name, p.Description, s.groups[p.NamespaceID].Name)
	out[".gitlab-ci.yml"] = "stages: [build, test, deploy]\nbuild:\n  stage: build\n  script: [make build]\ntest:\n  stage: test\n  script: [make test]\n"
	out["docs/index.md"] = "# " + p.Name + " documentation\n"
	if strings.HasSuffix(p.Name, "Service") {
		out["go.mod"] = "module gitlab.example.com/" + pwn + "\n\ngo 1.22\n"
		out["main.go"] = "package main\n\nfunc main() { serve() }\n"
		out["internal/handler/handler.go"] = "package handler\n\n// TODO: rate limiting\nfunc Handle() {}\n"
		out["deploy/k8s.yaml"] = fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n", p.Path, p.Path)
		out["catalog-info.json"] = fmt.Sprintf(`{"owner": "%s", "tier": %d, "lifecycle": "production"}`+"\n", s.groups[p.NamespaceID].Path, 1+p.ID%3)
	} else {
		out["package.json"] = fmt.Sprintf(`{"name": "%s", "version": "1.%d.0", "private": true}`+"\n", p.Path, p.ID%10)
		out["src/index.ts"] = "export const main = () => 0;\n"
	}
	if p.ID%3 == 0 {
		slugged := strings.ReplaceAll(pwn, "/", "-")
		out["port.yml"] = fmt.Sprintf("- identifier: %s-runbook\n  title: %s runbook\n  blueprint: runbook\n  properties:\n    url: %s\n  relations:\n    service: %s\n- identifier: %s-oncall\n  title: %s on-call\n  blueprint: oncall\n  relations:\n    runbook: %s-runbook\n",
			slugged, p.Name, s.webURL(pwn+"/-/blob/main/docs/index.md"), pwn, slugged, p.Name, slugged)
	}
	for k, v := range overrides {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	return out
}

func blobSHA(content string) string {
	h := sha1.Sum([]byte("blob " + strconv.Itoa(len(content)) + "\x00" + content))
	return hex.EncodeToString(h[:])
}

type treeEntry struct {
	ID, Name, Type, Path, Mode string
}

// tree lists the repository tree (recursive or one level under dir).
func tree(files map[string]string, dir string, recursive bool) []treeEntry {
	seen := map[string]bool{}
	var out []treeEntry
	add := func(e treeEntry) {
		if !seen[e.Path] {
			seen[e.Path] = true
			out = append(out, e)
		}
	}
	prefix := ""
	if dir != "" {
		prefix = strings.TrimSuffix(dir, "/") + "/"
	}
	for p, content := range files {
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		rest := strings.TrimPrefix(p, prefix)
		parts := strings.Split(rest, "/")
		for i := 1; i < len(parts); i++ {
			d := prefix + strings.Join(parts[:i], "/")
			if recursive || i == 1 {
				add(treeEntry{ID: blobSHA("tree:" + d), Name: path.Base(d), Type: "tree", Path: d, Mode: "040000"})
			}
		}
		if recursive || len(parts) == 1 {
			add(treeEntry{ID: blobSHA(content), Name: path.Base(p), Type: "blob", Path: p, Mode: "100644"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// repoRoutes serves /projects/:id/repository/..., languages, members,
// deployments and project search.
func (s *Server) repoRoutes(w http.ResponseWriter, r *http.Request, tok *Token, p *Project, segs []string) bool {
	q := r.URL.Query()
	s.mu.RLock()
	defer s.mu.RUnlock()
	pwn := s.groups[p.NamespaceID].FullPath + "/" + p.Path
	files, ok := s.repoFilesAt(p, q.Get("ref"))
	if ok && q.Get("ref") != "" && !isSHA(q.Get("ref")) {
		ok = s.refExists(p, pwn, q.Get("ref"))
	}
	if !ok {
		// GitLab's answers for a ref it does not have (a branch deleted
		// since, a commit never pushed).
		msg := "404 Commit Not Found"
		if len(segs) == 2 && segs[0] == "repository" && segs[1] == "tree" {
			msg = "404 Tree Not Found"
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"message": msg})
		return true
	}
	switch {
	case len(segs) == 1 && segs[0] == "labels":
		var out []any
		if !p.EmptyRepo {
			for i, name := range []string{"bug", "feature", "tech-debt"} {
				out = append(out, map[string]any{"id": p.ID*10 + int64(i), "name": name, "color": "#428BCA", "text_color": "#FFFFFF",
					"description": nil, "open_issues_count": 0, "closed_issues_count": 0, "open_merge_requests_count": 0, "subscribed": false, "priority": nil, "is_project_label": true})
			}
		}
		writeJSON(w, http.StatusOK, offsetPage(w, r, s.apiURL(fmt.Sprintf("projects/%d/labels", p.ID)), out))
	case len(segs) == 1 && segs[0] == "languages":
		langs := map[string]any{}
		if !p.EmptyRepo {
			if _, ok := files["go.mod"]; ok {
				langs["Go"], langs["Shell"] = 91.2, 8.8
			} else {
				langs["TypeScript"], langs["JavaScript"], langs["CSS"] = 72.5, 20.1, 7.4
			}
		}
		writeJSON(w, http.StatusOK, langs)
	case len(segs) == 2 && segs[0] == "repository" && segs[1] == "tree":
		if p.EmptyRepo {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Tree Not Found"})
			return true
		}
		entries := tree(files, q.Get("path"), q.Get("recursive") == "true")
		base := s.apiURL(fmt.Sprintf("projects/%d/repository/tree", p.ID))
		var page []treeEntry
		if q.Get("pagination") == "keyset" {
			// Keyset on the tree: page_token is the last path of the
			// previous page; Link rel="next" carries it.
			after := q.Get("page_token")
			_, per := pageParams(q)
			start := 0
			for start < len(entries) && after != "" && entries[start].Path <= after {
				start++
			}
			end := min(start+per, len(entries))
			page = entries[start:end]
			if end < len(entries) {
				qq := cloneValues(q)
				qq.Set("page_token", entries[end-1].Path)
				w.Header().Set("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", base, qq.Encode()))
			}
		} else {
			page = offsetPage(w, r, base, entries)
		}
		out := make([]any, len(page))
		for i, e := range page {
			out[i] = map[string]any{"id": e.ID, "name": e.Name, "type": e.Type, "path": e.Path, "mode": e.Mode}
		}
		writeJSON(w, http.StatusOK, out)
	case len(segs) >= 3 && segs[0] == "repository" && segs[1] == "files":
		raw := len(segs) == 4 && segs[3] == "raw"
		name := segs[2]
		content, ok := files[name]
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 File Not Found"})
			return true
		}
		if raw {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Gitlab-Size", strconv.Itoa(len(content)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(content))
			return true
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"file_name": path.Base(name), "file_path": name, "size": len(content), "encoding": "base64",
			"content": base64.StdEncoding.EncodeToString([]byte(content)), "content_sha256": fmt.Sprintf("%x", sha256.Sum256([]byte(content))), "ref": orDefault(q.Get("ref"), p.DefaultBranch),
			"blob_id": blobSHA(content), "commit_id": blobSHA(pwn), "last_commit_id": blobSHA(pwn + "last"), "execute_filemode": false,
		})
	case segs[0] == "repository" && len(segs) >= 2 && segs[1] == "branches":
		branches := s.branchNames(p)
		var list []any
		for _, b := range branches {
			if len(segs) == 3 && b != segs[2] {
				continue
			}
			if search := q.Get("search"); search != "" && !strings.Contains(b, search) {
				continue
			}
			list = append(list, map[string]any{
				"name": b, "merged": false, "protected": b == p.DefaultBranch, "default": b == p.DefaultBranch,
				"developers_can_push": false, "developers_can_merge": false, "can_push": true,
				"web_url": s.webURL(pwn + "/-/tree/" + b),
				"commit":  map[string]any{"id": s.branchCommit(p, pwn, b), "short_id": s.branchCommit(p, pwn, b)[:8], "title": "Update " + b, "authored_date": ts(p.LastActivity), "committed_date": ts(p.LastActivity)},
			})
		}
		if len(segs) == 3 {
			if len(list) == 0 {
				writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Branch Not Found"})
				return true
			}
			writeJSON(w, http.StatusOK, list[0])
			return true
		}
		writeJSON(w, http.StatusOK, offsetPage(w, r, s.apiURL(fmt.Sprintf("projects/%d/repository/branches", p.ID)), list))
	case len(segs) == 2 && segs[0] == "repository" && segs[1] == "tags":
		tags := sortTags(s.tagList(p, pwn), orDefault(q.Get("order_by"), "updated"), orDefault(q.Get("sort"), "desc"))
		writeJSON(w, http.StatusOK, offsetPage(w, r, s.apiURL(fmt.Sprintf("projects/%d/repository/tags", p.ID)), tags))
	case len(segs) == 3 && segs[0] == "repository" && segs[1] == "tags":
		for _, t := range s.tagList(p, pwn) {
			if t["name"] == segs[2] {
				writeJSON(w, http.StatusOK, t)
				return true
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Tag Not Found"})
	case (len(segs) == 1 || len(segs) == 2) && segs[0] == "deployments":
		list := []any{}
		for _, d := range s.deploymentsOf(p) {
			if len(segs) == 2 {
				if strconv.FormatInt(d.ID, 10) == segs[1] {
					writeJSON(w, http.StatusOK, s.deploymentJSON(p, d))
					return true
				}
				continue
			}
			if env := q.Get("environment"); env != "" && env != d.Environment {
				continue
			}
			if st := q.Get("status"); st != "" && st != d.Status {
				continue
			}
			if !timeWindow(q, "updated", d.UpdatedAt) {
				continue
			}
			list = append(list, s.deploymentJSON(p, d))
		}
		if len(segs) == 2 {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Deployment Not Found"})
			return true
		}
		writeJSON(w, http.StatusOK, offsetPage(w, r, s.apiURL(fmt.Sprintf("projects/%d/deployments", p.ID)), list))
	case (len(segs) == 1 || len(segs) == 2) && segs[0] == "members":
		var list []*Member
		if len(segs) == 2 && segs[1] == "all" {
			for _, m := range s.obj.members {
				if s.isDescendant(p.NamespaceID, m.GroupID) {
					list = append(list, m)
				}
			}
		}
		out := make([]any, 0, len(list))
		for _, m := range list {
			out = append(out, s.memberJSON(m))
		}
		writeJSON(w, http.StatusOK, offsetPage(w, r, s.apiURL(fmt.Sprintf("projects/%d/members", p.ID)), out))
	case len(segs) == 1 && segs[0] == "search":
		if q.Get("scope") != "blobs" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "scope does not have a valid value"})
			return true
		}
		writeJSON(w, http.StatusOK, offsetPage(w, r, s.apiURL(fmt.Sprintf("projects/%d/search", p.ID)), searchBlobs(p, files, q.Get("search"))))
	default:
		return false
	}
	return true
}

func (s *Server) branchNames(p *Project) []string {
	if p.EmptyRepo {
		return nil
	}
	out := []string{p.DefaultBranch}
	for _, m := range s.mrs {
		if m.ProjectID == p.ID && m.State == "opened" {
			out = append(out, m.SourceBranch)
		}
	}
	for ref, sha := range s.refs[p.ID] {
		if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok && b != p.DefaultBranch {
			if sha != "" && !slices.Contains(out, b) {
				out = append(out, b)
			} else if sha == "" {
				out = slices.DeleteFunc(out, func(x string) bool { return x == b })
			}
		}
	}
	sort.Strings(out[1:])
	return out
}

// branchCommit is the sha a branch points at: the last pushed commit.
func (s *Server) branchCommit(p *Project, pwn, branch string) string {
	if branch == p.DefaultBranch && s.heads[p.ID] != "" {
		return s.heads[p.ID]
	}
	if sha := s.refs[p.ID]["refs/heads/"+branch]; sha != "" {
		return sha
	}
	return blobSHA(pwn + branch)
}

// sortTags orders a project's tags (newest first, as tagList gives them)
// the way TagsFinder does for GET /projects/:id/repository/tags'
// order_by and sort (lib/api/tags.rb: "#{order_by}_#{sort}", values
// checked before, see declared.go): updated is the commit's date, newest
// first with desc (tagList's order); name by name; version by the
// numbers in the name, compared as numbers (Gitaly's version sort).
func sortTags(tags []map[string]any, orderBy, dir string) []map[string]any {
	out := slices.Clone(tags)
	name := func(t map[string]any) string { s, _ := t["name"].(string); return s }
	switch orderBy {
	case "name":
		slices.SortStableFunc(out, func(a, b map[string]any) int { return strings.Compare(name(a), name(b)) })
	case "version":
		slices.SortStableFunc(out, func(a, b map[string]any) int { return compareVersions(name(a), name(b)) })
	default:
		// updated: tagList's order is desc already.
		if dir == "asc" {
			slices.Reverse(out)
		}
		return out
	}
	if dir == "desc" {
		slices.Reverse(out)
	}
	return out
}

// compareVersions compares tag names by their runs of digits as numbers
// and the text between them as text: v1.10.0 after v1.9.0.
func compareVersions(a, b string) int {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da != db {
			return strings.Compare(a, b)
		}
		ra, rb := leadingRun(a, da), leadingRun(b, db)
		if da {
			x, y := strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
			if c := cmp.Compare(len(x), len(y)); c != 0 {
				return c
			}
			if c := strings.Compare(x, y); c != 0 {
				return c
			}
		} else if c := strings.Compare(ra, rb); c != 0 {
			return c
		}
		a, b = a[len(ra):], b[len(rb):]
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// leadingRun is s's leading run of digits (digits) or of other bytes.
func leadingRun(s string, digits bool) string {
	i := 0
	for i < len(s) && isDigit(s[i]) == digits {
		i++
	}
	return s[:i]
}

// tagList is a project's tags, newest first: the generated ones, then
// those pushed (and not deleted) by tests.
func (s *Server) tagList(p *Project, pwn string) []map[string]any {
	var out []map[string]any
	if p.EmptyRepo {
		return out
	}
	var pushed []string
	for ref, sha := range s.refs[p.ID] {
		if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok && sha != "" {
			pushed = append(pushed, t)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(pushed)))
	for _, t := range pushed {
		sha := s.refs[p.ID]["refs/tags/"+t]
		out = append(out, map[string]any{"name": t, "message": "", "target": sha, "protected": false,
			"commit": map[string]any{"id": sha, "title": "Tag " + t, "created_at": ts(p.LastActivity)}, "release": nil})
	}
	if p.ID%2 == 0 && !p.Fresh {
		for i := 3; i >= 1; i-- {
			tag := fmt.Sprintf("v1.%d.0", i)
			if sha, ok := s.refs[p.ID]["refs/tags/"+tag]; ok && sha == "" {
				continue // deleted
			}
			out = append(out, map[string]any{"name": tag, "message": "Release " + tag, "target": blobSHA(pwn + tag), "protected": false,
				"commit": map[string]any{"id": blobSHA(pwn + tag), "title": "Release " + tag, "created_at": ts(p.CreatedAt.Add(time.Duration(i) * 24 * time.Hour))}, "release": nil})
		}
	}
	return out
}

// searchBlobs is GitLab's basic blob search: lines containing the term
// (filename: and extension: filters are honoured).
func searchBlobs(p *Project, files map[string]string, term string) []any {
	var filename, ext string
	var words []string
	for _, f := range strings.Fields(term) {
		switch {
		case strings.HasPrefix(f, "filename:"):
			filename = strings.TrimPrefix(f, "filename:")
		case strings.HasPrefix(f, "extension:"):
			ext = strings.TrimPrefix(f, "extension:")
		default:
			words = append(words, f)
		}
	}
	needle := strings.Join(words, " ")
	var paths []string
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out []any
	for _, fp := range paths {
		if filename != "" {
			// filename: accepts wildcards, like GitLab's search.
			if ok, _ := path.Match(filename, path.Base(fp)); !ok {
				continue
			}
		}
		if ext != "" && strings.TrimPrefix(path.Ext(fp), ".") != ext {
			continue
		}
		for i, line := range strings.Split(files[fp], "\n") {
			if needle == "" || strings.Contains(line, needle) {
				out = append(out, map[string]any{"basename": strings.TrimSuffix(path.Base(fp), path.Ext(fp)), "data": line, "path": fp,
					"filename": fp, "id": nil, "ref": p.DefaultBranch, "startline": i + 1, "project_id": p.ID})
				break
			}
		}
	}
	return out
}

// RepoTree returns the recursive tree of a project's default branch: every
// entry's path and whether it is a folder (benchmarks compute minimums
// from it).
func (s *Server) RepoTree(projectID int64) (paths []string, folder []bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.projects[projectID]
	if p == nil {
		return nil, nil
	}
	for _, e := range tree(s.repoFiles(p), "", true) {
		paths = append(paths, e.Path)
		folder = append(folder, e.Type == "tree")
	}
	return paths, folder
}

// groupSearch serves GET /groups/:id/search. Blob search across a group
// needs advanced search (Elasticsearch); without it GitLab answers 400.
func (s *Server) groupSearch(w http.ResponseWriter, r *http.Request, tok *Token, g *Group) {
	q := r.URL.Query()
	if q.Get("scope") != "blobs" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "scope does not have a valid value"})
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.opts.AdvancedSearch {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "400 Bad request - Scope not supported without Elasticsearch!"})
		return
	}
	var ids []int64
	for id, p := range s.projects {
		if (p.NamespaceID == g.ID || s.isDescendant(p.NamespaceID, g.ID)) && s.visibleProject(tok, p) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var out []any
	for _, id := range ids {
		p := s.projects[id]
		out = append(out, searchBlobs(p, s.repoFiles(p), q.Get("search"))...)
	}
	writeJSON(w, http.StatusOK, offsetPage(w, r, s.apiURL(fmt.Sprintf("groups/%d/search", g.ID)), out))
}

// SetAdvancedSearch turns advanced search on or off while serving.
func (s *Server) SetAdvancedSearch(on bool) {
	s.lockW()
	s.opts.AdvancedSearch = on
	s.mu.Unlock()
}
