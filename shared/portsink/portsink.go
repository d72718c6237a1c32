// Package portsink is a catalog.Store that writes to Port, as the
// integration glsync replaces does. The embedded SQLite catalog serves as
// its mirror: it knows what was last written, so only created or changed
// entities are sent (in bulk), and it tracks which resync saw what, so
// stale entities are deleted in Port only after a complete, successful
// resync of their kind, and never more than a configured share at once.
//
// It sits in shared beside the resync that feeds it, not under
// shared/stores: it is the end of the data path (crawl → map → store →
// Port), fed by the resync (as its catalog.Store) and by the event worker
// (ApplyEvent), and it decides the mapping with Port (Setup), so it needs
// mapping, config and the Port client, which the stores must not know.
// Nor is it under shared/resync, whose private part it is not: the
// daemon wires it to the resync and the worker alike. It reaches the
// stores only through the catalog interfaces (its mirror is a
// catalog.Mirror).
package portsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/port"
)

// Options configure the sink.
type Options struct {
	CreateMissingRelatedEntities bool
	// ReplaceEntities writes entities whole (enableMergeEntity: false).
	ReplaceEntities         bool
	DeleteDependentEntities bool
	// MaxDeleteShare refuses to delete more than this share of a kind's
	// entities in one resync (default 0.5) unless Force.
	MaxDeleteShare float64
	Force          bool
	// Concurrency bounds parallel Port requests for deletes (default 8).
	Concurrency int
	Log         *slog.Logger
}

// Sink writes to Port through a local mirror.
type Sink struct {
	mirror catalog.Mirror
	port   *port.Client
	opts   Options

	// Refused counts entities Port refused (422…); they are logged with
	// their identifier and sent again next resync.
	Refused atomic.Int64

	mu        sync.Mutex
	failedRun bool
	runStart  time.Time // guarded by mu
	// runCtx is the context the run began under (guarded by mu): the
	// reconciliation at FinishRun runs under it, not under FinishRun's,
	// which resync bounds to a few seconds to record the run, while
	// listing what Port holds at 100,000 projects takes longer. It still
	// ends with the run (shutdown, lost leadership).
	runCtx context.Context

	sendExamples bool
}

var _ catalog.Store = (*Sink)(nil)

// New returns a sink over mirror and client.
func New(mirror catalog.Mirror, client *port.Client, o Options) *Sink {
	if o.MaxDeleteShare <= 0 {
		o.MaxDeleteShare = 0.5
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Sink{mirror: mirror, port: client, opts: o}
}

// BeginRun starts a resync.
func (s *Sink) BeginRun(ctx context.Context) (catalog.RunID, error) {
	s.mu.Lock()
	s.failedRun = false
	// Entities written after this (by events during the resync) are not
	// candidates for cleanup (Ocean's before=resync_start_time).
	s.runStart = time.Now()
	s.runCtx = ctx
	s.mu.Unlock()
	return s.mirror.BeginRun(ctx)
}

func toPort(e *catalog.Entity) port.Entity {
	pe := port.Entity{Identifier: e.Identifier, Title: e.Title, Icon: e.Icon, Properties: e.Properties, Relations: e.Relations}
	switch {
	case strings.HasPrefix(e.Team, "[") || strings.HasPrefix(e.Team, "{"):
		// A list of teams or a search query, kept as JSON text in the
		// catalog (see mapping's team); Port reads the value itself.
		var v any
		if json.Unmarshal([]byte(e.Team), &v) == nil {
			pe.Team = v
		} else {
			pe.Team = e.Team
		}
	case e.Team != "":
		pe.Team = e.Team
	}
	return pe
}

// Upsert writes the entities that changed since Port last got them, and
// those whose identifier is a search query (see pushSearched).
func (s *Sink) Upsert(ctx context.Context, run catalog.RunID, kind string, entities []*catalog.Entity) (catalog.UpsertStats, error) {
	plain, searched := splitSearched(entities)
	st, changed, err := s.mirror.UpsertPending(ctx, run, kind, plain)
	if err != nil {
		return st, err
	}
	err = s.push(ctx, changed)
	if err == nil {
		var n int
		n, err = s.pushSearched(ctx, searched)
		st.Updated += n
	}
	if err != nil {
		s.mu.Lock()
		s.failedRun = true
		s.mu.Unlock()
		return st, err
	}
	return st, nil
}

// push sends entities to Port in bulk, per blueprint, and confirms the
// ones Port accepted in the mirror.
func (s *Sink) push(ctx context.Context, changed []*catalog.Entity) error {
	byBP := map[string][]*catalog.Entity{}
	for _, e := range changed {
		byBP[e.Blueprint] = append(byBP[e.Blueprint], e)
	}
	bps := make([]string, 0, len(byBP))
	for bp := range byBP {
		bps = append(bps, bp)
	}
	sort.Strings(bps)
	for _, bp := range bps {
		ents := byBP[bp]
		pes := make([]port.Entity, len(ents))
		for i, e := range ents {
			pes[i] = toPort(e)
		}
		refused, err := s.port.BulkUpsert(ctx, bp, pes, port.UpsertOptions{CreateMissingRelatedEntities: s.opts.CreateMissingRelatedEntities, Replace: s.opts.ReplaceEntities})
		if err != nil {
			// Batches that landed stay pending too: sent again next time.
			return fmt.Errorf("port: writing %d %s entities: %w", len(ents), bp, err)
		}
		bad := map[string]bool{}
		for _, r := range refused {
			bad[r.Identifier] = true
			s.Refused.Add(1)
			s.opts.Log.Warn("Port refused an entity; it will be sent again next resync", "blueprint", bp, "identifier", r.Identifier, "status", r.Status, "message", r.Message)
		}
		var ok []catalog.Key
		for _, e := range ents {
			if !bad[e.Identifier] {
				ok = append(ok, e.Key())
			}
		}
		if err := s.mirror.Confirm(ctx, ok); err != nil {
			return err
		}
	}
	return nil
}

// GuardError is the refusal to delete too much at once.
type GuardError struct {
	Kind         string
	Stale, Total int
	Max          float64
}

func (e *GuardError) Error() string {
	return fmt.Sprintf("refusing to delete %d of %d %s entities (%.0f%%, more than the %.0f%% allowed in one resync); "+
		"if GitLab really lost them, set forceDeletion (GLSYNC_FORCE_DELETION=true) for one resync",
		e.Stale, e.Total, e.Kind, 100*float64(e.Stale)/float64(e.Total), 100*e.Max)
}

// DeleteStale deletes in Port the entities of kind this resync did not
// see, within the deletion guard.
func (s *Sink) DeleteStale(ctx context.Context, run catalog.RunID, kind string) (int, error) {
	keys, total, err := s.mirror.StaleKeys(ctx, run, kind)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	if !s.opts.Force && float64(len(keys)) > s.opts.MaxDeleteShare*float64(total) {
		return 0, &GuardError{Kind: kind, Stale: len(keys), Total: total, Max: s.opts.MaxDeleteShare}
	}
	deleted, err := s.deleteInPort(ctx, keys)
	if derr := s.mirror.DeleteKeys(ctx, deleted); derr != nil && err == nil {
		err = derr
	}
	return len(deleted), err
}

// deleteInPort deletes keys with Port's bulk delete, blueprint by
// blueprint, as Ocean does; it returns the ones gone (deleted now, or
// already gone).
func (s *Sink) deleteInPort(ctx context.Context, keys []catalog.Key) ([]catalog.Key, error) {
	byBlueprint := map[string][]string{}
	var order []string
	for _, k := range keys {
		if byBlueprint[k.Blueprint] == nil {
			order = append(order, k.Blueprint)
		}
		byBlueprint[k.Blueprint] = append(byBlueprint[k.Blueprint], k.Identifier)
	}
	var done []catalog.Key
	var errs []error
	for _, bp := range order {
		ids := byBlueprint[bp]
		if _, err := s.port.BulkDelete(ctx, bp, ids, s.opts.DeleteDependentEntities); err != nil {
			errs = append(errs, fmt.Errorf("deleting %d %s entities: %w", len(ids), bp, err))
			continue
		}
		// Identifiers Port did not report were already gone: either way
		// they are not in Port now.
		for _, id := range ids {
			done = append(done, catalog.Key{Blueprint: bp, Identifier: id})
		}
	}
	return done, errors.Join(errs...)
}

// FinishRun records the run; after a fully successful resync it also
// deletes entities Port holds under this integration's datasource that the
// mirror does not know (written before the mirror existed, or by a lost
// data directory), within the deletion guard.
func (s *Sink) FinishRun(ctx context.Context, run catalog.RunID, ok bool, finished time.Time) error {
	if err := s.mirror.FinishRun(ctx, run, ok, finished); err != nil {
		return err
	}
	s.mu.Lock()
	failed := s.failedRun
	s.mu.Unlock()
	if !ok || failed {
		return nil
	}
	s.mu.Lock()
	start, runCtx := s.runStart, s.runCtx
	s.mu.Unlock()
	if runCtx != nil {
		ctx = runCtx
	}
	// Page by page: Port may hold hundreds of thousands of this
	// integration's entities, and only the orphans among them are kept.
	var orphans []catalog.Key
	seen := map[catalog.Key]bool{}
	err := s.port.EachOwned(ctx, start, func(page []port.Entity) error {
		for _, e := range page {
			k := catalog.Key{Blueprint: e.Blueprint, Identifier: e.Identifier}
			if seen[k] {
				continue
			}
			has, err := s.mirror.HasKey(ctx, k)
			if err != nil {
				return fmt.Errorf("looking %s/%s up in the mirror: %w", k.Blueprint, k.Identifier, err)
			}
			if !has {
				seen[k] = true
				orphans = append(orphans, k)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("port: listing the entities this integration owns: %w", err)
	}
	if len(orphans) == 0 {
		return nil
	}
	// The share is of everything this integration has in Port: what the
	// mirror holds (written by this resync or kept from earlier ones) and
	// the orphans. Owned lists only entities last written before the run
	// began, so it alone would undercount.
	held, err := s.mirror.CountEntities(ctx)
	if err != nil {
		return err
	}
	total := held + len(orphans)
	if !s.opts.Force && float64(len(orphans)) > s.opts.MaxDeleteShare*float64(total) {
		return &GuardError{Kind: "owned", Stale: len(orphans), Total: total, Max: s.opts.MaxDeleteShare}
	}
	s.opts.Log.Info("deleting entities this integration owns in Port that GitLab no longer has", "count", len(orphans))
	_, err = s.deleteInPort(ctx, orphans)
	return err
}

// StaleKeys reports what DeleteStale would delete (the mirror's view).
func (s *Sink) StaleKeys(ctx context.Context, run catalog.RunID, kind string) ([]catalog.Key, int, error) {
	return s.mirror.StaleKeys(ctx, run, kind)
}

// List returns the mirror's view of what is in Port.
func (s *Sink) List(ctx context.Context, f catalog.Filter) ([]*catalog.Entity, error) {
	return s.mirror.List(ctx, f)
}

// Each walks the mirror's view of what is in Port.
func (s *Sink) Each(ctx context.Context, f catalog.Filter, fn func(*catalog.Entity) error) error {
	return s.mirror.Each(ctx, f, fn)
}

// Close closes nothing of Port; the mirror is closed by its owner.
func (s *Sink) Close() error { return nil }

// ApplyEvent forwards a webhook event's changes to Port before the queue
// commits them to the mirror (at least once: writes are idempotent).
func (s *Sink) ApplyEvent(ctx context.Context, c catalog.Changes) error {
	var ents []*catalog.Entity
	for _, es := range c.Upserts {
		ents = append(ents, es...)
	}
	if err := s.pushDirect(ctx, ents); err != nil {
		return err
	}
	var keys []catalog.Key
	for _, d := range c.Deletes {
		keys = append(keys, d.Key)
	}
	_, err := s.deleteInPort(ctx, keys)
	return err
}

// pushDirect writes entities without the mirror (the queue updates it).
func (s *Sink) pushDirect(ctx context.Context, ents []*catalog.Entity) error {
	byBP := map[string][]port.Entity{}
	for _, e := range ents {
		byBP[e.Blueprint] = append(byBP[e.Blueprint], toPort(e))
	}
	for bp, pes := range byBP {
		refused, err := s.port.BulkUpsert(ctx, bp, pes, port.UpsertOptions{CreateMissingRelatedEntities: s.opts.CreateMissingRelatedEntities, Replace: s.opts.ReplaceEntities})
		if err != nil {
			return err
		}
		for _, r := range refused {
			s.Refused.Add(1)
			s.opts.Log.Warn("Port refused an entity from a webhook event", "blueprint", bp, "identifier", r.Identifier, "status", r.Status, "message", r.Message)
		}
	}
	return nil
}

// SendExamples keeps a few raw objects of a kind locally and sends them to
// Port's examples endpoint (for its mapping test UI).
func (s *Sink) SendExamples(ctx context.Context, kind string, objs []map[string]any, toPort bool) error {
	b, err := json.Marshal(objs)
	if err != nil {
		return err
	}
	if err := s.mirror.PutExamples(ctx, kind, b); err != nil {
		return err
	}
	if !toPort {
		return nil
	}
	return s.port.SendExamples(ctx, kind, objs)
}
