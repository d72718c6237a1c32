package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// ErrNotSelected is returned by ProjectOwner for a project GitLab serves
// but no token mapping's globs select.
var ErrNotSelected = errors.New("no token mapping selects the project")

// ErrProjectNotFound is returned by ProjectOwner when GitLab answers 404
// or 403 to every token.
var ErrProjectNotFound = errors.New("no token can read the project")

// OwnedProject is a project resolved for a write made on a user's
// behalf (a Port action run), and the token to make it with.
type OwnedProject struct {
	ID   int64
	Path string
	// Owner is the source whose token owns the project: the same one
	// events and resyncs use for it (first in tokenMapping order whose
	// globs select it and whose groups hold it).
	Owner *crawl.Source
}

// ProjectOwner resolves ref (a path with namespace or a numeric id) as
// GitLab serves it now, read with the first token GitLab lets read it,
// and picks the token that owns the path GitLab served, as event routing
// does: a write never goes out with a token whose globs exclude the
// project, even when that token could reach it.
func (p *Processor) ProjectOwner(ctx context.Context, ref string) (OwnedProject, error) {
	read, src, refused, err := p.firstReader(ctx, crawl.ObjectRef{Kind: selector.KindProject, ProjectPath: ref}, nil)
	switch {
	case err != nil:
		return OwnedProject{}, err
	case src == nil:
		return OwnedProject{}, fmt.Errorf("project %s: %w (%v)", ref, ErrProjectNotFound, refused)
	}
	id, _ := read.Obj["id"].(float64)
	path, _ := read.Obj["path_with_namespace"].(string)
	owner := p.owner(ctx, path)
	if owner == nil {
		return OwnedProject{ID: int64(id), Path: path},
			fmt.Errorf("project %s (id %d): %w (add its path to a token's globs in tokenMapping)", path, int64(id), ErrNotSelected)
	}
	return OwnedProject{ID: int64(id), Path: path, Owner: owner}, nil
}

// LikelyOwner is the source whose token would trigger work on project ref
// without asking GitLab: the first in tokenMapping order whose globs
// select ref as written, else the first (a numeric id). ProjectOwner
// decides; this only tells whose rate limit to look at beforehand.
func (p *Processor) LikelyOwner(ref string) *crawl.Source {
	srcs := p.sources()
	for _, s := range srcs {
		if s.Entry.MatchProject(ref) {
			return s
		}
	}
	if len(srcs) == 0 {
		return nil
	}
	return srcs[0]
}
