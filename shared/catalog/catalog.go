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
	// DeleteStale deletes entities of kind not seen in run. Callers only
	// call it after the kind's resync completed without error.
	DeleteStale(ctx context.Context, run RunID, kind string) (int, error)
	// FinishRun records the end of a run and whether it succeeded.
	FinishRun(ctx context.Context, run RunID, ok bool, finished time.Time) error
	// List returns entities ordered by blueprint and identifier.
	List(ctx context.Context, f Filter) ([]*Entity, error)
	// Close releases the store.
	Close() error
}
