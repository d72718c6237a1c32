// Package events turns a queued GitLab webhook delivery into catalog
// changes. Payloads are used to route (which object, which kind, which
// token); the object itself is read through the crawler
// (crawl.Source.Object and its kin), with the token that owns it, as a
// resync lists it, so the entity written is the same the resync would
// write, never a half entity built from a payload's partial fields. This
// package routes (processor.go), decides scope (scope.go, deletions.go)
// and diffs what GitLab holds now against what the catalog holds
// (diff.go); it builds no GitLab path of its own. The files follow the
// object families: project.go, group.go, members.go, children.go (the
// objects in a project), push.go (pushes and the repository kinds).
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
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
		return p.child(ctx, pl, crawl.ObjectRef{Kind: selector.KindIssue, ID: pl.ObjectAttributes.IID}, pl.ObjectAttributes.IID != 0)
	case "Pipeline Hook":
		return p.child(ctx, pl, crawl.ObjectRef{Kind: selector.KindPipeline, ID: pl.ObjectAttributes.ID}, pl.ObjectAttributes.ID != 0)
	case "Job Hook":
		return p.child(ctx, pl, crawl.ObjectRef{Kind: selector.KindJob, ID: pl.BuildID}, pl.BuildID != 0)
	case "Release Hook":
		if pl.Action == "delete" {
			return p.deleteRelease(ctx, ev, pl)
		}
		tag, _ := pl.Tag.(string)
		return p.child(ctx, pl, crawl.ObjectRef{Kind: selector.KindRelease, Name: tag}, tag != "")
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
