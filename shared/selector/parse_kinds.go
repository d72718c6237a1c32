package selector

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/glsync/terraform-provider-glsync/shared/suggest"
)

// parseFilesAndFolders reads selector.files and folders.
func (r *resource) parseFilesAndFolders(gen Generation) *Error {
	o := &r.Options
	if r.Kind == KindFile {
		f, ok := r.Selector["files"].(map[string]any)
		if !ok {
			return &Error{"selector.files", errors.New("is required: {path: GLOB, repos: [...], skipParsing: false, searchStrategy: groupSearch}")}
		}
		known := []string{"path", "repos", "skipParsing", "searchStrategy"}
		for k := range f {
			if !slices.Contains(known, k) {
				return &Error{"selector.files." + k, UnknownKey("files option", k, known)}
			}
		}
		p, _ := AsString(f["path"])
		if p == "" || !doublestar.ValidatePattern(p) {
			return &Error{"selector.files.path", fmt.Errorf("must be a valid glob, got %s", Shown(f["path"]))}
		}
		o.Files.Path = p
		if v, ok := f["skipParsing"]; ok && v != nil {
			b, err := AsBool(v)
			if err != nil {
				return &Error{"selector.files.skipParsing", err}
			}
			o.Files.SkipParsing = b
		}
		if v, ok := f["repos"]; ok && v != nil {
			list, err := AsStrings(v)
			if err != nil {
				return &Error{"selector.files.repos", fmt.Errorf("must be a list of project paths: %w", err)}
			}
			o.Files.Repos = list
		}
		// Ocean v2 nests searchStrategy under files; glsync 0.x read it
		// beside files, which still works.
		for _, src := range []struct {
			field string
			v     any
		}{{"selector.searchStrategy", r.Selector["searchStrategy"]}, {"selector.files.searchStrategy", f["searchStrategy"]}} {
			if src.v == nil {
				continue
			}
			st, _ := AsString(src.v)
			if st != "repositoryTree" && st != "projectSearch" && st != "groupSearch" {
				return &Error{src.field, fmt.Errorf("must be repositoryTree, projectSearch or groupSearch, got %s", Shown(src.v))}
			}
			o.Files.Strategy = st
		}
	}
	if r.Kind == KindFolder {
		list, ok := r.Selector["folders"].([]any)
		if !ok || len(list) == 0 {
			return &Error{"selector.folders", errors.New("is required: a list of {path: GLOB, repos: [{name, branch}]}")}
		}
		for i, x := range list {
			field := fmt.Sprintf("selector.folders[%d]", i)
			m, _ := x.(map[string]any)
			for k := range m {
				if !slices.Contains([]string{"path", "repos", "branch"}, k) {
					return &Error{field + "." + k, UnknownKey("folders option", k, []string{"path", "repos", "branch"})}
				}
			}
			p, _ := AsString(m["path"])
			if !doublestar.ValidatePattern(p) {
				return &Error{field + ".path", fmt.Errorf("must be a folder path or glob, got %s", Shown(m["path"]))}
			}
			// Ocean v1 names repos as strings with one branch for the
			// entry; v2 as {name, branch} with branch defaulting to main
			// (integrations/gitlab-v2/integration.py,
			// RepositoryBranchMapping).
			entryBranch, _ := AsString(m["branch"])
			fs := Folder{Path: p}
			repos, _ := m["repos"].([]any)
			if m["repos"] != nil && repos == nil {
				return &Error{field + ".repos", fmt.Errorf("must be a list of project names or {name, branch}, got %s", Shown(m["repos"]))}
			}
			for j, rx := range repos {
				var fr FolderRepo
				switch rv := rx.(type) {
				case string:
					fr = FolderRepo{Name: rv, Branch: entryBranch}
				case map[string]any:
					fr.Name, _ = AsString(rv["name"])
					if b, ok := rv["branch"]; ok && b != nil {
						fr.Branch, _ = AsString(b)
					} else if entryBranch != "" {
						fr.Branch = entryBranch
					} else {
						fr.Branch = "main"
					}
				}
				if fr.Name == "" {
					return &Error{fmt.Sprintf("%s.repos[%d]", field, j), errors.New("needs a project name (path_with_namespace or path)")}
				}
				fs.Repos = append(fs.Repos, fr)
			}
			o.Folders = append(o.Folders, fs)
		}
	}
	return nil
}

// parseAgents reads the skill kind's paths and the plugin kind's
// providers and repos (gitlab-v2/integration.py, GitLabSkillSelector and
// GitLabPluginSelector; a paths entry takes no other keys).
func (r *resource) parseAgents() *Error {
	o := &r.Options
	switch r.Kind {
	case KindSkill:
		v, ok := r.Selector["paths"]
		if !ok || v == nil {
			for _, p := range DefaultSkillPaths {
				o.SkillPaths = append(o.SkillPaths, SkillPath{Path: p})
			}
			return nil
		}
		return objects("paths", v, "{path, repos}", "{path: GLOB, repos: [...]}", []string{"path", "repos"}, func(field string, m map[string]any) *Error {
			p, _ := AsString(m["path"])
			if p == "" || !doublestar.ValidatePattern(p) {
				return &Error{field + ".path", fmt.Errorf("must be a SKILL.md glob, got %s", Shown(m["path"]))}
			}
			sp := SkillPath{Path: p}
			if m["repos"] != nil {
				repos, err := AsStrings(m["repos"])
				if err != nil {
					return &Error{field + ".repos", err}
				}
				sp.Repos = repos
			}
			o.SkillPaths = append(o.SkillPaths, sp)
			return nil
		})
	case KindPlugin:
		o.Providers = PluginProviders
		if v, ok := r.Selector["providers"]; ok && v != nil {
			list, err := AsStrings(v)
			if err != nil {
				return &Error{"selector.providers", err}
			}
			for _, p := range list {
				if !slices.Contains(PluginProviders, p) {
					return &Error{"selector.providers", UnknownKey("provider", p, PluginProviders)}
				}
			}
			o.Providers = list
		}
		if v, ok := r.Selector["repos"]; ok && v != nil {
			list, err := AsStrings(v)
			if err != nil {
				return &Error{"selector.repos", err}
			}
			o.PluginRepos = list
		}
	}
	return nil
}

// UnknownKey is the error for a key nobody knows, with the closest known
// key as a suggestion when one is near.
func UnknownKey(what, key string, known []string) error {
	if best, ok := suggest.Nearest(key, known); ok {
		return fmt.Errorf("unknown %s %q; did you mean %q?", what, key, best)
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	return fmt.Errorf("unknown %s %q (known: %s)", what, key, strings.Join(sorted, ", "))
}
