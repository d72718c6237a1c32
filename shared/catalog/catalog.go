// Package catalog defines the entities glsync writes and the Store that
// keeps them. Stores are keyed by blueprint and identifier; each entity
// remembers the kind that produced it and the last resync that saw it, so
// a completed resync of a kind can delete exactly what it no longer saw.
//
// It holds the domain types (Entity, Key, Event…) and the interfaces the
// stores implement (Store, Backend, Browser…), and imports nothing of
// glsync: it is the ground floor every other floor stands on. The stores
// live in shared/stores, the Port sink in shared/portsink, the sealing of
// secrets in shared/sealed (shared/layering_test.go keeps it so).
package catalog

import (
	"context"
	"errors"
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
	// Replace makes the write replace the stored entity, where by default
	// it merges into it (the mapping's enableMergeEntity: false; see
	// Merge).
	Replace bool `json:"-"`
	// Search, when set, is the entity's identifier written as a Port
	// search query ({combinator, rules}: the mapping's identifier as an
	// object, Port's "map by property"): the entity updates the one entity
	// of Blueprint the query finds, and is never created. Identifier then
	// holds the query's canonical JSON (SearchKey) until it is resolved
	// (ResolveSearch), or Port resolves it.
	Search map[string]any `json:"-"`
	// Origin is the spec file the entity was produced from
	// ("group/project:port.yml"): set for GitOps-declared entities and the
	// file kind's, empty otherwise. Stores keep it as the entity's
	// Provenance.Source, so the console can send a reader to the file to
	// edit rather than to the mapping.
	Origin string `json:"-"`
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
	// List returns entities ordered by blueprint and identifier. It holds
	// them all in memory: for a catalog of any size, use Each.
	List(ctx context.Context, f Filter) ([]*Entity, error)
	// Each calls fn with each entity, ordered by blueprint and identifier,
	// reading them from a cursor so memory does not grow with the
	// catalog; it stops at fn's first error and returns it. fn must not
	// call the store: the embedded store has one connection, which the
	// cursor holds until Each returns.
	Each(ctx context.Context, f Filter, fn func(*Entity) error) error
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
	Type string
	// Object names the GitLab object the event is about ("project:42",
	// "group:7"; "" when none): events for one object are applied in the
	// order they were received, whichever replica holds them.
	Object     string
	Body       []byte
	ReceivedAt time.Time
	Attempts   int
	// Lease is the claim's token: Complete and Retry succeed only while
	// the event is still held under it, so an event whose lease ended and
	// was claimed again is applied by one worker only.
	Lease int64
}

// ErrLeaseLost is returned by Complete and Retry when the event is no
// longer held under the claim's lease (it ended and another worker took
// the event, or the event is gone): nothing was written.
var ErrLeaseLost = errors.New("the event's lease ended and another worker holds it: its changes were not committed here")

// Queue is the durable webhook queue. An event leaves it only with the
// commit of its catalog writes (Complete), so a crash at any point either
// keeps the event or keeps its writes and drops it, never neither.
type Queue interface {
	// Enqueue stores an event; duplicate is true (and nothing is stored)
	// when its delivery id was accepted before.
	Enqueue(ctx context.Context, e *Event) (duplicate bool, err error)
	// Claim leases up to n due events for lease; a crashed worker's events
	// come back when the lease ends. With maxBytes > 0 the events' bodies
	// add up to at most maxBytes (one event is always handed out, however
	// large), so the workers' memory is bounded.
	Claim(ctx context.Context, n int, maxBytes int64, lease time.Duration) ([]*Event, error)
	// Claim hands out, per Object, only the oldest queued event, so events
	// for one object are applied in order.
	//
	// Complete applies the event's changes and removes it, atomically, and
	// counts the delivery as applied.
	Complete(ctx context.Context, ev *Event, c Changes) error
	// Retry releases an event to be tried again at a later time; after
	// maxAttempts it moves to the dead-letter table instead.
	Retry(ctx context.Context, ev *Event, reason string, at time.Time, maxAttempts int) (dead bool, err error)
	// CompletePart applies the changes of the parts of an event that
	// succeeded and, in the same transaction, reschedules the event as
	// Retry does with body rest (what is left to do): a push whose
	// repository part failed still writes its project, and the event keeps
	// its place in its object's order. The delivery counts as applied only
	// when the rest completes.
	CompletePart(ctx context.Context, ev *Event, c Changes, rest []byte, reason string, at time.Time, maxAttempts int) (dead bool, err error)
	// Depth returns the number of queued events.
	Depth(ctx context.Context) (int, error)
}

// HookSecret is the secret of a hook glsync created (or was given).
type HookSecret struct {
	// Scope is "group:<id>", "project:<id>" (a personal project's hook) or
	// "system".
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

// ProjectMark is what an incremental resync remembers of one project for
// one per-project kind: when the kind last read it completely, and a hash
// of the project fields its entities carry (path, name, default branch…),
// so a rename or a move is read again although GitLab records no
// activity for it.
type ProjectMark struct {
	Project int64
	ReadAt  time.Time
	RefHash string
}

// Marks are the records of incremental resyncs. A mark written in a run
// counts only once that run's pass of the kind completed (stale deletion
// done, CompleteKind called), so a failed pass never lets a later one skip
// a project whose entities it left unfinished.
type Marks interface {
	// ProjectMarks returns the valid marks of kind under fingerprint (the
	// kind's mapping) for the given projects; projects without one are
	// absent.
	ProjectMarks(ctx context.Context, kind, fingerprint string, projects []int64) (map[int64]ProjectMark, error)
	// PutProjectMarks records projects read completely in run (pending
	// until CompleteKind). A project read twice in a run keeps the
	// earlier time.
	PutProjectMarks(ctx context.Context, run RunID, kind, fingerprint string, marks []ProjectMark) error
	// TouchProjects counts the entities of kind living in these projects
	// as seen by run (they were skipped, unchanged), and keeps their marks.
	TouchProjects(ctx context.Context, run RunID, kind string, projects []int64) error
	// CompleteKind records that run's pass of kind completed under
	// fingerprint (full reports whether it read every project), making its
	// marks valid and dropping the marks of projects it neither read nor
	// skipped (gone from GitLab or from the selection).
	CompleteKind(ctx context.Context, run RunID, kind, fingerprint string, full bool) error
	// LastFullPass is when the last completed full pass of kind under
	// fingerprint started; ok is false when there was none.
	LastFullPass(ctx context.Context, kind, fingerprint string) (at time.Time, ok bool, err error)
}

// Mirror is a Store a remote sink (Port) keeps beside itself: what it last
// wrote, at which version, seen by which run.
type Mirror interface {
	Store
	StaleCounter
	Marks
	// UpsertPending writes entities marked as pending and returns the ones
	// created or updated; pending rows count as changed until Confirm.
	UpsertPending(ctx context.Context, run RunID, kind string, entities []*Entity) (UpsertStats, []*Entity, error)
	// Confirm marks entities as written to the remote sink.
	Confirm(ctx context.Context, keys []Key) error
	// DeleteKeys removes entities.
	DeleteKeys(ctx context.Context, keys []Key) error
	// HasKey reports whether an entity is held.
	HasKey(ctx context.Context, k Key) (bool, error)
	// CountEntities is the number of entities held.
	CountEntities(ctx context.Context) (int, error)
	// PutExamples keeps a few raw objects of a kind (a JSON array).
	PutExamples(ctx context.Context, kind string, examples []byte) error
	// Examples returns the raw objects kept for a kind, or nil.
	Examples(ctx context.Context, kind string) ([]byte, error)
}

// Settings are the daemon's own records beside the catalog.
type Settings interface {
	// PutTokenMapping stores a token mapping added through the admin API
	// (opaque JSON; shared/adminapi defines it).
	PutTokenMapping(ctx context.Context, name string, value []byte) error
	// DeleteTokenMapping removes one; found is false if it was absent.
	DeleteTokenMapping(ctx context.Context, name string) (found bool, err error)
	// TokenMappings returns the stored mappings ordered by name.
	TokenMappings(ctx context.Context) (names []string, values [][]byte, err error)
	// PutSetting and Setting keep small named values (e.g. the summary of
	// the last completed resync, which every replica reports).
	PutSetting(ctx context.Context, key string, value []byte) error
	Setting(ctx context.Context, key string) (value []byte, found bool, err error)
}

// Backend is everything glsyncd keeps in one place: the catalog (or a
// remote sink's mirror), the webhook queue, hook secrets and settings.
// The embedded SQLite file and PostgreSQL both implement it.
type Backend interface {
	Mirror
	Queue
	Secrets
	Settings
	// HookScopes lists the scopes of the hooks glsync holds a secret for.
	HookScopes(ctx context.Context) ([]string, error)
	// ProjectKeys lists the entities whose objects live in GitLab project id.
	ProjectKeys(ctx context.Context, id int64) ([]Key, error)
	Owners
	// PruneDeliveries forgets delivery ids received before cutoff.
	PruneDeliveries(ctx context.Context, cutoff time.Time) (int, error)
	// Applied is how many times the delivery's event was applied (0 when
	// unknown or not yet): exactly once is 1.
	Applied(ctx context.Context, delivery string) (int, error)
	// DeadLetters counts events moved to the dead-letter table.
	DeadLetters(ctx context.Context) (int, error)
	// OldestQueued is when the queued event received first was received
	// (the zero time when the queue is empty): how far behind GitLab the
	// catalog is, which the queue's depth alone does not say.
	OldestQueued(ctx context.Context) (time.Time, error)
	// Coordination says how replicas sharing this backend divide the work.
	Coordination() Coordination
	// DeadLetters lists events moved to the dead-letter table, oldest
	// first (at most limit; 0: all).
	ListDeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	// RequeueDeadLetters puts dead letters back in the queue (all when ids
	// is empty), with their attempts reset; it returns how many.
	RequeueDeadLetters(ctx context.Context, ids []int64) (int, error)
	// DropDeadLetters deletes dead letters (all when ids is empty).
	DropDeadLetters(ctx context.Context, ids []int64) (int, error)
	// Maintain prunes what is past its retention and gives space back.
	Maintain(ctx context.Context, o Retention) (Maintenance, error)
	// Browser is what the console reads. Part of Backend so that wrappers
	// embedding a Backend (stores.Sealed) keep it.
	Browser
}

// DeadLetter is an event that failed too often to be tried again.
type DeadLetter struct {
	ID                     int64
	Delivery, Type, Object string
	ReceivedAt             time.Time
	Attempts               int
	LastError              string
	Bytes                  int
}

// Retention says how long the queue's records are kept.
type Retention struct {
	// Deliveries: delivery ids kept to recognise GitLab's retries and
	// resends as duplicates.
	Deliveries time.Duration
	// DeadLetters: failed events kept for an operator to retry or drop.
	DeadLetters time.Duration
}

// Maintenance says what Maintain did.
type Maintenance struct {
	DeliveriesPruned, DeadLettersPruned int
	// BytesReclaimed is space given back to the file system (SQLite).
	BytesReclaimed int64
}

// Coordination is how the replicas sharing a backend agree on who runs
// resyncs and hook reconciliation (the leader) and who holds which
// queued event.
type Coordination interface {
	// Replica is this process's name, as other replicas see it.
	Replica() string
	// Lead blocks until this replica is the leader or ctx ends. The
	// returned context ends as soon as leadership may be lost (the
	// connection that holds it failed): work under it must stop at once
	// and delete nothing. Release gives leadership up.
	Lead(ctx context.Context) (lead context.Context, release func(), err error)
	// TryLead is Lead without waiting: ok is false, with the current
	// leader's name, when another replica leads.
	TryLead(ctx context.Context) (lead context.Context, release func(), leader string, ok bool, err error)
	// Leader names the replica that leads now ("" when none does).
	Leader(ctx context.Context) (string, error)
	// Replicas names the live replicas.
	Replicas(ctx context.Context) ([]string, error)
	// RequestResync asks the leader, wherever it runs, to resync; false
	// when a request is already waiting.
	RequestResync(ctx context.Context, why string) (bool, error)
	// TakeResyncRequest returns and removes a waiting request (leader).
	TakeResyncRequest(ctx context.Context) (why string, ok bool, err error)
	// ReleaseOrphanedLeases makes events claimed by replicas that are gone
	// due again at once, instead of when their lease ends.
	ReleaseOrphanedLeases(ctx context.Context) error
}

// ErrNotLeader is returned by work only the leader may do (deleting stale
// entities) when this replica lost leadership during the run.
var ErrNotLeader = errors.New("this replica no longer leads: another replica may be resyncing; nothing was deleted")
