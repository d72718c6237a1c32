package crawl

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// One object at a time. A webhook event names one object; it is read
// here, as GitLab serves it now, and given what a resync's listing of
// its kind gives it (__project, __members, the project selector's
// extras), so that the event writes the entity the next resync would.
// The event handlers (daemon/events) decide which token reads and what
// to write or delete; how GitLab is asked is this package's.

// ObjectRef names one GitLab object the way an event names it.
type ObjectRef struct {
	// Kind is a selector kind: project, group, issue, merge-request,
	// pipeline, job, release, deployment, branch or tag.
	Kind string
	// Project is the project's id: the project kind's own, or the
	// project a project's object lives in.
	Project int64
	// ProjectPath names the project kind's object by its path with
	// namespace (or its id as text) when Project is 0 (an action run's
	// project, named as the user wrote it). Neither set names project 0,
	// which GitLab answers 404.
	ProjectPath string
	// Group is the group kind's id.
	Group int64
	// ID is an issue's or merge request's iid, or a pipeline's, job's or
	// deployment's id.
	ID int64
	// Name is a release's tag, or a branch's or tag's name.
	Name string
	// In is the project a project's object lives in, as GET
	// /projects/:id serves it: the object is given the __project a
	// listing of its kind gives (none for issues and merge requests,
	// which are listed per group).
	In map[string]any
}

// APIPath is where GitLab's REST API serves the object.
func (r ObjectRef) APIPath() (string, error) {
	project := "projects/" + strconv.FormatInt(r.Project, 10)
	switch r.Kind {
	case selector.KindProject:
		if r.Project == 0 && r.ProjectPath != "" {
			return "projects/" + gitlab.PathEscape(r.ProjectPath), nil
		}
		return project, nil
	case selector.KindGroup:
		return "groups/" + strconv.FormatInt(r.Group, 10), nil
	case selector.KindIssue:
		return fmt.Sprintf("%s/issues/%d", project, r.ID), nil
	case selector.KindMergeRequest:
		return fmt.Sprintf("%s/merge_requests/%d", project, r.ID), nil
	case selector.KindPipeline, selector.KindJob, selector.KindDeployment:
		return fmt.Sprintf("%s/%s/%d", project, childPath[r.Kind], r.ID), nil
	case selector.KindRelease, selector.KindBranch, selector.KindTag:
		return project + "/" + childPath[r.Kind] + "/" + url.PathEscape(r.Name), nil
	}
	return "", fmt.Errorf("crawl: no single-object read for kind %q", r.Kind)
}

// Getter GETs path with client c into out, telling GitLab's status and
// when the answering request was sent. Object takes one so that an event
// handler can reuse an answer GitLab gave since the event arrived
// (daemon/events' coalescing) instead of asking again.
type Getter func(ctx context.Context, c *gitlab.Client, path string, out any) (status int, at time.Time, err error)

// Read is one object as GitLab answered for it.
type Read struct {
	Obj map[string]any
	// At is when the request was sent: the version of what is mapped
	// from the answer.
	At time.Time
	// Status is GitLab's answer status, 0 when none came. A 403 or 404
	// comes with an error too (see Refused).
	Status int
}

// Refused reports whether GitLab answered 403 or 404: the token may not
// see the object, or it is not there.
func (r Read) Refused() bool {
	return r.Status == http.StatusNotFound || r.Status == http.StatusForbidden
}

// Object reads the object ref names with s's token, through get (a plain
// GET with s's client when nil), and gives it the __project its kind's
// listing gives (see ObjectRef.In).
func (s *Source) Object(ctx context.Context, ref ObjectRef, get Getter) (Read, error) {
	path, err := ref.APIPath()
	if err != nil {
		return Read{}, err
	}
	if get == nil {
		get = plainGet
	}
	var obj map[string]any
	status, at, err := get(ctx, s.Client, path, &obj)
	read := Read{Obj: obj, At: at, Status: status}
	if err != nil {
		return read, err
	}
	if obj != nil && ref.In != nil {
		if p := childProject(ref.Kind, ref.In); p != nil {
			obj["__project"] = p
		}
	}
	return read, nil
}

// plainGet is Object's Getter without an event's reuse of answers.
func plainGet(ctx context.Context, c *gitlab.Client, path string, out any) (int, time.Time, error) {
	at := time.Now()
	status, err := c.Do(ctx, http.MethodGet, path, nil, out)
	return status, at, err
}

// childProject is the __project a listing of kind gives its objects in
// project pr (see ProjectChildren), nil for the kinds listed without one.
func childProject(kind string, pr map[string]any) map[string]any {
	switch kind {
	case selector.KindProject, selector.KindGroup, selector.KindIssue, selector.KindMergeRequest:
		return nil
	case selector.KindDeployment:
		return ProjectRef(pr)
	}
	return ProjectInfo(pr)
}

// StateListed reports whether resource r's own listing keeps obj, an
// object of kind, by its state and updatedAfter window (merge requests
// and issues; other kinds have neither): an object r's selector maps is
// still left out when its listing would not return it.
func StateListed(r Resource, kind string, obj map[string]any) bool {
	switch o := FromSelector(r); kind {
	case selector.KindMergeRequest:
		return o.MergeRequestSelected(obj)
	case selector.KindIssue:
		return o.IssueSelected(obj)
	}
	return true
}

// ProjectAsListed is project pr, as GET /projects/:id served it, the way
// a project listing with options o gives it: selected false when the
// listing leaves it out (archived with includeOnlyActiveProjects, or
// pending deletion); otherwise a copy with the selector's extras
// (languages, labels, included files, search queries) when enrich is set,
// as it is when enrich is not (a caller that may make no request; see
// EnrichReads).
func (s *Source) ProjectAsListed(ctx context.Context, pr map[string]any, o Options, enrich bool) (map[string]any, bool, error) {
	if !o.Selects(selector.KindProject, pr, pr) {
		return nil, false, nil
	}
	cp := maps.Clone(pr) // enrich adds top-level fields only
	if enrich {
		if err := s.enrich(ctx, cp, o); err != nil {
			return nil, true, err
		}
	}
	return cp, true, nil
}

// GroupWithMembers is group (as GET /groups/:id serves it) the way the
// group-with-members listing gives it: a copy with its members under
// "__members".
func (s *Source) GroupWithMembers(ctx context.Context, group map[string]any, o Options) (map[string]any, error) {
	members, err := s.membersOf(ctx, group, o)
	if err != nil {
		return nil, err
	}
	g := maps.Clone(group)
	g["__members"] = memberRows(o, members)
	return g, nil
}

// GroupMemberObjects are the member kind's objects for group as its
// listing gives them: one per member, the group under "__group".
func (s *Source) GroupMemberObjects(ctx context.Context, group map[string]any, o Options) ([]map[string]any, error) {
	members, err := s.membersOf(ctx, group, o)
	if err != nil {
		return nil, err
	}
	return MemberObjects(group, members), nil
}

// ProjectsBelow lists the projects in group id and its subgroups (not
// those shared with it) that a resync would list, leaving out those
// pending deletion: those whose inherited members a change of the
// group's membership changes.
func (s *Source) ProjectsBelow(ctx context.Context, id int64) ([]map[string]any, error) {
	q := url.Values{}
	q.Set("include_subgroups", "true")
	q.Set("with_shared", "false")
	// Pages are read concurrently: in id order (which the group's project
	// listing declares) a project created meanwhile lands on the last
	// page instead of shifting the others.
	q.Set("order_by", "id")
	q.Set("sort", "asc")
	var projects []map[string]any
	err := s.Client.ListOffset(ctx, fmt.Sprintf("groups/%d/projects", id), q, func(pg gitlab.Page) error {
		for _, pr := range pg.Items {
			if !PendingDeletion(pr) {
				projects = append(projects, pr)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return projects, nil
}
