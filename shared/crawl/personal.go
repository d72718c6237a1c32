package crawl

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// Personal namespaces. A project in a user's personal namespace
// (namespace.kind "user", path username/project) belongs to no group, so
// what glsync reads per root group (merge requests and issues of a
// non-admin token, group hooks) never reaches it. The project listing
// (GET /projects?membership=true) does include it; the rest goes through
// the token's personal projects, found as Ocean v2 finds them (PR #3420):
// GET /projects?owned=true&all_available=true, kept when namespace.kind is
// "user". An admin's collections are listed instance-wide and need none
// of this, but its own personal projects still get project hooks.

// PersonalProject is a project in a personal namespace of the token.
type PersonalProject struct {
	ID                int64
	PathWithNamespace string
}

// PersonalNamespace reports whether a project object (as GET /projects
// serves it) lives in a user's personal namespace.
func PersonalNamespace(project map[string]any) bool {
	ns, _ := project["namespace"].(map[string]any)
	return ns["kind"] == "user"
}

// PersonalProjects lists, once per Source, the projects in personal
// namespaces the token owns that its globs select (pending deletion left
// out).
func (s *Source) PersonalProjects(ctx context.Context) ([]PersonalProject, error) {
	s.personalMu.Lock()
	defer s.personalMu.Unlock()
	if s.personalOK {
		return s.personal, nil
	}
	q := url.Values{}
	q.Set("owned", "true")
	q.Set("all_available", "true")
	// Pages are read concurrently: in id order (which GET /projects
	// declares) a project created meanwhile lands on the last page
	// instead of shifting the others.
	q.Set("order_by", "id")
	q.Set("sort", "asc")
	var out []PersonalProject
	err := s.Client.ListOffset(ctx, "projects", q, func(p gitlab.Page) error {
		for _, pr := range p.Items {
			path, _ := pr["path_with_namespace"].(string)
			if !PersonalNamespace(pr) || path == "" || !s.Entry.MatchProject(path) || PendingDeletion(pr) {
				continue
			}
			out = append(out, PersonalProject{ID: int64(num(pr["id"])), PathWithNamespace: path})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("crawl: listing the token's personal projects: %w", err)
	}
	s.personal, s.personalOK = out, true
	return out, nil
}

// coversPersonal reports whether path is, or lies under, one of the
// token's personal projects.
func (s *Source) coversPersonal(ctx context.Context, path string) (bool, error) {
	ps, err := s.PersonalProjects(ctx)
	if err != nil {
		return false, err
	}
	for _, p := range ps {
		if path == p.PathWithNamespace || strings.HasPrefix(path, p.PathWithNamespace+"/") {
			return true, nil
		}
	}
	return false, nil
}

// perPersonalProject lists a collection of each of the token's personal
// projects: perRootGroup's complement for a non-admin token.
func (s *Source) perPersonalProject(ctx context.Context, collection string, q url.Values, fn func(gitlab.Page) error) error {
	ps, err := s.PersonalProjects(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := s.walkAll(ctx, fmt.Sprintf("projects/%d/%s", p.ID, collection), q, fn); err != nil {
			return fmt.Errorf("crawl: listing %s of project %s: %w", collection, p.PathWithNamespace, err)
		}
	}
	return nil
}
