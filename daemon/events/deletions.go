package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// A deletion event is a claim, not a fact: anyone who holds one hook's
// secret can send a project_destroy naming any project. So an event
// deletes an object only when
//   - the hook that delivered it covers the object (a group hook's group
//     is the object's namespace or an ancestor of it; the system hook
//     covers everything), and
//   - GitLab confirms it: the token that owns the object (the first whose
//     globs select it and whose groups hold it) gets 404 or 403 for it,
//     or sees it marked for deletion.
// Otherwise nothing is deleted (outcome NotDeleted) and the next resync
// decides.

// NotDeleted: a deletion event named an object its hook does not cover,
// or one GitLab still serves; nothing was deleted.
const NotDeleted Outcome = "not_deleted"

// errAlive is confirmGone's answer for an object GitLab still serves.
var errAlive = errors.New("GitLab still serves it")

// hookCovers reports whether the hook that delivered ev covers path (a
// project's path_with_namespace or a group's full_path).
func (p *Processor) hookCovers(ctx context.Context, ev *catalog.Event, path string) (bool, error) {
	if ev.Source == "project" {
		return p.projectHookCovers(ctx, ev.Scope, path)
	}
	if ev.Source != "group" {
		return true, nil // the system hook, or Ocean's single route without a group
	}
	id, err := strconv.ParseInt(ev.Scope, 10, 64)
	if err != nil || id == 0 {
		return false, nil
	}
	full, err := p.groupPath(ctx, id)
	if err != nil || full == "" {
		return false, err
	}
	return path == full || strings.HasPrefix(path, full+"/"), nil
}

// groupPath is the full_path of group id: from a token's root groups
// (where glsync's hooks are), else as GitLab serves it.
func (p *Processor) groupPath(ctx context.Context, id int64) (string, error) {
	for _, s := range p.sources() {
		roots, err := s.RootGroupObjects(ctx)
		if err != nil {
			return "", classify(err)
		}
		for _, r := range roots {
			if r.ID == id {
				return r.FullPath, nil
			}
		}
	}
	for _, s := range p.sources() {
		read, err := s.Object(ctx, crawl.ObjectRef{Kind: selector.KindGroup, Group: id}, nil)
		switch {
		case err == nil:
			full, _ := read.Obj["full_path"].(string)
			return full, nil
		case read.Refused():
			continue
		default:
			return "", classify(err)
		}
	}
	return "", nil
}

// confirmGone asks GitLab, with owner (the token that owns the object),
// for the object ref names: nil when it answers 404 or 403 or shows the
// object marked for deletion, errAlive when it serves it, a classified
// error otherwise.
func confirmGone(ctx context.Context, owner *crawl.Source, ref crawl.ObjectRef) error {
	read, err := owner.Object(ctx, ref, nil)
	switch {
	case read.Refused():
		return nil
	case err != nil:
		return classify(err)
	}
	if crawl.PendingDeletion(read.Obj) {
		return nil
	}
	api, _ := ref.APIPath()
	return fmt.Errorf("GET /%s: %w", api, errAlive)
}

// verifyDeletion checks that the event's hook covers path and that GitLab
// confirms the object ref names gone for owner; ok false comes with the
// result to return.
func (p *Processor) verifyDeletion(ctx context.Context, ev *catalog.Event, owner *crawl.Source, path string, ref crawl.ObjectRef) (Result, bool, error) {
	covers, err := p.hookCovers(ctx, ev, path)
	if err != nil {
		return Result{}, false, err
	}
	if !covers {
		return Result{Outcome: NotDeleted, Detail: fmt.Sprintf("the hook of group %s does not cover %s: nothing deleted", ev.Scope, path)}, false, nil
	}
	if owner == nil {
		return Result{}, true, nil // out of every token's scope: deleteObject says so
	}
	err = confirmGone(ctx, owner, ref)
	if errors.Is(err, errAlive) {
		return Result{Outcome: NotDeleted, Detail: fmt.Sprintf("%v: nothing deleted", err)}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	return Result{}, true, nil
}

// groupOwner is the first token whose globs select the group at fullPath
// and whose groups hold it.
func (p *Processor) groupOwner(ctx context.Context, fullPath string) *crawl.Source {
	return p.firstCovering(ctx, fullPath, func(s *crawl.Source) bool { return s.Entry.MatchGroup(fullPath) })
}

// projectHookCovers reports whether the hook of personal project id (see
// hooks.ProjectScope) covers path: the project itself, nothing else.
func (p *Processor) projectHookCovers(ctx context.Context, id, path string) (bool, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n == 0 {
		return false, nil
	}
	for _, s := range p.sources() {
		ps, err := s.PersonalProjects(ctx)
		if err != nil {
			return false, classify(err)
		}
		for _, pr := range ps {
			if pr.ID == n {
				return path == pr.PathWithNamespace || strings.HasPrefix(path, pr.PathWithNamespace+"/"), nil
			}
		}
	}
	return false, nil
}
