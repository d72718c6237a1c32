// Package events turns a queued GitLab webhook delivery into catalog
// changes. Payloads are used to route (which object, which kind, which
// token); the object itself is fetched from GitLab's REST API with the
// token that owns it, so the entity written is the same the resync would
// write, never a half entity built from a payload's partial fields.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// Outcome says what became of an event.
type Outcome string

// Outcomes.
const (
	// Applied: catalog changes were made (possibly none, if unchanged).
	Applied Outcome = "applied"
	// OutOfScope: the object is outside every token's globs.
	OutOfScope Outcome = "out_of_scope"
	// NotMapped: the mapping has no resource for the object's kind.
	NotMapped Outcome = "not_mapped"
	// Unhandled: an event glsync receives but does not act on.
	Unhandled Outcome = "unhandled"
	// GitLabRefused: GitLab answered 403 or 404 for the object; nothing
	// was written or deleted (a missing object is only deleted on a
	// deletion event or by a complete resync).
	GitLabRefused Outcome = "gitlab_refused"
)

// Processor handles events. Sources are the tokens in tokenMapping order;
// SetSources replaces them while events are being processed (token
// mappings added through the admin API).
type Processor struct {
	Sources []*crawl.Source
	Mapping *mapping.Config
	// Entities, when set, finds the entities of a project's objects, which
	// a project's destruction deletes.
	Entities interface {
		ProjectKeys(ctx context.Context, id int64) ([]catalog.Key, error)
		// Owners tells what owns stored entities: a GitOps spec file may
		// write only new entities and its own project's (FilterClaims).
		catalog.Owners
	}

	// CoalesceMargin is how long after an event's arrival a request must
	// have been sent for its answer to stand for the event's own fetch
	// (DefaultCoalesceMargin when 0; see coalesce.go).
	CoalesceMargin time.Duration
	// Coalesced counts fetches events did not make because a fresh
	// enough answer was at hand.
	Coalesced atomic.Int64

	mu          sync.RWMutex
	answersOnce sync.Once
	answers     *answers
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Result is the outcome of one event.
type Result struct {
	Outcome Outcome
	Changes catalog.Changes
	// Detail explains OutOfScope, GitLabRefused and Unhandled outcomes.
	Detail string
	// Failed lists the parts of the event that failed while the others
	// succeeded (Changes holds theirs); see parts.go.
	Failed []PartFailure
	// Refused are a spec file's claims on entities it may not write (see
	// catalog.FilterClaims): not written, logged.
	Refused []catalog.Refusal
}

// TransientError is a failure worth retrying (5xx, rate limits, network).
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// Handle works out the catalog changes of one event. A *TransientError
// means "try again later"; other errors are permanent (bad payload,
// mapping error).
func (p *Processor) Handle(ctx context.Context, ev *catalog.Event) (Result, error) {
	ctx = withArrival(ctx, ev.ReceivedAt)
	// One file:// cache for the event: a file its objects name many times
	// is read once (crawl.MaxFileRefs and MaxFileRefBytes bound each).
	ctx = crawl.WithReferences(ctx, crawl.NewReferences())
	var pl payload
	if err := json.Unmarshal(ev.Body, &pl); err != nil {
		return Result{}, fmt.Errorf("events: %s: malformed JSON: %w", ev.Type, err)
	}
	if ev.Attempts == 0 {
		// Only glsync marks parts to redo, on an event it rescheduled; a
		// delivery from the network that claims to is applied whole.
		pl.RetryParts = nil
	}
	name := pl.ObjectKind
	if name == "" {
		name = pl.EventName
	}
	switch ev.Type {
	case "Push Hook", "Tag Push Hook":
		return p.push(ctx, pl)
	case "Merge Request Hook":
		return p.mergeRequest(ctx, pl)
	case "Issue Hook", "Confidential Issue Hook":
		return p.child(ctx, selector.KindIssue, pl, fmt.Sprintf("issues/%d", pl.ObjectAttributes.IID), pl.ObjectAttributes.IID != 0)
	case "Pipeline Hook":
		return p.child(ctx, selector.KindPipeline, pl, fmt.Sprintf("pipelines/%d", pl.ObjectAttributes.ID), pl.ObjectAttributes.ID != 0)
	case "Job Hook":
		return p.child(ctx, selector.KindJob, pl, fmt.Sprintf("jobs/%d", pl.BuildID), pl.BuildID != 0)
	case "Release Hook":
		if pl.Action == "delete" {
			return p.deleteRelease(ctx, ev, pl)
		}
		tag, _ := pl.Tag.(string)
		return p.child(ctx, selector.KindRelease, pl, "releases/"+url.PathEscape(tag), tag != "")
	case "Member Hook":
		return p.groupMembers(ctx, pl)
	case "Project Hook":
		// Group hooks' project_events (GitLab 17.x): project_create and
		// project_destroy, as the system hook's.
		return p.projectEvent(ctx, ev, pl)
	case "Deployment Hook":
		return p.deployment(ctx, pl)
	case "Subgroup Hook":
		switch pl.EventName {
		case "subgroup_create":
			return p.group(ctx, pl.GroupID, pl.FullPath)
		case "subgroup_destroy":
			return p.deleteGroup(ctx, ev, pl)
		}
	case "System Hook":
		switch name {
		case "push", "tag_push":
			return p.push(ctx, pl)
		case "repository_update", "project_create", "project_update", "project_rename", "project_transfer", "project_destroy":
			return p.projectEvent(ctx, ev, pl)
		case "merge_request":
			return p.mergeRequest(ctx, pl)
		case "group_create", "group_rename":
			return p.group(ctx, pl.GroupID, pl.FullPath)
		case "group_destroy":
			return p.deleteGroup(ctx, ev, pl)
		case "user_add_to_group", "user_remove_from_group", "user_update_for_group":
			return p.groupMembers(ctx, pl)
		}
	}
	return Result{Outcome: Unhandled, Detail: fmt.Sprintf("%s %s: no catalog kind is updated by this event", ev.Type, name)}, nil
}

// child handles events of objects that live in a project (issues,
// pipelines, jobs, releases): fetch projects/:id/<sub> and map it.
func (p *Processor) child(ctx context.Context, kind string, pl payload, sub string, ok bool) (Result, error) {
	if len(p.Mapping.ResourcesFor(kind)) == 0 {
		return Result{Outcome: NotMapped, Detail: "no " + kind + " resource in the mapping"}, nil
	}
	pid := projectID(pl)
	if pid == 0 {
		pid = pl.ObjectAttributes.ProjectID
	}
	if pid == 0 || !ok {
		return Result{}, fmt.Errorf("%w (%s)", errNoProject, kind)
	}
	return p.inProject(ctx, kind, pid, sub)
}

// deleteRelease handles a Release Hook with action delete.
func (p *Processor) deleteRelease(ctx context.Context, ev *catalog.Event, pl payload) (Result, error) {
	path := projectPath(pl)
	tag, _ := pl.Tag.(string)
	obj := map[string]any{"tag_name": tag, "name": pl.Name, "__project": projectInfo(pl, projectID(pl), path)}
	if len(p.Mapping.ResourcesFor(selector.KindRelease)) > 0 {
		api := fmt.Sprintf("projects/%d/releases/%s", projectID(pl), url.PathEscape(tag))
		if res, ok, err := p.verifyDeletion(ctx, ev, p.owner(ctx, path), path, api); !ok {
			return res, err
		}
	}
	return p.deleteObject(ctx, ev, selector.KindRelease, obj, anyMatchProject(p.sources(), path), path)
}

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
	f, err := p.fetch(ctx, "groups/"+strconv.FormatInt(pl.GroupID, 10), "", func(*crawl.Source) bool { return true })
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
		list, err := src.MembersOf(ctx, obj, g.Options)
		if gone(err) {
			return vanished(err), nil
		}
		if err != nil {
			return Result{}, classify(err)
		}
		o := maps.Clone(obj)
		o["__members"] = crawl.MemberRows(g.Options, list)
		if res, err = p.mapInto(ctx, res, selector.KindGroupWithMembers, g.Resources, o, version); err != nil {
			return Result{}, err
		}
	}
	for _, g := range crawl.GroupResources(members) {
		list, err := src.MembersOf(ctx, obj, g.Options)
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
		if res, err = p.diffInto(ctx, res, selector.KindMember, g.Resources, crawl.MemberObjects(obj, list), was, version); err != nil {
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
	q := url.Values{}
	q.Set("include_subgroups", "true")
	q.Set("with_shared", "false")
	// Pages are read concurrently: in id order (which the group's project
	// listing declares) a project created meanwhile lands on the last
	// page instead of shifting the others.
	q.Set("order_by", "id")
	q.Set("sort", "asc")
	var projects []map[string]any
	err := src.Client.ListOffset(ctx, fmt.Sprintf("groups/%d/projects", groupID), q, func(pg gitlab.Page) error {
		projects = append(projects, pg.Items...)
		return nil
	})
	if err != nil {
		return Result{}, classify(err)
	}
	for _, pr := range projects {
		path, _ := pr["path_with_namespace"].(string)
		owner := p.owner(ctx, path)
		if owner == nil || crawl.PendingDeletion(pr) {
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

// SetSources replaces the tokens used from the next event on.
func (p *Processor) SetSources(sources []*crawl.Source) {
	p.mu.Lock()
	p.Sources = sources
	p.mu.Unlock()
}

// InFlightLimit is the sum of the tokens' in-flight bounds now (see
// gitlab.Client.InFlightLimit).
func (p *Processor) InFlightLimit() int {
	n := 0
	for _, src := range p.sources() {
		n += src.Client.InFlightLimit()
	}
	return n
}

// InvalidateGroups drops every token's cached group listing, so event
// routing learns new root groups (called after each resync).
func (p *Processor) InvalidateGroups() {
	for _, src := range p.sources() {
		src.InvalidateGroups()
	}
}

func (p *Processor) sources() []*crawl.Source {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.Sources
}

func (p *Processor) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

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

// fetch GETs path with the first token (in tokenMapping order) whose globs
// select the object and whose groups hold objPath. It fails with
// errNoOwner when no token qualifies, a *refusedError when every such
// token got 403/404, and a *TransientError for what a retry may fix.
func (p *Processor) fetch(ctx context.Context, path, objPath string, selects func(*crawl.Source) bool) (fetched, error) {
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
		var obj map[string]any
		status, at, err := p.get(ctx, src, path, &obj)
		switch {
		case err == nil:
			return fetched{obj: obj, version: at.UnixNano(), src: src}, nil
		case status == http.StatusNotFound || status == http.StatusForbidden:
			refused = append(refused, fmt.Sprintf("token %s: %d", src.Client.Masked, status))
			continue
		default:
			return fetched{}, classify(err)
		}
	}
	if !owners {
		return fetched{}, errNoOwner
	}
	return fetched{}, &refusedError{path: path, refused: refused}
}

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

// projectMembers updates the project-with-members kind after a project
// event: the project (obj, when the project kind already read it) with
// its members; the old path's entities go on a rename or transfer, and the
// project's when it left every token's globs.
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
		f, err := p.fetch(ctx, "projects/"+strconv.FormatInt(id, 10), path, func(s *crawl.Source) bool { return s.Entry.MatchProject(path) })
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

// deployment handles a Deployment Hook: the deployment as GitLab serves
// it, with its project under __project as the resync gives it, if the
// selector's filters list it; else its entity goes.
func (p *Processor) deployment(ctx context.Context, pl payload) (Result, error) {
	pid := projectID(pl)
	if pid == 0 || pl.DeploymentID == 0 {
		return Result{}, errors.New("events: deployment payload lacks the project id or the deployment id")
	}
	return p.inProject(ctx, selector.KindDeployment, pid, fmt.Sprintf("deployments/%d", pl.DeploymentID))
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
// (errNeedsReads otherwise).
func (p *Processor) mapProject(ctx context.Context, res Result, resources []*mapping.Resource, sc scoped, id, version int64, reads bool) (Result, map[string]any, error) {
	var err error
	obj := sc.project
	if sc.owner != sc.reader && reads {
		// As the owning token sees it, as the resync lists it.
		obj = nil
		_, at, err := p.get(ctx, sc.owner, "projects/"+strconv.FormatInt(id, 10), &obj)
		if err != nil {
			return Result{}, nil, classify(err)
		}
		version = at.UnixNano()
	}
	// The same extras and references as a resync, so both write the same
	// entity; each group of resources gets the extras its own selector
	// asks for.
	src := sc.owner
	refs := crawl.NewReferences()
	for _, g := range crawl.GroupResources(resources) {
		if !g.Options.Selects(selector.KindProject, obj, obj) {
			// Archived (with includeOnlyActiveProjects) or pending
			// deletion: a resync would not list it.
			for _, r := range g.Resources {
				if k, err := r.Identify(ctx, obj); err == nil {
					res.Changes.Deletes = append(res.Changes.Deletes, catalog.Deletion{Key: k, Version: version})
				}
			}
			res.Outcome = Applied
			continue
		}
		o := maps.Clone(obj) // Enrich adds top-level fields only
		if src != nil && reads {
			if err := src.Enrich(ctx, o, g.Options); err != nil {
				return Result{}, nil, classify(err)
			}
		}
		before := len(res.Changes.Upserts[selector.KindProject])
		if res, err = p.mapInto(ctx, res, selector.KindProject, g.Resources, o, version); err != nil {
			return res, nil, err
		}
		if src == nil {
			continue
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
		switch o := crawl.FromSelector(r); {
		case selected && kind == selector.KindMergeRequest:
			selected = o.MergeRequestSelected(obj)
		case selected && kind == selector.KindIssue:
			selected = o.IssueSelected(obj)
		}
		if selected {
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

func (p *Processor) mergeRequest(ctx context.Context, pl payload) (Result, error) {
	if len(p.Mapping.ResourcesFor(selector.KindMergeRequest)) == 0 {
		return Result{Outcome: NotMapped, Detail: "no merge-request resource in the mapping"}, nil
	}
	pid := pl.ObjectAttributes.TargetProjectID
	if pid == 0 {
		pid = projectID(pl)
	}
	if pid == 0 || pl.ObjectAttributes.IID == 0 {
		return Result{}, errors.New("events: merge request payload has no project id or iid")
	}
	return p.inProject(ctx, selector.KindMergeRequest, pid, fmt.Sprintf("merge_requests/%d", pl.ObjectAttributes.IID))
}

func (p *Processor) group(ctx context.Context, id int64, fullPath string) (Result, error) {
	resources := p.Mapping.ResourcesFor(selector.KindGroup)
	if len(resources) == 0 {
		return Result{Outcome: NotMapped, Detail: "no group resource in the mapping"}, nil
	}
	if id == 0 {
		return Result{}, errors.New("events: payload has no group id")
	}
	f, err := p.fetch(ctx, "groups/"+strconv.FormatInt(id, 10), fullPath, func(s *crawl.Source) bool {
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

func anyMatchGroup(sources []*crawl.Source, fullPath string) bool {
	for _, s := range sources {
		if s.Entry.MatchGroup(fullPath) {
			return true
		}
	}
	return false
}

// deleteProject handles project_destroy: the payload is all there is, so
// identifiers are computed from its fields (id, path_with_namespace, name,
// path), which the default mapping's identifier uses.
// deleteProject deletes a destroyed project's entities of the project and
// project-with-members kinds. GitLab reports a project destroyed after
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
	if res, ok, err := p.verifyDeletion(ctx, ev, p.owner(ctx, path), path, "projects/"+strconv.FormatInt(pid, 10)); !ok {
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

func (p *Processor) deleteGroup(ctx context.Context, ev *catalog.Event, pl payload) (Result, error) {
	obj := map[string]any{"id": float64(pl.GroupID), "full_path": pl.FullPath, "name": pl.Name, "path": pl.Path}
	if pl.ParentGroupID != 0 {
		obj["parent_id"] = float64(pl.ParentGroupID)
	}
	inScope := pl.FullPath == "" || anyMatchGroup(p.sources(), pl.FullPath)
	if len(p.Mapping.ResourcesFor(selector.KindGroup)) > 0 {
		if res, ok, err := p.verifyDeletion(ctx, ev, p.groupOwner(ctx, pl.FullPath), pl.FullPath, "groups/"+strconv.FormatInt(pl.GroupID, 10)); !ok {
			return res, err
		}
	}
	return p.deleteObject(ctx, ev, selector.KindGroup, obj, inScope, pl.FullPath)
}

func anyMatchProject(sources []*crawl.Source, path string) bool {
	for _, s := range sources {
		if s.Entry.MatchProject(path) {
			return true
		}
	}
	return false
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
