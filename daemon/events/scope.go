package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// Scope is decided by what GitLab serves, never by the payload: a
// delivery can be late, and the project can have moved since. An object
// in a project is read after its project, whose path (as GitLab has it
// now) picks the token and decides whether the globs select it, as a
// resync would.

// scoped is a project as GitLab serves it now, and the source that owns
// it (nil when no token's globs select it).
type scoped struct {
	project map[string]any
	owner   *crawl.Source
	// reader read the project; it reads the object of an out-of-scope
	// project too, to delete what the catalog holds of it.
	reader *crawl.Source
	// at is when the request that read the project was sent.
	at time.Time
}

// projectByID reads project id with the first token (in tokenMapping
// order) GitLab lets read it, then picks its owner by the path GitLab
// served: the first token whose globs select it and whose groups hold it.
// A nil project (and a nil error) means every token was refused.
func (p *Processor) projectByID(ctx context.Context, id int64) (scoped, string, error) {
	read, src, refused, err := p.firstReader(ctx, crawl.ObjectRef{Kind: selector.KindProject, Project: id}, p.get)
	switch {
	case err != nil:
		return scoped{}, "", err
	case src == nil:
		return scoped{}, fmt.Sprintf("GET /projects/%d refused (%v)", id, refused), nil
	}
	path, _ := read.Obj["path_with_namespace"].(string)
	return scoped{project: read.Obj, reader: src, owner: p.owner(ctx, path), at: read.At}, "", nil
}

// firstReader reads the object ref names with the first token, in
// tokenMapping order, that GitLab lets read it, through get (see
// crawl.Source.Object): the read and that token's source, or, when every
// token got 403 or 404, a nil source and what each got ("token glpat-…:
// 404", masked).
func (p *Processor) firstReader(ctx context.Context, ref crawl.ObjectRef, get crawl.Getter) (crawl.Read, *crawl.Source, []string, error) {
	var refused []string
	for _, src := range p.sources() {
		read, err := src.Object(ctx, ref, get)
		switch {
		case err == nil:
			return read, src, nil, nil
		case read.Refused():
			refused = append(refused, fmt.Sprintf("token %s: %d", src.Client.Masked, read.Status))
		default:
			return crawl.Read{}, nil, nil, classify(err)
		}
	}
	return crawl.Read{}, nil, refused, nil
}

// inProject handles an event for the object ref names in its project
// (ref.Project): the project and the object are read, the object as a
// resync lists it, and upserted when the selector and the listing's
// filters select it, else its entity deleted.
func (p *Processor) inProject(ctx context.Context, ref crawl.ObjectRef) (Result, error) {
	kind, pid := ref.Kind, ref.Project
	resources := p.Mapping.ResourcesFor(kind)
	if len(resources) == 0 {
		return Result{Outcome: NotMapped, Detail: "no " + kind + " resource in the mapping"}, nil
	}
	sc, refused, err := p.projectByID(ctx, pid)
	if err != nil {
		return Result{}, err
	}
	if sc.project == nil {
		return Result{Outcome: GitLabRefused, Detail: refused}, nil
	}
	path, _ := sc.project["path_with_namespace"].(string)
	reader := sc.owner
	if reader == nil {
		reader = sc.reader
	}
	ref.In = sc.project
	read, err := reader.Object(ctx, ref, p.get)
	obj, version := read.Obj, read.At.UnixNano()
	switch {
	case read.Refused():
		api, _ := ref.APIPath()
		return Result{Outcome: GitLabRefused, Detail: fmt.Sprintf("GET /%s: %d", api, read.Status)}, nil
	case err != nil:
		return Result{}, classify(err)
	}
	res := Result{Changes: catalog.Changes{Upserts: map[string][]*catalog.Entity{}}}
	if sc.owner == nil {
		// Outside every glob now: what the catalog holds of it goes.
		for _, r := range resources {
			if k, err := r.Identify(ctx, obj); err == nil {
				res.Changes.Deletes = append(res.Changes.Deletes, catalog.Deletion{Key: k, Version: version})
			}
		}
		res.Outcome, res.Detail = OutOfScope, fmt.Sprintf("project %s matches no token's globs", path)
		return res, nil
	}
	if res, err = p.mapSelected(ctx, res, kind, resources, obj, crawl.ProjectRef(sc.project), version); err != nil {
		return Result{}, err
	}
	return p.refreshProject(ctx, res, sc, pid), nil
}

// refreshProject adds the project of a child event (a merge request, an
// issue, a pipeline…) to its changes, mapped from the answer the event
// already read, when that costs no further request. The activity that
// made the event also moved the project's last_activity_at, and GitLab
// sends no project event for it: without this the project entity would
// stay behind what a resync writes until the next resync.
func (p *Processor) refreshProject(ctx context.Context, res Result, sc scoped, pid int64) Result {
	resources := p.Mapping.ResourcesFor(selector.KindProject)
	if len(resources) == 0 || sc.owner == nil || sc.owner != sc.reader {
		return res
	}
	for _, g := range crawl.GroupResources(resources) {
		if g.Options.EnrichReads() {
			return res
		}
	}
	project, _, err := p.mapProject(ctx, Result{Changes: catalog.Changes{Upserts: map[string][]*catalog.Entity{}}}, resources, sc, pid, sc.at.UnixNano(), false)
	if err != nil {
		// Not mapped without reads (errNeedsReads) or a mapping error: the
		// project's own events and the resync write it.
		return res
	}
	if res.Changes.Upserts == nil {
		res.Changes.Upserts = map[string][]*catalog.Entity{}
	}
	res.Changes.Upserts[selector.KindProject] = append(res.Changes.Upserts[selector.KindProject], project.Changes.Upserts[selector.KindProject]...)
	res.Changes.Deletes = append(res.Changes.Deletes, project.Changes.Deletes...)
	return res
}

// mapSelected maps obj with every group of resources that shares listing
// options: upserted where those options and the selector select it
// (crawl.Options.Selects: what the resync lists), else its entity
// deleted.
func (p *Processor) mapSelected(ctx context.Context, res Result, kind string, resources []*mapping.Resource, obj, project map[string]any, version int64) (Result, error) {
	for _, g := range crawl.GroupResources(resources) {
		o := g.Options
		if err := o.Compile(); err != nil {
			return Result{}, err
		}
		if o.Selects(kind, obj, project) {
			var err error
			if res, err = p.mapInto(ctx, res, kind, g.Resources, obj, version); err != nil {
				return Result{}, err
			}
			continue
		}
		res = deselect(ctx, res, g.Resources, obj, version)
	}
	return res, nil
}

var errNoProject = errors.New("events: payload lacks the project id or the object's id")
