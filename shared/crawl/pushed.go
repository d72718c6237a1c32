package crawl

import "context"

// A push changes a few paths of one repository. The repository kinds
// (files, skills, plugins) are listed a whole tree at a time; what
// follows answers, for one project, which paths a kind reads (a push that
// touches none of them leaves the kind unchanged) and the kind's objects
// for a touched path at a ref, as the listing gives them, so that a push
// event writes what the next resync would.

// FileWatch reports which repository paths of project pr the file kind
// with options o reads (its glob, in the repositories it names).
func FileWatch(o Options, pr map[string]any) func(path string) bool {
	fo := o.Files
	return func(p string) bool { return fileSelected(fo, pr, p) }
}

// SkillWatch reports which repository paths of project pr are SKILL.md
// files the skill kind with options o reads; nil when none of its globs
// applies to pr.
func SkillWatch(o Options, pr map[string]any) func(path string) bool {
	globs := skillGlobs(o.SkillPaths, pr)
	if len(globs) == 0 {
		return nil
	}
	return func(p string) bool { return skillSelected(globs, p) }
}

// SkillsAt is the skill kind's object of the SKILL.md at skillMd at ref
// in project pr, as the listing gives it: none when the file is not
// there or not UTF-8 text.
func (s *Source) SkillsAt(ctx context.Context, pr map[string]any, o Options, skillMd, ref string) ([]map[string]any, error) {
	obj, err := s.skillObject(ctx, pr, skillGlobs(o.SkillPaths, pr), skillMd, ref)
	if err != nil || obj == nil {
		return nil, err
	}
	return []map[string]any{obj}, nil
}

// PluginWatch reports which repository paths of project pr concern the
// plugin kind with options o (a provider's manifest, or anything in a
// directory-only provider's directory); nil when its repos leave pr out.
func PluginWatch(o Options, pr map[string]any) func(path string) bool {
	if !pluginRepoSelected(o, pr) {
		return nil
	}
	providers := o.Providers
	return func(p string) bool { return pluginTouched(providers, p) }
}

// PluginAt is project pr's plugin object on branch, built from the
// repository tree (entries) at ref, a commit of the branch: none when
// the project packages no plugin there.
func (s *Source) PluginAt(ctx context.Context, pr map[string]any, o Options, branch, ref string, entries []map[string]any) ([]map[string]any, error) {
	obj, err := s.projectPlugin(ctx, pr, o.Providers, ref, entries)
	if err != nil || obj == nil {
		return nil, err
	}
	obj["__branch"] = branch
	return []map[string]any{obj}, nil
}
