package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/crawl"
)

// fetched is an object as GitLab answered it.
type fetched struct {
	obj     map[string]any
	version int64 // when it was asked for (unix nanoseconds)
	src     *crawl.Source
}

// errNoOwner is fetch's answer when no token's globs and groups cover the
// object: it is out of scope, not missing.
var errNoOwner = errors.New("no token's globs cover it")

// refusedError is fetch's answer when every token covering the object got
// 403 or 404 from GitLab.
type refusedError struct {
	path    string
	refused []string // "token glpat-…: 404", masked
}

func (e *refusedError) Error() string { return fmt.Sprintf("GET /%s refused (%v)", e.path, e.refused) }

// fetch reads the object ref names with the first token (in tokenMapping
// order) whose globs select the object and whose groups hold objPath. It fails with
// errNoOwner when no token qualifies, a *refusedError when every such
// token got 403/404, and a *TransientError for what a retry may fix.
func (p *Processor) fetch(ctx context.Context, ref crawl.ObjectRef, objPath string, selects func(*crawl.Source) bool) (fetched, error) {
	var refused []string
	owners := false
	for _, src := range p.sources() {
		if !selects(src) {
			continue
		}
		if objPath != "" {
			covers, err := src.Covers(ctx, objPath)
			if err != nil {
				return fetched{}, classify(err)
			}
			if !covers {
				continue
			}
		}
		owners = true
		read, err := src.Object(ctx, ref, p.get)
		switch {
		case err == nil:
			return fetched{obj: read.Obj, version: read.At.UnixNano(), src: src}, nil
		case read.Refused():
			refused = append(refused, fmt.Sprintf("token %s: %d", src.Client.Masked, read.Status))
			continue
		default:
			return fetched{}, classify(err)
		}
	}
	if !owners {
		return fetched{}, errNoOwner
	}
	path, _ := ref.APIPath() // read above: it has a path
	return fetched{}, &refusedError{path: path, refused: refused}
}

// owner is the source whose token owns path: the first in tokenMapping
// order whose globs select it and whose groups hold it.
func (p *Processor) owner(ctx context.Context, path string) *crawl.Source {
	return p.firstCovering(ctx, path, func(s *crawl.Source) bool { return s.Entry.MatchProject(path) })
}

// firstCovering is the first source, in tokenMapping order, that selects
// and whose groups hold path.
func (p *Processor) firstCovering(ctx context.Context, path string, selects func(*crawl.Source) bool) *crawl.Source {
	for _, s := range p.sources() {
		if !selects(s) {
			continue
		}
		if ok, err := s.Covers(ctx, path); err == nil && ok {
			return s
		}
	}
	return nil
}

// noObject turns a fetch that produced no object into the event's result:
// a transient error goes back for a retry, the rest become outcomes.
func noObject(err error, what string) (Result, bool, error) {
	var te *TransientError
	var refused *refusedError
	switch {
	case err == nil:
		return Result{}, false, nil
	case errors.As(err, &te):
		return Result{}, true, err
	case errors.Is(err, errNoOwner):
		return Result{Outcome: OutOfScope, Detail: what + " matches no token's globs"}, true, nil
	case errors.As(err, &refused):
		return Result{Outcome: GitLabRefused, Detail: err.Error()}, true, nil
	}
	return Result{}, true, err
}
