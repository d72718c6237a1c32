// Package catalog defines the entities glsync writes and the Store that
// keeps them. Stores are keyed by blueprint and identifier; each entity
// remembers the kind that produced it and the last resync that saw it, so
// a completed resync of a kind can delete exactly what it no longer saw.
package catalog

import (
	"context"
	"time"
)

// Entity is one catalog entity, Port's shape.
type Entity struct {
	Blueprint  string         `json:"blueprint"`
	Identifier string         `json:"identifier"`
	Title      string         `json:"title"`
	Team       string         `json:"team,omitempty"`
	Icon       string         `json:"icon,omitempty"`
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`
	// Project is the GitLab project the entity's object lives in (0 for
	// groups, members and projects themselves): when GitLab destroys a
	// project, the entities of its issues, pipelines, files… go with it.
	Project int64 `json:"-"`
	// Version orders writes of the same entity: the time (unix nanoseconds)
	// glsync asked GitLab for the object it was mapped from. A write never
	// replaces a newer version, so a resync page fetched before a webhook
	// cannot undo what the webhook wrote.
	Version int64 `json:"-"`
}

// Key identifies an entity.
type Key struct {
	Blueprint  string
	Identifier string
}

// Key returns the entity's key.
func (e *Entity) Key() Key { return Key{e.Blueprint, e.Identifier} }

// RunID identifies one resync.
type RunID int64

// UpsertStats says what an upsert did.
type UpsertStats struct {
	// Created and Updated count entities written; Unchanged ones were
	// already identical and were only marked as seen.
	Created, Updated, Unchanged int
}

// Add accumulates s into u.
func (u *UpsertStats) Add(s UpsertStats) {
	u.Created += s.Created
	u.Updated += s.Updated
	u.Unchanged += s.Unchanged
}

// Filter selects entities to list.
type Filter struct {
	// Blueprint, when set, lists only that blueprint.
	Blueprint string
}

// Store keeps entities. Implementations must make each Upsert call atomic.
type Store interface {
	// BeginRun starts a resync and returns its id.
	BeginRun(ctx context.Context) (RunID, error)
	// Upsert writes entities produced by kind during run, marking them seen.
	Upsert(ctx context.Context, run RunID, kind string, entities []*Entity) (UpsertStats, error)
	// DeleteStale deletes entities of kind not seen in run and not written
	// (by a webhook) since the run started. Callers only call it after the
	// kind's resync completed without error.
	DeleteStale(ctx context.Context, run RunID, kind string) (int, error)
	// FinishRun records the end of a run and whether it succeeded.
	FinishRun(ctx context.Context, run RunID, ok bool, finished time.Time) error
	// List returns entities ordered by blueprint and identifier.
	List(ctx context.Context, f Filter) ([]*Entity, error)
	// Close releases the store.
	Close() error
}

// Deletion removes one entity because GitLab said it is gone.
type Deletion struct {
	Key
	// Version is when GitLab reported the deletion (unix nanoseconds): a
	// resync page fetched before it cannot bring the entity back.
	Version int64
}

// Changes are the catalog writes of one webhook event, applied atomically
// with the event's removal from the queue.
type Changes struct {
	// Upserts are keyed by the kind that produced them.
	Upserts map[string][]*Entity
	Deletes []Deletion
}

// Event is a webhook delivery waiting in the durable queue.
type Event struct {
	ID int64
	// Delivery is GitLab's X-Gitlab-Event-UUID (or Idempotency-Key); a
	// delivery already accepted is not queued again.
	Delivery string
	// Source is "group" or "system"; Scope is the group id of a group hook.
	Source, Scope string
	// Type is the X-Gitlab-Event header, e.g. "Push Hook".
	Type       string
	Body       []byte
	ReceivedAt time.Time
	Attempts   int
}

// Queue is the durable webhook queue. An event leaves it only with the
// commit of its catalog writes (Complete), so a crash at any point either
// keeps the event or keeps its writes and drops it, never neither.
type Queue interface {
	// Enqueue stores an event; duplicate is true (and nothing is stored)
	// when its delivery id was accepted before.
	Enqueue(ctx context.Context, e *Event) (duplicate bool, err error)
	// Claim leases up to n due events for lease; a crashed worker's events
	// come back when the lease ends.
	Claim(ctx context.Context, n int, lease time.Duration) ([]*Event, error)
	// Complete applies the event's changes and removes it, atomically.
	Complete(ctx context.Context, id int64, c Changes) error
	// Retry releases an event to be tried again at a later time; after
	// maxAttempts it moves to the dead-letter table instead.
	Retry(ctx context.Context, id int64, reason string, at time.Time, maxAttempts int) (dead bool, err error)
	// Depth returns the number of queued events.
	Depth(ctx context.Context) (int, error)
}

// HookSecret is the secret of a hook glsync created (or was given).
type HookSecret struct {
	// Scope is "group:<id>" or "system".
	Scope  string
	HookID int64
	URL    string
	Secret string
}

// Secrets stores the webhook secrets glsync checks X-Gitlab-Token against.
type Secrets interface {
	PutHookSecret(ctx context.Context, s HookSecret) error
	HookSecret(ctx context.Context, scope string) (HookSecret, bool, error)
	DeleteHookSecret(ctx context.Context, scope string) error
}

// StaleCounter is implemented by stores that can tell, before deleting,
// how many entities of a kind a run would delete and how many there are.
type StaleCounter interface {
	StaleKeys(ctx context.Context, run RunID, kind string) ([]Key, int, error)
}
