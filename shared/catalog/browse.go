package catalog

import (
	"context"
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
	// Page lists entities in identifier order, at most q.Limit of them,
	// starting after q.After; Next is set when more follow.
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
	// Limit is the page size (a store may cap it).
	Limit int
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
	// ChangedBy names what changed it: "resync 42" or "event push
	// <delivery uuid>".
	ChangedBy string
}

// DeliveryRecord is the outcome of one webhook delivery.
type DeliveryRecord struct {
	Delivery string
	// Type is the event (GitLab's object_kind or event_name).
	Type string
	// Object names what the event is about ("group/project", "!12"…).
	Object string
	// Outcome is "applied", "retrying" (with Error) or "dead" (with Error).
	Outcome string
	Error   string
	// Latency is from receipt to this outcome.
	Latency time.Duration
	At      time.Time
	// Replica is the replica that handled it.
	Replica string
}
