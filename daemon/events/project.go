package events

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// projectEvent handles a project's creation, change, rename, transfer or
// destruction (system hook, or a group hook's Project Hook): the project
// and project-with-members kinds.
func (p *Processor) projectEvent(ctx context.Context, ev *catalog.Event, pl payload) (Result, error) {
	name := pl.EventName
	if name == "" {
		name = pl.ObjectKind
	}
	oldPath := ""
	switch name {
	case "project_destroy":
		return p.deleteProject(ctx, ev, pl)
	case "project_rename", "project_transfer":
		oldPath = pl.OldPathWithNamespace
	}
	id, path := projectID(pl), projectPath(pl)
	res, obj, err := p.projectObj(ctx, id, path, oldPath)
	if err != nil {
		return Result{}, err
	}
	return p.projectMembers(ctx, res, id, path, oldPath, obj)
}

// projectObj is project, also returning the project as GitLab served it
// (nil when the mapping has no project kind or GitLab did not serve it).
func (p *Processor) projectObj(ctx context.Context, id int64, path, oldPath string) (Result, map[string]any, error) {
	resources := p.Mapping.ResourcesFor(selector.KindProject)
	if len(resources) == 0 {
		return Result{Outcome: NotMapped, Detail: "no project resource in the mapping"}, nil, nil
	}
	if id == 0 {
		return Result{}, nil, errors.New("events: payload has no project id")
	}
	var res Result
	res.Changes.Upserts = map[string][]*catalog.Entity{}
	// A rename or transfer leaves the old identifier behind.
	if oldPath != "" && oldPath != path {
		for _, r := range resources {
			if k, err := r.Identify(ctx, map[string]any{"id": float64(id), "path_with_namespace": oldPath}); err == nil {
				res.Changes.Deletes = append(res.Changes.Deletes, catalog.Deletion{Key: k, Version: p.now().UnixNano()})
			}
		}
	}
	sc, refused, err := p.projectByID(ctx, id)
	if err != nil {
		return Result{}, nil, err
	}
	version := sc.at.UnixNano()
	if fp, _ := sc.project["path_with_namespace"].(string); fp != "" {
		path = fp // GitLab's path now, whatever the payload said
	}
	if sc.project == nil && anyMatchProject(p.sources(), path) {
		return Result{Outcome: GitLabRefused, Detail: refused}, nil, nil
	}
	if sc.owner == nil {
		// Outside every glob: what we hold under its identifiers goes.
		if len(res.Changes.Deletes) == 0 {
			for _, r := range resources {
				if k, err := r.Identify(ctx, map[string]any{"id": float64(id), "path_with_namespace": path}); err == nil {
					res.Changes.Deletes = append(res.Changes.Deletes, catalog.Deletion{Key: k, Version: p.now().UnixNano()})
				}
			}
		}
		res.Outcome, res.Detail = OutOfScope, fmt.Sprintf("project %s matches no token's globs", path)
		return res, nil, nil
	}
	return p.mapProject(ctx, res, resources, sc, id, version, true)
}

// errNeedsReads is mapProject's answer, without reads allowed, for a
// project whose entity needs file:// or search:// values resolved.
var errNeedsReads = errors.New("the project's entity needs reads")

// mapProject maps the project sc read with the project kind's resources,
// with the same extras and references as a resync, so both write the
// same entity. Without reads, it maps only what needs no further request
// (errNeedsReads otherwise). sc has an owner: callers map only the
// projects a token's globs select.
func (p *Processor) mapProject(ctx context.Context, res Result, resources []*mapping.Resource, sc scoped, id, version int64, reads bool) (Result, map[string]any, error) {
	obj := sc.project
	if sc.owner != sc.reader && reads {
		// As the owning token sees it, as the resync lists it.
		read, err := sc.owner.Object(ctx, crawl.ObjectRef{Kind: selector.KindProject, Project: id}, p.get)
		if err != nil {
			return Result{}, nil, classify(err)
		}
		obj, version = read.Obj, read.At.UnixNano()
	}
	// The same extras and references as a resync, so both write the same
	// entity; each group of resources gets the extras its own selector
	// asks for.
	src := sc.owner
	refs := crawl.NewReferences()
	for _, g := range crawl.GroupResources(resources) {
		o, selected, err := src.ProjectAsListed(ctx, obj, g.Options, reads)
		if err != nil {
			return Result{}, nil, classify(err)
		}
		if !selected {
			// Archived (with includeOnlyActiveProjects) or pending
			// deletion: a resync would not list it.
			res = deselect(ctx, res, g.Resources, obj, version)
			continue
		}
		before := len(res.Changes.Upserts[selector.KindProject])
		if res, err = p.mapInto(ctx, res, selector.KindProject, g.Resources, o, version); err != nil {
			return res, nil, err
		}
		for _, e := range res.Changes.Upserts[selector.KindProject][before:] {
			if crawl.Has(e) && !reads {
				return Result{}, nil, errNeedsReads
			}
			if crawl.Has(e) {
				if err := refs.Resolve(ctx, src, o, e, string(g.Options.Generation)); err != nil {
					return Result{}, nil, classify(err)
				}
			}
		}
	}
	return res, obj, nil
}

// deleteProject handles project_destroy: the payload is all there is, so
// identifiers are computed from its fields (id, path_with_namespace, name,
// path), which the default mapping's identifier uses; it deletes the
// project's entities of the project and project-with-members kinds and
// those of what lived in it. GitLab reports a project destroyed after
// delayed deletion under its renamed path, "<path>-deleted-<id>": the
// suffix is stripped, as Ocean does (gitlab-v2/gitlab/webhook/
// webhook_processors/project_webhook_processor.py), but only that exact
// suffix, so "api-2024" stays "api-2024".
func (p *Processor) deleteProject(ctx context.Context, ev *catalog.Event, pl payload) (Result, error) {
	pid := projectID(pl)
	strip := func(s string) string { return strings.TrimSuffix(s, fmt.Sprintf("-deleted-%d", pid)) }
	path := strip(projectPath(pl))
	obj := map[string]any{"id": float64(pid), "path_with_namespace": path, "name": strip(pl.Name), "path": strip(pl.Path)}
	inScope := anyMatchProject(p.sources(), path)
	if res, ok, err := p.verifyDeletion(ctx, ev, p.owner(ctx, path), path, crawl.ObjectRef{Kind: selector.KindProject, Project: pid}); !ok {
		return res, err
	}
	var res Result
	if p.Entities != nil && pid != 0 {
		// What lived in the project (issues, pipelines, files…) goes too,
		// as the next resync would delete it.
		keys, err := p.Entities.ProjectKeys(ctx, pid)
		if err != nil {
			return Result{}, &TransientError{err}
		}
		for _, k := range keys {
			res.Changes.Deletes = append(res.Changes.Deletes, catalog.Deletion{Key: k, Version: ev.ReceivedAt.UnixNano()})
		}
		if len(keys) > 0 {
			res.Outcome = Applied
		}
	}
	for _, kind := range []string{selector.KindProject, selector.KindProjectWithMembers} {
		r, err := p.deleteObject(ctx, ev, kind, obj, inScope, path)
		if err != nil {
			return Result{}, err
		}
		if r.Outcome == Applied || res.Outcome == "" {
			res.Outcome, res.Detail = r.Outcome, r.Detail
		}
		res.Changes.Deletes = append(res.Changes.Deletes, r.Changes.Deletes...)
	}
	return res, nil
}

func anyMatchProject(sources []*crawl.Source, path string) bool {
	for _, s := range sources {
		if s.Entry.MatchProject(path) {
			return true
		}
	}
	return false
}
