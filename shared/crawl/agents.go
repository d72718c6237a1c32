package crawl

import (
	"bytes"
	"context"
	"encoding/json"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// The skill and plugin kinds find AI agent skills (SKILL.md files) and
// agent plugin packages in repositories, as Ocean v2 does
// (integrations/gitlab-v2/gitlab/helpers/skill_plugin.py and
// skill_plugin_resync.py). Both read each project's default branch: one
// repository tree listing, then the matching files. Ocean walks one tree
// per glob prefix; one listing of the whole tree finds the same files in
// fewer requests for usual repositories.

// SkillPath is one entry of the skill kind's selector.paths: a SKILL.md
// glob and the projects it applies to (none: every project).
type SkillPath = selector.SkillPath

// pluginManifests are each provider's manifest files, from the repository
// root; marketplaces list plugins instead of describing one.
var (
	pluginManifests = map[string][]string{
		"claude":      {".claude-plugin/plugin.json", ".claude-plugin/marketplace.json"},
		"cursor":      {".cursor-plugin/plugin.json"},
		"codex":       {".codex-plugin/plugin.json"},
		"agents":      {".agents/plugins/marketplace.json"},
		"kimi":        {".kimi-plugin/plugin.json"},
		"antigravity": {"gemini-extension.json"},
	}
	pluginMarketplace = map[string]string{"claude": ".claude-plugin/marketplace.json", "agents": ".agents/plugins/marketplace.json"}
	// Directory-only providers: a file directly in the directory is the
	// plugin.
	pluginDirectories = map[string]string{"opencode": ".opencode/plugins/", "pi": ".pi/extensions/"}
	// pluginPrecedence orders the providers whose manifests give the
	// plugin's name, description and version.
	pluginPrecedence = []string{"cursor", "claude", "codex", "kimi", "antigravity", "agents", "opencode", "pi"}
)

// Skills streams one object per SKILL.md the skill paths select:
// {"skill": {name, description, instructions, frontmatter, path,
// skillMdPath, root}, "repo": project, "__branch": branch}.
func (s *Source) Skills(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	return s.EachProject(ctx, true, o.ActiveGroups, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
		if len(skillGlobs(o.SkillPaths, pr)) == 0 {
			return gitlab.Page{}, nil
		}
		id := int64(num(pr["id"]))
		ref, _ := pr["default_branch"].(string)
		entries, at, err := s.Tree(ctx, id, ref)
		if err != nil {
			return gitlab.Page{}, err
		}
		items, err := s.ProjectSkills(ctx, pr, o.SkillPaths, ref, entries)
		return gitlab.Page{Items: items, RequestedAt: at}, err
	}, fn)
}

// skillGlobs are the skill globs that apply to project pr.
func skillGlobs(paths []SkillPath, pr map[string]any) []string {
	pwn, _ := pr["path_with_namespace"].(string)
	var out []string
	for _, p := range paths {
		if len(p.Repos) == 0 || slices.Contains(p.Repos, pwn) {
			out = append(out, p.Path)
		}
	}
	return out
}

// ProjectSkills reads the skills of project pr that a repository tree at
// ref lists.
func (s *Source) ProjectSkills(ctx context.Context, pr map[string]any, paths []SkillPath, ref string, entries []map[string]any) ([]map[string]any, error) {
	globs := skillGlobs(paths, pr)
	var items []map[string]any
	for _, e := range entries {
		p, _ := e["path"].(string)
		if e["type"] != "blob" || !skillSelected(globs, p) {
			continue
		}
		obj, err := s.skillObject(ctx, pr, globs, p, ref)
		if err != nil {
			if err := skipFile(ctx, err, pr); err != nil {
				return nil, err
			}
			continue
		}
		if obj != nil {
			items = append(items, obj)
		}
	}
	return items, nil
}

// skillSelected reports whether a repository path is a SKILL.md one of
// globs selects: the file name SKILL.md in any case, and a glob match
// ignoring case (skill_plugin.py, matches_skill_path).
func skillSelected(globs []string, p string) bool {
	p = strings.Trim(p, "/")
	if !strings.EqualFold(path.Base(p), "SKILL.md") {
		return false
	}
	for _, g := range globs {
		if doublestar.MatchUnvalidated(strings.ToLower(strings.Trim(g, "/")), strings.ToLower(p)) {
			return true
		}
	}
	return false
}

// skillObject reads one SKILL.md at ref and returns its skill object; nil
// when it is not there or not UTF-8 text.
func (s *Source) skillObject(ctx context.Context, pr map[string]any, globs []string, skillMd, ref string) (map[string]any, error) {
	file, content, err := s.FileObject(ctx, int64(num(pr["id"])), skillMd, ref)
	if err != nil || file == nil || !utf8.Valid(content) {
		return nil, err
	}
	branch, _ := file["ref"].(string)
	if branch == "" {
		branch = ref
	}
	return map[string]any{"skill": BuildSkill(skillMd, string(content), globs), "repo": pr, "__branch": branch}, nil
}

// BuildSkill is Ocean's build_skill_object: the frontmatter's name (else
// the skill directory's name) and description, the markdown after the
// frontmatter as instructions, and where the skill lives.
func BuildSkill(skillMd, content string, globs []string) map[string]any {
	fm, body := parseSkillMarkdown(content)
	dir := path.Dir(skillMd)
	name := path.Base(dir)
	if dir == "." {
		name = ""
	}
	if n, ok := fm["name"].(string); ok && strings.TrimSpace(n) != "" {
		name = n
	}
	desc, _ := fm["description"].(string)
	return map[string]any{"name": name, "description": desc, "instructions": body, "frontmatter": fm,
		"path": dir, "skillMdPath": skillMd, "root": skillRoot(skillMd, globs)}
}

// parseSkillMarkdown splits SKILL.md into its YAML frontmatter and body
// as Ocean does (_parse_skill_markdown): the text must start with "---";
// it is split at the next two "---" anywhere; the body loses its leading
// newlines; a frontmatter that is not a YAML mapping is empty.
func parseSkillMarkdown(content string) (map[string]any, string) {
	text := strings.ReplaceAll(content, "\r\n", "\n")
	if !strings.HasPrefix(text, "---") {
		return map[string]any{}, text
	}
	parts := strings.SplitN(text, "---", 3)
	if len(parts) < 3 {
		return map[string]any{}, text
	}
	raw, body := strings.TrimSpace(parts[1]), strings.TrimLeft(parts[2], "\n")
	if raw == "" {
		return map[string]any{}, body
	}
	var v any
	if err := yaml.Unmarshal([]byte(raw), &v); err != nil {
		return map[string]any{}, body
	}
	m, ok := jsonable(yamlStrings(v)).(map[string]any)
	if !ok {
		return map[string]any{}, body
	}
	return m, body
}

// yamlStrings turns YAML values JSON cannot hold (dates) into strings.
func yamlStrings(v any) any {
	switch x := v.(type) {
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format(time.DateOnly)
		}
		return x.Format(time.RFC3339)
	case map[string]any:
		for k, e := range x {
			x[k] = yamlStrings(e)
		}
	case []any:
		for i, e := range x {
			x[i] = yamlStrings(e)
		}
	}
	return v
}

// skillRoot is Ocean's infer_skill_root: the fixed part of the first glob
// that matches, else the skill directory's parent.
func skillRoot(skillMd string, globs []string) string {
	n := strings.Trim(skillMd, "/")
	for _, g := range globs {
		g = strings.Trim(g, "/")
		if doublestar.MatchUnvalidated(strings.ToLower(g), strings.ToLower(n)) {
			if r := globRoot(g); r != "" {
				return r
			}
		}
	}
	dir := path.Dir(n)
	if parent := path.Dir(dir); parent != "." && parent != "" {
		return parent
	}
	return dir
}

func globRoot(g string) string {
	lower := strings.ToLower(g)
	for _, suffix := range []string{"/**/skill.md", "/skill.md", "**/skill.md", "skill.md"} {
		if strings.HasSuffix(lower, suffix) {
			return strings.Trim(g[:len(g)-len(suffix)], "/")
		}
	}
	return g
}

// Plugins streams one object per project that packages an agent plugin:
// {"plugin": {name, displayName, description, version, supports, and one
// key per provider}, "repo": project, "__branch": branch}.
func (s *Source) Plugins(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	return s.EachProject(ctx, true, o.ActiveGroups, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
		if !pluginRepoSelected(o, pr) {
			return gitlab.Page{}, nil
		}
		id := int64(num(pr["id"]))
		ref, _ := pr["default_branch"].(string)
		entries, at, err := s.Tree(ctx, id, ref)
		if err != nil {
			return gitlab.Page{}, err
		}
		obj, err := s.projectPlugin(ctx, pr, o.Providers, ref, entries)
		if err != nil || obj == nil {
			// A manifest that cannot be used leaves the whole plugin out:
			// built from the others, it would lose what that one gave.
			return gitlab.Page{}, skipFile(ctx, err, pr)
		}
		return gitlab.Page{Items: []map[string]any{obj}, RequestedAt: at}, nil
	}, fn)
}

// pluginRepoSelected reports whether the plugin kind's repos select
// project pr (none: every project).
func pluginRepoSelected(o Options, pr map[string]any) bool { return repoSelected(pr, o.PluginRepos) }

// pluginTouched reports whether a repository path concerns one of the
// providers: a manifest, or anything in a directory-only provider's
// directory.
func pluginTouched(providers []string, p string) bool {
	p = strings.Trim(p, "/")
	for _, prov := range providers {
		if slices.Contains(pluginManifests[prov], p) {
			return true
		}
		if d := pluginDirectories[prov]; d != "" && (p == strings.TrimSuffix(d, "/") || strings.HasPrefix(p, d)) {
			return true
		}
	}
	return false
}

// projectPlugin builds project pr's plugin object from a repository tree
// at ref: the providers' manifests (JSON objects; others are ignored) and
// the files directly in directory-only providers' directories. nil when
// the project packages no plugin.
func (s *Source) projectPlugin(ctx context.Context, pr map[string]any, providers []string, ref string, entries []map[string]any) (map[string]any, error) {
	manifests := map[string]map[string]any{}
	dirs := map[string]bool{}
	branch := ref
	for _, e := range entries {
		p, _ := e["path"].(string)
		if e["type"] != "blob" {
			continue
		}
		for _, prov := range providers {
			if d := pluginDirectories[prov]; d != "" && strings.HasPrefix(p, d) && !strings.Contains(p[len(d):], "/") {
				dirs[prov] = true
			}
			if !slices.Contains(pluginManifests[prov], p) {
				continue
			}
			file, content, err := s.FileObject(ctx, int64(num(pr["id"])), p, ref)
			if err != nil {
				return nil, withProject(err, pr)
			}
			var m map[string]any
			if file == nil || json.Unmarshal(bytes.TrimSpace(content), &m) != nil || m == nil {
				continue
			}
			resolved, err := s.resolveFileRefs(ctx, pr, p, ref, m)
			if err != nil {
				return nil, referencedFrom(withProject(err, pr), p)
			}
			manifests[p] = resolved.(map[string]any)
		}
	}
	plugin := NormalizePlugin(pr, manifests, providers, dirs)
	if plugin == nil {
		return nil, nil
	}
	if branch == "" {
		branch, _ = pr["default_branch"].(string)
	}
	return map[string]any{"plugin": plugin, "repo": pr, "__branch": branch}, nil
}

// NormalizePlugin is Ocean's normalize_plugin: the providers found, in
// precedence order, give the name, display name, description and version;
// each provider's key holds its manifest (or {"detected": true} for a
// directory-only provider), supports says which are present. nil when
// none is.
func NormalizePlugin(repo map[string]any, manifests map[string]map[string]any, providers []string, dirs map[string]bool) map[string]any {
	type resolved struct {
		primary, marketplace, document map[string]any
		dirOnly                        bool
	}
	found := map[string]resolved{}
	var order []string
	for _, p := range pluginPrecedence {
		if !slices.Contains(providers, p) {
			continue
		}
		mkt := pluginMarketplace[p]
		primaryPath := ""
		for _, m := range pluginManifests[p] {
			if m != mkt {
				primaryPath = m
				break
			}
		}
		var primary, marketplace map[string]any
		if primaryPath != "" {
			primary = manifests[primaryPath]
		}
		if mkt != "" {
			marketplace = manifests[mkt]
		}
		if len(primary) == 0 && len(marketplace) > 0 {
			entries, _ := marketplace["plugins"].([]any)
			for _, x := range entries {
				if m, ok := x.(map[string]any); ok {
					primary = m
					break
				}
			}
		}
		switch {
		case len(primary) > 0 || len(marketplace) > 0:
			doc := marketplace
			if primaryPath != "" {
				doc = primary
			}
			found[p] = resolved{primary: primary, marketplace: marketplace, document: doc}
			order = append(order, p)
		case dirs[p]:
			found[p] = resolved{dirOnly: true}
			order = append(order, p)
		}
	}
	if len(found) == 0 {
		return nil
	}
	str := func(d map[string]any, keys ...string) string {
		for _, k := range keys {
			if s, ok := d[k].(string); ok && strings.TrimSpace(s) != "" {
				return s
			}
		}
		return ""
	}
	first := func(get func(resolved) string) string {
		for _, p := range order {
			if v := get(found[p]); v != "" {
				return v
			}
		}
		return ""
	}
	name := first(func(r resolved) string { return str(r.primary, "name") })
	if name == "" {
		name = str(repo, "name", "path")
	}
	display := first(func(r resolved) string {
		if v := str(r.primary, "displayName", "display_name"); v != "" {
			return v
		}
		iface, _ := r.marketplace["interface"].(map[string]any)
		return str(iface, "displayName", "display_name")
	})
	if display == "" {
		display = name
	}
	desc := first(func(r resolved) string { return str(r.primary, "description") })
	if desc == "" {
		desc = first(func(r resolved) string { return str(r.marketplace, "description") })
	}
	var version any
	if v := first(func(r resolved) string { return str(r.primary, "version") }); v != "" {
		version = v
	}
	supports := map[string]any{}
	out := map[string]any{"name": name, "displayName": display, "description": desc, "version": version, "supports": supports}
	for _, p := range selector.PluginProviders {
		r, ok := found[p]
		supports[p] = ok
		switch {
		case !ok:
			out[p] = map[string]any{}
		case r.dirOnly:
			out[p] = map[string]any{"detected": true}
		case len(r.marketplace) == 0:
			out[p] = cloneMap(r.document)
		default:
			d := cloneMap(r.document)
			d["name"] = str(r.primary, "name")
			if d["name"] == "" {
				d["name"] = name
			}
			var mn any
			if s := str(r.marketplace, "name"); s != "" {
				mn = s
			}
			d["marketplaceName"] = mn
			out[p] = d
		}
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}
