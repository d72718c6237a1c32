package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Browser is what the daemon's console reads from a store: counts per
// blueprint, pages of entities found by identifier or title, one entity
// with where it came from, and the latest outcomes of webhook deliveries.
// Both stores implement it, in their Port-mirror role as well, so the
// console reads the same in every catalog mode.
type Browser interface {
	// BlueprintCounts is how many entities each blueprint holds.
	BlueprintCounts(ctx context.Context) (map[string]int, error)
	// Page lists entities in List's order (blueprint, then identifier,
	// bytewise), at most q.PageLimit() of them, starting after q.After;
	// Next is set when more follow. Search folds the case of ASCII
	// letters in every store (PostgreSQL folds other letters too,
	// SQLite's LIKE does not). A search matching less than a page tests
	// every entity after After: linear in the catalog (BENCHMARKS.md).
	Page(ctx context.Context, q PageQuery) (EntityPage, error)
	// Entity reads one entity and its provenance; ok is false when the
	// store does not hold it.
	Entity(ctx context.Context, k Key) (e *Entity, p Provenance, ok bool, err error)
	// RecentDeliveries lists the latest delivery outcomes, newest first
	// (at most limit).
	RecentDeliveries(ctx context.Context, limit int) ([]DeliveryRecord, error)
}

// PageQuery selects a page of entities.
type PageQuery struct {
	// Blueprint limits the page to one blueprint (all when empty).
	Blueprint string
	// Search keeps entities whose identifier or title contains it, case
	// insensitively (all when empty).
	Search string
	// After is the Next of the previous page (the first page when zero).
	After Key
	// Limit is the page size: DefaultPageLimit when 0, at most
	// MaxPageLimit (see PageLimit).
	Limit int
}

// DefaultPageLimit is the page size of a query that names none.
const DefaultPageLimit = 50

// MaxPageLimit caps a page: a page is read, decoded and sent in one
// piece, and a search that matches little scans the catalog in key order
// until it has filled its page, so the cap also bounds that work.
const MaxPageLimit = 200

// PageLimit is the page size stores use for q.
func (q PageQuery) PageLimit() int {
	switch {
	case q.Limit <= 0:
		return DefaultPageLimit
	case q.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return q.Limit
}

// EntityPage is one page of entities.
type EntityPage struct {
	Entities []*Entity
	// Next is the key to pass as After for the following page; nil on the
	// last page.
	Next *Key
}

// Provenance says where an entity came from and what last changed it.
type Provenance struct {
	// Kind is the mapping kind that produced the entity (project, file…).
	Kind string
	// Source is the spec file that produced it, for entities written from
	// a repository's file ("group/project:port.yml"); empty otherwise.
	Source string
	// Project is the GitLab project the entity's object lives in (0 when
	// none), as on Entity.
	Project int64
	// ChangedAt is when the stored entity last changed.
	ChangedAt time.Time
	// ChangedBy names what changed it: "resync 42" or "event Push Hook
	// <delivery uuid>" (see ChangedByResync, ChangedByEvent); empty for
	// an entity last changed before glsync recorded it.
	ChangedBy string
}

// ChangedByResync is the ChangedBy of an entity a resync's run wrote.
func ChangedByResync(run RunID) string { return fmt.Sprintf("resync %d", run) }

// ChangedByEvent is the ChangedBy of an entity a webhook event wrote:
// its type and delivery id, which lead to the delivery's log lines and
// to its record in RecentDeliveries.
func ChangedByEvent(ev *Event) string {
	return strings.TrimSpace("event " + ev.Type + " " + ev.Delivery)
}

// Delivery outcomes (DeliveryRecord.Outcome).
const (
	// OutcomeApplied: the event was applied whole and left the queue.
	OutcomeApplied = "applied"
	// OutcomeRetrying: the event (or, after CompletePart, the parts that
	// failed) waits to be tried again.
	OutcomeRetrying = "retrying"
	// OutcomeDead: the event moved to the dead-letter table.
	OutcomeDead = "dead"
)

// DeliveryLogSize is how many delivery outcomes a store keeps: enough
// for the console to show the last minutes of a busy instance, small
// enough that the table never needs a retention setting.
const DeliveryLogSize = 1000

// NewDeliveryRecord is the record of ev's outcome at at, on replica, with
// reason as its error. The caller passes reason redacted (the stores use
// redact.Text): it may quote a URL with credentials, and records are shown
// to anyone who can read the console. Event bodies are never part of a
// record.
func NewDeliveryRecord(ev *Event, outcome, reason, replica string, at time.Time) DeliveryRecord {
	var latency time.Duration
	if !ev.ReceivedAt.IsZero() {
		latency = max(at.Sub(ev.ReceivedAt), 0)
	}
	return DeliveryRecord{Delivery: ev.Delivery, Type: ev.Type, Object: ev.Object, Outcome: outcome,
		Error: reason, Latency: latency, At: at, Replica: replica}
}

// DeliveryRecord is the outcome of one webhook delivery.
type DeliveryRecord struct {
	// Delivery is GitLab's delivery id, as on Event.
	Delivery string
	// Type is the event's X-Gitlab-Event header ("Push Hook"), as on
	// Event.
	Type string
	// Object names what the event is about ("project:42", "group:7"; ""
	// when none), as on Event.
	Object string
	// Outcome is OutcomeApplied, OutcomeRetrying (with Error) or
	// OutcomeDead (with Error).
	Outcome string
	// Error is why the event (or a part of it) failed, redacted.
	Error string
	// Latency is from receipt to this outcome.
	Latency time.Duration
	At      time.Time
	// Replica is the replica that handled it.
	Replica string
}
