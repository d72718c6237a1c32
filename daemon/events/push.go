package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// A push changes the repository kinds as well as the project: this file
// keeps GitOps entities, files, folders, branches and tags current from
// push and tag push events, reading what changed with the same shared
// crawler functions a resync uses. What a ref held before the push is
// read at the push's "before" commit, so entities that are no longer
// produced are deleted at once instead of at the next resync; current
// content comes from the branch, so a late event never writes an older
// version.

// push handles a push or tag push: the project, then each repository
// kind the mapping has, each a part of its own (see parts.go): a part
// that fails is reported in Result.Failed with the changes of the parts
// that succeeded, so the project is written although a repository read
// failed, and only the failed part is tried again.
func (p *Processor) push(ctx context.Context, pl payload) (Result, error) {
	var res Result
	var project map[string]any
	if pl.retries(partProject) {
		var err error
		res, project, err = p.projectObj(ctx, projectID(pl), projectPath(pl), "")
		if err != nil || res.Outcome != Applied && res.Outcome != NotMapped {
			return res, err
		}
	}
	var steps []repoStep
	r := &repoPush{p: p, pl: pl, trees: map[string]treeRead{}}
	if branch, ok := strings.CutPrefix(pl.Ref, "refs/heads/"); ok {
		r.branch = branch
		steps = []repoStep{{partGitOps, r.gitops}, {partFile, r.files}, {partFolder, r.folders}, {partBranch, r.branchEntity}, {partSkill, r.skills}, {partPlugin, r.plugins}}
	} else if tag, ok := strings.CutPrefix(pl.Ref, "refs/tags/"); ok {
		steps = []repoStep{{partTag, func(ctx context.Context, res Result) (Result, error) { return r.tagEntity(ctx, res, tag) }}}
	}
	steps = slices.DeleteFunc(steps, func(s repoStep) bool { return !pl.retries(s.part) || !p.needs(s.part) })
	if len(steps) == 0 {
		return res, nil
	}
	src := p.owner(ctx, projectPath(pl))
	if src == nil {
		return res, nil
	}
	if project == nil { // not mapped as a project, or not retried: not read yet
		read, err := src.Object(ctx, crawl.ObjectRef{Kind: selector.KindProject, Project: projectID(pl)}, nil)
		if err != nil {
			return Result{}, classify(err)
		}
		project = read.Obj
	}
	if res.Changes.Upserts == nil {
		res.Changes.Upserts = map[string][]*catalog.Entity{}
	}
	r.src, r.project, r.repo, r.version = src, project, crawl.ProjectRef(project), p.now().UnixNano()
	r.def, _ = project["default_branch"].(string)
	before := changes(res)
	for _, step := range steps {
		next, err := step.run(ctx, res)
		if errors.Is(err, errRefGone) {
			// Gone since the push (a branch deleted right after it):
			// what it produced is left to the push that deleted it.
			continue
		}
		if err != nil {
			// The part's own changes are dropped with it; the others stand.
			res.Failed = append(res.Failed, PartFailure{Part: step.part, Err: classify(err)})
			continue
		}
		res = next
	}
	if changes(res) > before {
		res.Outcome = Applied
	}
	return res, nil
}

func changes(res Result) int {
	n := len(res.Changes.Deletes)
	for _, es := range res.Changes.Upserts {
		n += len(es)
	}
	return n
}

// repoPush is one push being applied to the repository kinds.
type repoPush struct {
	p       *Processor
	src     *crawl.Source
	pl      payload
	project map[string]any // as GitLab serves GET /projects/:id
	repo    map[string]any // as per-project kinds carry it
	def     string         // the default branch
	branch  string         // the pushed branch
	version int64
	// trees are the repository trees read for this push, by ref: the
	// changed paths and the folders share them.
	trees map[string]treeRead
}

// treeRead is one tree listing's outcome, kept so that a ref that is gone
// is asked for once.
type treeRead struct {
	entries []map[string]any
	err     error
}

// errRefGone is what reading the pushed ref fails with when GitLab no
// longer has it (a branch deleted right after the push): what the ref
// produced is left to the push that deleted it.
var errRefGone = errors.New("the ref is gone")

// tree lists the repository tree at ref once per push; errRefGone when
// GitLab answers 404 for the ref.
func (r *repoPush) tree(ctx context.Context, ref string) ([]map[string]any, error) {
	if t, ok := r.trees[ref]; ok {
		return t.entries, t.err
	}
	id, _ := r.project["id"].(float64)
	entries, _, err := r.src.Tree(ctx, int64(id), ref)
	switch {
	case gone(err):
		err = fmt.Errorf("tree of %s: %w", ref, errRefGone)
	case err != nil:
		return nil, classify(err)
	}
	r.trees[ref] = treeRead{entries, err}
	return entries, err
}

func zeroSHA(sha string) bool { return strings.Trim(sha, "0") == "" }

// created reports whether the push created the ref (nothing before it).
func (r *repoPush) created() bool { return zeroSHA(r.pl.Before) }

// deleted reports whether the push deleted the ref.
func (r *repoPush) deleted() bool { return r.pl.After != "" && zeroSHA(r.pl.After) }

// touched lists the paths the push added, changed or removed that match.
// GitLab's payload holds at most 20 commits: when it holds fewer than
// the push made, the paths come from the repository trees before and
// after the push instead.
func (r *repoPush) touched(ctx context.Context, match func(string) bool) (map[string]bool, error) {
	out := map[string]bool{}
	if r.pl.TotalCommitsCount <= len(r.pl.Commits) {
		for _, c := range r.pl.Commits {
			for _, list := range [][]string{c.Added, c.Modified, c.Removed} {
				for _, f := range list {
					if match(f) {
						out[f] = true
					}
				}
			}
		}
		return out, nil
	}
	refs := []string{r.branch}
	if !r.created() {
		refs = append(refs, r.pl.Before)
	}
	for _, ref := range refs {
		entries, err := r.tree(ctx, ref)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if f, _ := e["path"].(string); e["type"] == "blob" && match(f) {
				out[f] = true
			}
		}
	}
	return out, nil
}

// diff maps what the ref holds now (upserted) and deletes the entities
// of what it held before the push that it no longer produces.
func (r *repoPush) diff(ctx context.Context, res Result, kind string, resources []*mapping.Resource, now, was []map[string]any) (Result, error) {
	return r.p.diffInto(ctx, res, kind, resources, now, was, r.version)
}

// gitops re-reads the spec files the push touched on the spec branch:
// what they declare now is upserted, what they declared before and no
// longer is deleted.
func (r *repoPush) gitops(ctx context.Context, res Result) (Result, error) {
	specs := r.p.Mapping.SpecPaths
	branch := r.p.Mapping.Branch
	if branch == "" {
		branch = r.def
	}
	if len(specs) == 0 || r.branch != branch {
		return res, nil
	}
	touched, err := r.touched(ctx, func(f string) bool { return crawl.MatchSpec(specs, f) })
	if err != nil {
		return Result{}, err
	}
	for f := range touched {
		now, err := r.declared(ctx, f, r.branch)
		if err != nil {
			return Result{}, err
		}
		var refused []catalog.Refusal
		if now, refused, err = r.claims(ctx, now); err != nil {
			return Result{}, err
		}
		res.Refused = append(res.Refused, refused...)
		for _, e := range now {
			e.Version, e.Project = r.version, crawl.ObjectProject(selector.KindGitOps, map[string]any{"__project": r.project})
			res.Changes.Upserts[mapping.GitOpsKind] = append(res.Changes.Upserts[mapping.GitOpsKind], e)
		}
		if r.created() {
			continue
		}
		was, err := r.declared(ctx, f, r.pl.Before)
		if err != nil && !transient(err) {
			// The file as it was did not parse, so it produced nothing:
			// nothing of it to delete.
			was, err = nil, nil
		}
		if err != nil {
			return Result{}, err
		}
		var gone []catalog.Key
		for _, e := range was {
			gone = append(gone, e.Key())
		}
		// Only what this project's spec files produced goes.
		if gone, err = r.produced(ctx, gone); err != nil {
			return Result{}, err
		}
		res = deleteGone(res, now, gone, r.version)
	}
	return res, nil
}

// claims keeps the declared entities the pushed project's spec file may
// write (catalog.FilterClaims), unless gitopsScope is any.
func (r *repoPush) claims(ctx context.Context, ents []*catalog.Entity) ([]*catalog.Entity, []catalog.Refusal, error) {
	if r.p.Mapping.GitOpsAnyScope || r.p.Entities == nil {
		return ents, nil, nil
	}
	id, _ := r.project["id"].(float64)
	kept, refused, err := catalog.FilterClaims(ctx, r.p.Entities, int64(id), r.p.Mapping.OwnKeys(ctx, r.project), ents)
	if err != nil {
		return nil, nil, &TransientError{err}
	}
	return kept, refused, nil
}

// produced keeps the keys the pushed project's spec files produced: a
// spec that stops declaring an entity deletes it only if it was theirs.
func (r *repoPush) produced(ctx context.Context, keys []catalog.Key) ([]catalog.Key, error) {
	if r.p.Mapping.GitOpsAnyScope || r.p.Entities == nil {
		return keys, nil
	}
	id, _ := r.project["id"].(float64)
	out, err := catalog.ProducedBy(ctx, r.p.Entities, mapping.GitOpsKind, int64(id), keys)
	if err != nil {
		return nil, &TransientError{err}
	}
	return out, nil
}

// declared reads the entities a spec file declares at ref (none when the
// file is not there).
func (r *repoPush) declared(ctx context.Context, file, ref string) ([]*catalog.Entity, error) {
	decl, err := r.src.ReadSpec(ctx, r.project, file, ref)
	if err != nil {
		return nil, classify(err)
	}
	var out []*catalog.Entity
	for _, d := range decl {
		e, err := r.p.Mapping.Declared(d)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// files re-reads the files of the file kind the push touched on the
// default branch (the branch the file kind reads).
func (r *repoPush) files(ctx context.Context, res Result) (Result, error) {
	resources := r.p.Mapping.ResourcesFor(selector.KindFile)
	if len(resources) == 0 || r.branch != r.def {
		return res, nil
	}
	for _, g := range crawl.GroupResources(resources) {
		fo := g.Options.Files
		touched, err := r.touched(ctx, crawl.FileWatch(g.Options, r.repo))
		if err != nil {
			return Result{}, err
		}
		for f := range touched {
			now, err := r.src.FileObjects(ctx, r.repo, f, r.branch, fo)
			if err != nil {
				return Result{}, classify(err)
			}
			var was []map[string]any
			if !r.created() {
				if was, err = r.src.FileObjects(ctx, r.repo, f, r.pl.Before, fo); err != nil {
					return Result{}, classify(err)
				}
			}
			if res, err = r.diff(ctx, res, selector.KindFile, g.Resources, now, was); err != nil {
				return Result{}, err
			}
		}
	}
	return res, nil
}

// folders re-lists the folders of the folder kind on the pushed branch
// when the push created or deleted it or added or removed files: one tree
// listing now, and one at the commit before the push to learn which
// folders went.
func (r *repoPush) folders(ctx context.Context, res Result) (Result, error) {
	resources := r.p.Mapping.ResourcesFor(selector.KindFolder)
	if len(resources) == 0 {
		return res, nil
	}
	changed := r.created() || r.deleted() || r.pl.TotalCommitsCount > len(r.pl.Commits)
	for _, c := range r.pl.Commits {
		changed = changed || len(c.Added) > 0 || len(c.Removed) > 0
	}
	if !changed {
		return res, nil
	}
	for _, g := range crawl.GroupResources(resources) {
		if !crawl.FoldersOnBranch(r.repo, g.Options.Folders, r.branch) {
			continue
		}
		var now, was []map[string]any
		if !r.deleted() {
			entries, err := r.tree(ctx, r.branch)
			if err != nil {
				return Result{}, err
			}
			now = crawl.FolderObjects(r.repo, g.Options.Folders, r.branch, entries)
		}
		if !r.created() {
			entries, err := r.tree(ctx, r.pl.Before)
			if err != nil {
				return Result{}, err
			}
			was = crawl.FolderObjects(r.repo, g.Options.Folders, r.branch, entries)
		}
		var err error
		if res, err = r.diff(ctx, res, selector.KindFolder, g.Resources, now, was); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// branchEntity updates the pushed branch's entity, or deletes it when the
// push deleted the branch.
func (r *repoPush) branchEntity(ctx context.Context, res Result) (Result, error) {
	resources := r.p.Mapping.ResourcesFor(selector.KindBranch)
	for _, g := range crawl.GroupResources(resources) {
		o := g.Options
		if err := o.Compile(); err != nil {
			return Result{}, err
		}
		if !o.BranchSelected(r.branch, r.def) {
			continue
		}
		var err error
		if res, err = r.refEntity(ctx, res, selector.KindBranch, g.Resources, r.branch); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// tagEntity updates a pushed tag's entity, or deletes it.
func (r *repoPush) tagEntity(ctx context.Context, res Result, tag string) (Result, error) {
	resources := r.p.Mapping.ResourcesFor(selector.KindTag)
	if len(resources) == 0 {
		return res, nil
	}
	return r.refEntity(ctx, res, selector.KindTag, resources, tag)
}

// refEntity maps the branch or tag (kind) name as GitLab serves it now,
// or, when GitLab answers 404 for it (the push deleted it, or it went
// since), deletes the entities its name identifies.
func (r *repoPush) refEntity(ctx context.Context, res Result, kind string, resources []*mapping.Resource, name string) (Result, error) {
	// Read even when the push says it deleted the ref: GitLab's 404
	// confirms it (a forged payload can name any ref), and a ref pushed
	// again since is written as it is now.
	id, _ := r.project["id"].(float64)
	read, err := r.src.Object(ctx, crawl.ObjectRef{Kind: kind, Project: int64(id), Name: name, In: r.project}, nil)
	if gone(err) {
		// Deleted (by this push, or since): its entity goes.
		return r.deleteRef(ctx, res, resources, name), nil
	}
	if err != nil {
		return Result{}, classify(err)
	}
	return r.p.mapInto(ctx, res, kind, resources, read.Obj, r.version)
}

// deleteRef deletes the entities a branch or tag name identifies.
func (r *repoPush) deleteRef(ctx context.Context, res Result, resources []*mapping.Resource, name string) Result {
	obj := map[string]any{"name": name, "__project": crawl.ProjectInfo(r.project)}
	for _, rs := range resources {
		if k, err := rs.Identify(ctx, obj); err == nil {
			res.Changes.Deletes = append(res.Changes.Deletes, catalog.Deletion{Key: k, Version: r.version})
		}
	}
	return res
}

// skills re-reads the SKILL.md files the push touched on the default
// branch (the branch the skill kind reads): a file's skill now is
// upserted, the one it held before the push is deleted when gone.
func (r *repoPush) skills(ctx context.Context, res Result) (Result, error) {
	resources := r.p.Mapping.ResourcesFor(selector.KindSkill)
	if len(resources) == 0 || r.branch != r.def || r.deleted() {
		return res, nil
	}
	for _, g := range crawl.GroupResources(resources) {
		watch := crawl.SkillWatch(g.Options, r.repo)
		if watch == nil {
			continue
		}
		touched, err := r.touched(ctx, watch)
		if err != nil {
			return Result{}, err
		}
		for f := range touched {
			read := func(ref string) ([]map[string]any, error) { return r.src.SkillsAt(ctx, r.repo, g.Options, f, ref) }
			now, err := read(r.branch)
			if err != nil {
				return Result{}, classify(err)
			}
			var was []map[string]any
			if !r.created() {
				if was, err = read(r.pl.Before); err != nil {
					return Result{}, classify(err)
				}
			}
			if res, err = r.diff(ctx, res, selector.KindSkill, g.Resources, now, was); err != nil {
				return Result{}, err
			}
		}
	}
	return res, nil
}

// plugins rebuilds the project's plugin when the push touched a manifest
// or a directory-only provider's directory on the default branch: the
// plugin now is upserted, or deleted when the project packages none any
// more.
func (r *repoPush) plugins(ctx context.Context, res Result) (Result, error) {
	resources := r.p.Mapping.ResourcesFor(selector.KindPlugin)
	if len(resources) == 0 || r.branch != r.def || r.deleted() {
		return res, nil
	}
	for _, g := range crawl.GroupResources(resources) {
		watch := crawl.PluginWatch(g.Options, r.repo)
		if watch == nil {
			continue
		}
		touched, err := r.touched(ctx, watch)
		if err != nil {
			return Result{}, err
		}
		if len(touched) == 0 {
			continue
		}
		read := func(ref string) ([]map[string]any, error) {
			entries, err := r.tree(ctx, ref)
			if err != nil {
				return nil, err
			}
			objs, err := r.src.PluginAt(ctx, r.repo, g.Options, r.branch, ref, entries)
			if err != nil {
				return nil, classify(err)
			}
			return objs, nil
		}
		now, err := read(r.branch)
		if err != nil {
			return Result{}, err
		}
		var was []map[string]any
		if !r.created() {
			if was, err = read(r.pl.Before); err != nil {
				return Result{}, err
			}
		}
		if res, err = r.diff(ctx, res, selector.KindPlugin, g.Resources, now, was); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}
