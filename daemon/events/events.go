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
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
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

	mu sync.RWMutex
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Result is the outcome of one event.
type Result struct {
	Outcome Outcome
	Changes catalog.Changes
	// Detail explains OutOfScope, GitLabRefused and Unhandled outcomes.
	Detail string
}

// TransientError is a failure worth retrying (5xx, rate limits, network).
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// payload holds the routing fields of GitLab's payloads.
type payload struct {
	ObjectKind string `json:"object_kind"`
	EventName  string `json:"event_name"`
	ProjectID  int64  `json:"project_id"`
	Project    struct {
		ID                int64  `json:"id"`
		PathWithNamespace string `json:"path_with_namespace"`
		WebURL            string `json:"web_url"`
		Name              string `json:"name"`
	} `json:"project"`
	ObjectAttributes struct {
		ID              int64 `json:"id"`
		IID             int64 `json:"iid"`
		ProjectID       int64 `json:"project_id"`
		TargetProjectID int64 `json:"target_project_id"`
	} `json:"object_attributes"`
	BuildID int64  `json:"build_id"`
	Ref     string `json:"ref"`
	// Before and After are the ref's commits before and after a push (all
	// zeros for a ref created or deleted); Commits holds at most 20 of
	// TotalCommitsCount.
	Before            string `json:"before"`
	After             string `json:"after"`
	TotalCommitsCount int    `json:"total_commits_count"`
	Commits           []struct {
		Added    []string `json:"added"`
		Modified []string `json:"modified"`
		Removed  []string `json:"removed"`
	} `json:"commits"`
	Repository struct {
		Homepage string `json:"homepage"`
	} `json:"repository"`
	// Tag is the release's tag name; job payloads use the same key for a
	// boolean, so it is read loosely.
	Tag                  any    `json:"tag"`
	Action               string `json:"action"`
	GroupPath            string `json:"group_path"`
	UserID               int64  `json:"user_id"`
	UserUsername         string `json:"user_username"`
	UserName             string `json:"user_name"`
	PathWithNamespace    string `json:"path_with_namespace"`
	OldPathWithNamespace string `json:"old_path_with_namespace"`
	Name                 string `json:"name"`
	Path                 string `json:"path"`
	FullPath             string `json:"full_path"`
	GroupID              int64  `json:"group_id"`
	ParentGroupID        int64  `json:"parent_group_id"`
	OldFullPath          string `json:"old_full_path"`
}

// Handle works out the catalog changes of one event. A *TransientError
// means "try again later"; other errors are permanent (bad payload,
// mapping error).
func (p *Processor) Handle(ctx context.Context, ev *catalog.Event) (Result, error) {
	var pl payload
	if err := json.Unmarshal(ev.Body, &pl); err != nil {
		return Result{}, fmt.Errorf("events: %s: malformed JSON: %w", ev.Type, err)
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
		return p.child(ctx, crawl.KindIssue, pl, fmt.Sprintf("issues/%d", pl.ObjectAttributes.IID), pl.ObjectAttributes.IID != 0)
	case "Pipeline Hook":
		return p.child(ctx, crawl.KindPipeline, pl, fmt.Sprintf("pipelines/%d", pl.ObjectAttributes.ID), pl.ObjectAttributes.ID != 0)
	case "Job Hook":
		return p.child(ctx, crawl.KindJob, pl, fmt.Sprintf("jobs/%d", pl.BuildID), pl.BuildID != 0)
	case "Release Hook":
		if pl.Action == "delete" {
			return p.deleteRelease(ctx, ev, pl)
		}
		tag, _ := pl.Tag.(string)
		return p.child(ctx, crawl.KindRelease, pl, "releases/"+url.PathEscape(tag), tag != "")
	case "Member Hook":
		return p.groupMembers(ctx, pl)
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
		case "repository_update", "project_create", "project_update":
			return p.project(ctx, projectID(pl), projectPath(pl), "")
		case "project_rename", "project_transfer":
			return p.project(ctx, pl.ProjectID, pl.PathWithNamespace, pl.OldPathWithNamespace)
		case "project_destroy":
			return p.deleteProject(ctx, ev, pl)
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

func projectID(pl payload) int64 {
	if pl.ProjectID != 0 {
		return pl.ProjectID
	}
	return pl.Project.ID
}

func projectPath(pl payload) string {
	if pl.Project.PathWithNamespace != "" {
		return pl.Project.PathWithNamespace
	}
	if pl.PathWithNamespace != "" {
		return pl.PathWithNamespace
	}
	// Job payloads name the project only by its repository's home page.
	if u, err := url.Parse(pl.Repository.Homepage); err == nil && u.Path != "" {
		return strings.Trim(u.Path, "/")
	}
	return ""
}

// projectInfo is the "__project" the crawler adds to project children.
func projectInfo(pl payload, id int64, path string) map[string]any {
	web := pl.Project.WebURL
	if web == "" {
		web = pl.Repository.Homepage
	}
	return map[string]any{"id": float64(id), "path_with_namespace": path, "web_url": web, "name": pl.Project.Name}
}

// child handles events of objects that live in a project (issues,
// pipelines, jobs, releases): fetch projects/:id/<sub> and map it.
func (p *Processor) child(ctx context.Context, kind string, pl payload, sub string, ok bool) (Result, error) {
	resources := p.Mapping.ResourcesFor(kind)
	if len(resources) == 0 {
		return Result{Outcome: NotMapped, Detail: "no " + kind + " resource in the mapping"}, nil
	}
	pid := projectID(pl)
	if pid == 0 {
		pid = pl.ObjectAttributes.ProjectID
	}
	path := projectPath(pl)
	if pid == 0 || !ok {
		return Result{}, fmt.Errorf("events: %s payload lacks the project id or the object's id", kind)
	}
	obj, version, owners, found, err := p.fetch(ctx, fmt.Sprintf("projects/%d/%s", pid, sub), path,
		func(s *crawl.Source) bool { return s.Entry.MatchProject(path) })
	if res, done, err := noObject(err, owners, found, "project "+path); done {
		return res, err
	}
	if kind != crawl.KindIssue {
		obj["__project"] = projectInfo(pl, pid, path)
	}
	return p.mapInto(ctx, Result{Changes: catalog.Changes{Upserts: map[string][]*catalog.Entity{}}}, kind, resources, obj, version)
}

// deleteRelease handles a Release Hook with action delete.
func (p *Processor) deleteRelease(ctx context.Context, ev *catalog.Event, pl payload) (Result, error) {
	path := projectPath(pl)
	tag, _ := pl.Tag.(string)
	obj := map[string]any{"tag_name": tag, "name": pl.Name, "__project": projectInfo(pl, projectID(pl), path)}
	return p.deleteObject(ctx, ev, crawl.KindRelease, obj, anyMatchProject(p.sources(), path), path)
}

// groupMembers re-reads a group's members after a membership event and
// updates both member kinds: group-with-members (the group with its
// members) and member (one entity per member; the removed user's entity
// goes unless the user is still listed, e.g. as an inherited member).
func (p *Processor) groupMembers(ctx context.Context, pl payload) (Result, error) {
	withMembers := p.Mapping.ResourcesFor(crawl.KindGroupWithMembers)
	members := p.Mapping.ResourcesFor(crawl.KindMember)
	if len(withMembers) == 0 && len(members) == 0 {
		return Result{Outcome: NotMapped, Detail: "no group-with-members or member resource in the mapping"}, nil
	}
	if pl.GroupID == 0 {
		return Result{}, errors.New("events: membership payload has no group id")
	}
	obj, version, owners, found, err := p.fetch(ctx, "groups/"+strconv.FormatInt(pl.GroupID, 10), "", func(*crawl.Source) bool { return true })
	if res, done, err := noObject(err, owners, found, "group "+strconv.FormatInt(pl.GroupID, 10)); done {
		return res, err
	}
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
		if err != nil {
			return Result{}, &TransientError{err}
		}
		o := maps.Clone(obj)
		o["__members"] = crawl.MemberRows(g.Options, list)
		if res, err = p.mapInto(ctx, res, crawl.KindGroupWithMembers, g.Resources, o, version); err != nil {
			return Result{}, err
		}
	}
	for _, g := range crawl.GroupResources(members) {
		list, err := src.MembersOf(ctx, obj, g.Options)
		if err != nil {
			return Result{}, &TransientError{err}
		}
		var was []map[string]any
		if pl.EventName == "user_remove_from_group" && pl.UserID != 0 {
			was = crawl.MemberObjects(obj, []any{map[string]any{"id": float64(pl.UserID), "username": pl.UserUsername, "name": pl.UserName}})
		}
		if res, err = p.diffInto(ctx, res, crawl.KindMember, g.Resources, crawl.MemberObjects(obj, list), was, version); err != nil {
			return Result{}, err
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

// fetch GETs path with the first token (in tokenMapping order) whose globs
// select the object and whose groups hold objPath. found is false when
// every such token got 403/404; owners is false when no token qualifies.
func (p *Processor) fetch(ctx context.Context, path, objPath string, selects func(*crawl.Source) bool) (obj map[string]any, version int64, owners, found bool, err error) {
	var refused []string
	for _, src := range p.sources() {
		if !selects(src) {
			continue
		}
		if objPath != "" {
			covers, err := src.Covers(ctx, objPath)
			if err != nil {
				return nil, 0, true, false, &TransientError{err}
			}
			if !covers {
				continue
			}
		}
		owners = true
		start := p.now()
		status, err := src.Client.Do(ctx, http.MethodGet, path, nil, &obj)
		switch {
		case err == nil:
			return obj, start.UnixNano(), true, true, nil
		case status == http.StatusNotFound || status == http.StatusForbidden:
			refused = append(refused, fmt.Sprintf("token %s: %d", src.Client.Masked, status))
			continue
		default:
			return nil, 0, true, false, &TransientError{err}
		}
	}
	if len(refused) > 0 {
		return nil, 0, owners, false, fmt.Errorf("GET /%s refused (%v)", path, refused)
	}
	return nil, 0, owners, false, nil
}

func (p *Processor) project(ctx context.Context, id int64, path, oldPath string) (Result, error) {
	res, _, err := p.projectObj(ctx, id, path, oldPath)
	return res, err
}

// projectObj is project, also returning the project as GitLab served it
// (nil when the mapping has no project kind or GitLab did not serve it).
func (p *Processor) projectObj(ctx context.Context, id int64, path, oldPath string) (Result, map[string]any, error) {
	resources := p.Mapping.ResourcesFor(crawl.KindProject)
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
	obj, version, owners, found, err := p.fetch(ctx, "projects/"+strconv.FormatInt(id, 10), path, func(s *crawl.Source) bool { return s.Entry.MatchProject(path) })
	var te *TransientError
	switch {
	case errors.As(err, &te):
		return Result{}, nil, err
	case !owners:
		// Moved out of every glob: what we hold under its identifiers goes.
		if len(res.Changes.Deletes) == 0 {
			for _, r := range resources {
				if k, err := r.Identify(ctx, map[string]any{"id": float64(id), "path_with_namespace": path}); err == nil {
					res.Changes.Deletes = append(res.Changes.Deletes, catalog.Deletion{Key: k, Version: p.now().UnixNano()})
				}
			}
		}
		res.Outcome, res.Detail = OutOfScope, fmt.Sprintf("project %s matches no token's globs", path)
		return res, nil, nil
	case !found:
		return Result{Outcome: GitLabRefused, Detail: err.Error()}, nil, nil
	}
	// The same extras and references as a resync, so both write the same
	// entity; each group of resources gets the extras its own selector
	// asks for.
	src := p.owner(ctx, path)
	refs := crawl.NewReferences()
	for _, g := range crawl.GroupResources(resources) {
		o := maps.Clone(obj) // Enrich adds top-level fields only
		if src != nil {
			if err := src.Enrich(ctx, o, g.Options); err != nil {
				return Result{}, nil, &TransientError{err}
			}
		}
		before := len(res.Changes.Upserts[crawl.KindProject])
		if res, err = p.mapInto(ctx, res, crawl.KindProject, g.Resources, o, version); err != nil {
			return res, nil, err
		}
		if src == nil {
			continue
		}
		for _, e := range res.Changes.Upserts[crawl.KindProject][before:] {
			if crawl.Has(e) {
				if err := refs.Resolve(ctx, src, o, e, g.Options.Generation); err != nil {
					return Result{}, nil, &TransientError{err}
				}
			}
		}
	}
	return res, obj, nil
}

// owner is the source whose token owns path: the first in tokenMapping
// order whose globs select it and whose groups hold it.
func (p *Processor) owner(ctx context.Context, path string) *crawl.Source {
	for _, s := range p.sources() {
		if !s.Entry.MatchProject(path) {
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
		case selected && kind == crawl.KindMergeRequest:
			selected = o.MergeRequestSelected(obj)
		case selected && kind == crawl.KindIssue:
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
	resources := p.Mapping.ResourcesFor(crawl.KindMergeRequest)
	if len(resources) == 0 {
		return Result{Outcome: NotMapped, Detail: "no merge-request resource in the mapping"}, nil
	}
	pid := pl.ObjectAttributes.TargetProjectID
	if pid == 0 {
		pid = projectID(pl)
	}
	path := projectPath(pl)
	if pid == 0 || pl.ObjectAttributes.IID == 0 {
		return Result{}, errors.New("events: merge request payload has no project id or iid")
	}
	obj, version, owners, found, err := p.fetch(ctx, fmt.Sprintf("projects/%d/merge_requests/%d", pid, pl.ObjectAttributes.IID), path,
		func(s *crawl.Source) bool { return s.Entry.MatchProject(path) })
	if res, done, err := noObject(err, owners, found, "project "+path); done {
		return res, err
	}
	return p.mapInto(ctx, Result{Changes: catalog.Changes{Upserts: map[string][]*catalog.Entity{}}}, crawl.KindMergeRequest, resources, obj, version)
}

func (p *Processor) group(ctx context.Context, id int64, fullPath string) (Result, error) {
	resources := p.Mapping.ResourcesFor(crawl.KindGroup)
	if len(resources) == 0 {
		return Result{Outcome: NotMapped, Detail: "no group resource in the mapping"}, nil
	}
	if id == 0 {
		return Result{}, errors.New("events: payload has no group id")
	}
	obj, version, owners, found, err := p.fetch(ctx, "groups/"+strconv.FormatInt(id, 10), fullPath, func(s *crawl.Source) bool {
		return fullPath == "" || s.Entry.MatchGroup(fullPath)
	})
	if res, done, err := noObject(err, owners, found, "group "+fullPath); done {
		return res, err
	}
	if fp, _ := obj["full_path"].(string); fp != "" && !anyMatchGroup(p.sources(), fp) {
		return Result{Outcome: OutOfScope, Detail: fmt.Sprintf("group %s matches no token's globs", fp)}, nil
	}
	return p.mapInto(ctx, Result{Changes: catalog.Changes{Upserts: map[string][]*catalog.Entity{}}}, crawl.KindGroup, resources, obj, version)
}

// noObject turns a fetch that produced no object into the event's result:
// a transient error goes back for a retry, the rest become outcomes.
func noObject(err error, owners, found bool, what string) (Result, bool, error) {
	var te *TransientError
	switch {
	case errors.As(err, &te):
		return Result{}, true, err
	case !owners:
		return Result{Outcome: OutOfScope, Detail: what + " matches no token's globs"}, true, nil
	case !found:
		return Result{Outcome: GitLabRefused, Detail: err.Error()}, true, nil
	}
	return Result{}, false, nil
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
func (p *Processor) deleteProject(ctx context.Context, ev *catalog.Event, pl payload) (Result, error) {
	obj := map[string]any{"id": float64(pl.ProjectID), "path_with_namespace": pl.PathWithNamespace, "name": pl.Name, "path": pl.Path}
	return p.deleteObject(ctx, ev, crawl.KindProject, obj, anyMatchProject(p.sources(), pl.PathWithNamespace), pl.PathWithNamespace)
}

func (p *Processor) deleteGroup(ctx context.Context, ev *catalog.Event, pl payload) (Result, error) {
	obj := map[string]any{"id": float64(pl.GroupID), "full_path": pl.FullPath, "name": pl.Name, "path": pl.Path}
	if pl.ParentGroupID != 0 {
		obj["parent_id"] = float64(pl.ParentGroupID)
	}
	inScope := pl.FullPath == "" || anyMatchGroup(p.sources(), pl.FullPath)
	return p.deleteObject(ctx, ev, crawl.KindGroup, obj, inScope, pl.FullPath)
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
