package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

func (p *Processor) group(ctx context.Context, id int64, fullPath string) (Result, error) {
	resources := p.Mapping.ResourcesFor(selector.KindGroup)
	if len(resources) == 0 {
		return Result{Outcome: NotMapped, Detail: "no group resource in the mapping"}, nil
	}
	if id == 0 {
		return Result{}, errors.New("events: payload has no group id")
	}
	f, err := p.fetch(ctx, crawl.ObjectRef{Kind: selector.KindGroup, Group: id}, fullPath, func(s *crawl.Source) bool {
		return fullPath == "" || s.Entry.MatchGroup(fullPath)
	})
	if res, done, err := noObject(err, "group "+fullPath); done {
		return res, err
	}
	obj, version := f.obj, f.version
	// The token that read it must select it: the payload's path chose the
	// token, and a forged payload can name any path.
	if fp, _ := obj["full_path"].(string); fp != "" && !f.src.Entry.MatchGroup(fp) {
		return Result{Outcome: OutOfScope, Detail: fmt.Sprintf("group %s matches no token's globs", fp)}, nil
	}
	return p.mapInto(ctx, Result{Changes: catalog.Changes{Upserts: map[string][]*catalog.Entity{}}}, selector.KindGroup, resources, obj, version)
}

func anyMatchGroup(sources []*crawl.Source, fullPath string) bool {
	for _, s := range sources {
		if s.Entry.MatchGroup(fullPath) {
			return true
		}
	}
	return false
}

func (p *Processor) deleteGroup(ctx context.Context, ev *catalog.Event, pl payload) (Result, error) {
	obj := map[string]any{"id": float64(pl.GroupID), "full_path": pl.FullPath, "name": pl.Name, "path": pl.Path}
	if pl.ParentGroupID != 0 {
		obj["parent_id"] = float64(pl.ParentGroupID)
	}
	inScope := pl.FullPath == "" || anyMatchGroup(p.sources(), pl.FullPath)
	if len(p.Mapping.ResourcesFor(selector.KindGroup)) > 0 {
		if res, ok, err := p.verifyDeletion(ctx, ev, p.groupOwner(ctx, pl.FullPath), pl.FullPath, crawl.ObjectRef{Kind: selector.KindGroup, Group: pl.GroupID}); !ok {
			return res, err
		}
	}
	return p.deleteObject(ctx, ev, selector.KindGroup, obj, inScope, pl.FullPath)
}
