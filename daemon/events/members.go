package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// groupMembers re-reads a group's members after a membership event and
// updates both member kinds: group-with-members (the group with its
// members) and member (one entity per member; the removed user's entity
// goes unless the user is still listed, e.g. as an inherited member).
func (p *Processor) groupMembers(ctx context.Context, pl payload) (Result, error) {
	withMembers := p.Mapping.ResourcesFor(selector.KindGroupWithMembers)
	members := p.Mapping.ResourcesFor(selector.KindMember)
	var inherited []*mapping.Resource // project-with-members that list inherited members
	for _, r := range p.Mapping.ResourcesFor(selector.KindProjectWithMembers) {
		if r.Options.IncludeInheritedMembers {
			inherited = append(inherited, r)
		}
	}
	if len(withMembers) == 0 && len(members) == 0 && len(inherited) == 0 {
		return Result{Outcome: NotMapped, Detail: "no group-with-members or member resource in the mapping"}, nil
	}
	if pl.GroupID == 0 {
		return Result{}, errors.New("events: membership payload has no group id")
	}
	f, err := p.fetch(ctx, crawl.ObjectRef{Kind: selector.KindGroup, Group: pl.GroupID}, "", func(*crawl.Source) bool { return true })
	if res, done, err := noObject(err, "group "+strconv.FormatInt(pl.GroupID, 10)); done {
		return res, err
	}
	obj, version := f.obj, f.version
	fp, _ := obj["full_path"].(string)
	var src *crawl.Source
	for _, s := range p.sources() {
		if s.Entry.MatchGroup(fp) {
			if covers, err := s.Covers(ctx, fp); err == nil && covers {
				src = s
				break
			}
		}
	}
	if src == nil {
		return Result{Outcome: OutOfScope, Detail: fmt.Sprintf("group %s matches no token's globs", fp)}, nil
	}
	res := Result{Changes: catalog.Changes{Upserts: map[string][]*catalog.Entity{}}, Outcome: Applied}
	for _, g := range crawl.GroupResources(withMembers) {
		o, err := src.GroupWithMembers(ctx, obj, g.Options)
		if gone(err) {
			return vanished(err), nil
		}
		if err != nil {
			return Result{}, classify(err)
		}
		if res, err = p.mapInto(ctx, res, selector.KindGroupWithMembers, g.Resources, o, version); err != nil {
			return Result{}, err
		}
	}
	for _, g := range crawl.GroupResources(members) {
		now, err := src.GroupMemberObjects(ctx, obj, g.Options)
		if gone(err) {
			return vanished(err), nil
		}
		if err != nil {
			return Result{}, classify(err)
		}
		var was []map[string]any
		if pl.EventName == "user_remove_from_group" && pl.UserID != 0 {
			was = crawl.MemberObjects(obj, []any{map[string]any{"id": float64(pl.UserID), "username": pl.UserUsername, "name": pl.UserName}})
		}
		if res, err = p.diffInto(ctx, res, selector.KindMember, g.Resources, now, was, version); err != nil {
			return Result{}, err
		}
	}
	if len(inherited) > 0 {
		// The group's members are inherited by every project below it.
		if res, err = p.inheritedMembers(ctx, res, src, pl.GroupID, inherited); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// inheritedMembers re-reads, after a group's membership changed, the
// members of every project below the group for the project-with-members
// resources that list inherited members.
func (p *Processor) inheritedMembers(ctx context.Context, res Result, src *crawl.Source, groupID int64, resources []*mapping.Resource) (Result, error) {
	projects, err := src.ProjectsBelow(ctx, groupID)
	if err != nil {
		return Result{}, classify(err)
	}
	for _, pr := range projects {
		path, _ := pr["path_with_namespace"].(string)
		owner := p.owner(ctx, path)
		if owner == nil {
			continue
		}
		version := p.now().UnixNano()
		for _, g := range crawl.GroupResources(resources) {
			if !crawl.ActiveSelected(pr, g.Options.ActiveProjects) {
				continue
			}
			o, err := owner.ProjectWithMembers(ctx, pr, g.Options)
			if gone(err) {
				// Destroyed since the listing: its own event deletes it.
				continue
			}
			if err != nil {
				return Result{}, classify(err)
			}
			if res, err = p.mapInto(ctx, res, selector.KindProjectWithMembers, g.Resources, o, version); err != nil {
				return Result{}, err
			}
		}
	}
	return res, nil
}

// projectMembers updates the project-with-members kind after a project
// event: the project (obj, when the project kind already read it) with
// its members, when the kind's listing would list it (not archived under
// includeOnlyActiveProjects, not pending deletion); the old path's
// entities go on a rename or transfer, and the project's when it left
// every token's globs or the listing.
func (p *Processor) projectMembers(ctx context.Context, res Result, id int64, path, oldPath string, obj map[string]any) (Result, error) {
	resources := p.Mapping.ResourcesFor(selector.KindProjectWithMembers)
	if len(resources) == 0 {
		return res, nil
	}
	if res.Changes.Upserts == nil {
		res.Changes.Upserts = map[string][]*catalog.Entity{}
	}
	version := p.now().UnixNano()
	identify := func(at string) {
		for _, r := range resources {
			if k, err := r.Identify(ctx, map[string]any{"id": float64(id), "path_with_namespace": at}); err == nil {
				res.Changes.Deletes = append(res.Changes.Deletes, catalog.Deletion{Key: k, Version: version})
			}
		}
	}
	renamed := oldPath != "" && oldPath != path
	if obj == nil {
		f, err := p.fetch(ctx, crawl.ObjectRef{Kind: selector.KindProject, Project: id}, path, func(s *crawl.Source) bool { return s.Entry.MatchProject(path) })
		var te *TransientError
		var refused *refusedError
		switch {
		case errors.As(err, &te):
			return Result{}, err
		case errors.Is(err, errNoOwner):
			// Moved out of every glob: what we hold under its old path
			// (or its path) goes.
			if renamed {
				identify(oldPath)
			} else {
				identify(path)
			}
			if res.Outcome != Applied {
				res.Outcome, res.Detail = OutOfScope, fmt.Sprintf("project %s matches no token's globs", path)
			}
			return res, nil
		case errors.As(err, &refused):
			if res.Outcome != Applied {
				res.Outcome, res.Detail = GitLabRefused, err.Error()
			}
			return res, nil
		case err != nil:
			return Result{}, err
		}
		obj, version = f.obj, f.version
	}
	if renamed {
		identify(oldPath)
	}
	src := p.owner(ctx, path)
	if src == nil {
		return res, nil
	}
	for _, g := range crawl.GroupResources(resources) {
		if !g.Options.Selects(selector.KindProjectWithMembers, obj, obj) {
			// Archived (with includeOnlyActiveProjects) or pending
			// deletion: a resync would not list it, and would delete
			// what the catalog holds of it (as mapProject does).
			res = deselect(ctx, res, g.Resources, obj, version)
			continue
		}
		o, err := src.ProjectWithMembers(ctx, obj, g.Options)
		if gone(err) && res.Outcome != Applied {
			return vanished(err), nil
		}
		if gone(err) {
			return res, nil
		}
		if err != nil {
			return Result{}, classify(err)
		}
		if res, err = p.mapInto(ctx, res, selector.KindProjectWithMembers, g.Resources, o, version); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}
