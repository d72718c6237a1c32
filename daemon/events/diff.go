package events

import (
	"context"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
)

// diffInto maps the objects GitLab holds now (upserted, or deleted when
// the selector no longer selects them) and deletes the entities of the
// objects it held before the event (was) that are not produced now.
func (p *Processor) diffInto(ctx context.Context, res Result, kind string, resources []*mapping.Resource, now, was []map[string]any, version int64) (Result, error) {
	start := len(res.Changes.Upserts[kind])
	for _, o := range now {
		var err error
		if res, err = p.mapInto(ctx, res, kind, resources, o, version); err != nil {
			return Result{}, err
		}
	}
	var gone []catalog.Key
	for _, o := range was {
		for _, rs := range resources {
			if k, err := rs.Identify(ctx, o); err == nil {
				gone = append(gone, k)
			}
		}
	}
	return deleteGone(res, res.Changes.Upserts[kind][start:], gone, version), nil
}

// deleteGone deletes the keys of was that none of the entities in now
// carries: what an object or file produced before and produces no more.
func deleteGone(res Result, now []*catalog.Entity, was []catalog.Key, version int64) Result {
	still := map[catalog.Key]bool{}
	for _, e := range now {
		still[e.Key()] = true
	}
	for _, k := range was {
		if !still[k] {
			res.Changes.Deletes = append(res.Changes.Deletes, catalog.Deletion{Key: k, Version: version})
		}
	}
	return res
}

// mapInto maps obj with every resource of kind: selected objects are
// upserted, unselected ones deleted (the selector stopped matching).
func (p *Processor) mapInto(ctx context.Context, res Result, kind string, resources []*mapping.Resource, obj map[string]any, version int64) (Result, error) {
	for _, r := range resources {
		ents, selected, err := r.MapAll(ctx, obj)
		if err != nil {
			return Result{}, err
		}
		ents = withoutSearch(ents)
		for _, e := range ents {
			e.Project = crawl.ObjectProject(kind, obj)
		}
		if selected && len(ents) != 1 {
			// itemsToParse: every item is upserted (no per-item deletion)
			for _, e := range ents {
				e.Version = version
				res.Changes.Upserts[kind] = append(res.Changes.Upserts[kind], e)
			}
			continue
		}
		var e *catalog.Entity
		if selected {
			e = ents[0]
		}
		// The selector's listing options decide as a resync would: the
		// state, and the updatedAfter window.
		if selected && crawl.StateListed(r, kind, obj) {
			e.Version = version
			res.Changes.Upserts[kind] = append(res.Changes.Upserts[kind], e)
			continue
		}
		if k, err := r.Identify(ctx, obj); err == nil {
			res.Changes.Deletes = append(res.Changes.Deletes, catalog.Deletion{Key: k, Version: version})
		}
	}
	res.Outcome = Applied
	return res, nil
}

func (p *Processor) deleteObject(ctx context.Context, ev *catalog.Event, kind string, obj map[string]any, inScope bool, path string) (Result, error) {
	resources := p.Mapping.ResourcesFor(kind)
	if len(resources) == 0 {
		return Result{Outcome: NotMapped, Detail: "no " + kind + " resource in the mapping"}, nil
	}
	if !inScope {
		return Result{Outcome: OutOfScope, Detail: fmt.Sprintf("%s %s matches no token's globs", kind, path)}, nil
	}
	var res Result
	for _, r := range resources {
		k, err := r.Identify(ctx, obj)
		if err != nil {
			return Result{}, fmt.Errorf("events: %s deletion: the mapping's identifier needs fields the deletion payload does not have: %w", kind, err)
		}
		res.Changes.Deletes = append(res.Changes.Deletes, catalog.Deletion{Key: k, Version: ev.ReceivedAt.UnixNano()})
	}
	res.Outcome = Applied
	return res, nil
}

// deselect deletes the entities resources give obj, an object their
// selector no longer selects: a resync would not list it, and its stale
// deletion would remove what the catalog holds of it.
func deselect(ctx context.Context, res Result, resources []*mapping.Resource, obj map[string]any, version int64) Result {
	for _, r := range resources {
		if k, err := r.Identify(ctx, obj); err == nil {
			res.Changes.Deletes = append(res.Changes.Deletes, catalog.Deletion{Key: k, Version: version})
		}
	}
	res.Outcome = Applied
	return res
}
