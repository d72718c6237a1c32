// Package resync runs one full resync: crawl every token's objects, map
// them with the port-app-config, write them to the catalog, and delete
// what a kind no longer has — only when that kind completed with no error.
//
// Kinds run concurrently; within a kind, tokens run in tokenMapping order
// so that an object two tokens can see is synced once, by the first token
// listed (a deterministic rule users can reason about). Pages stream
// through map and store as they arrive, so memory does not grow with the
// size of the organisation (beyond one id per object for deduplication).
package resync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
)

// Options configure a resync.
type Options struct {
	Config  *config.Config
	Mapping *mapping.Config
	Store   catalog.Store
	Logger  *slog.Logger
	// Client tunes the GitLab clients; MaxConcurrent and MaxRetries default
	// to the config's values.
	Client gitlab.Options
	// ProgressEvery is the interval of progress logs (default 2s).
	ProgressEvery time.Duration
	// MaxErrorsPerKind caps the mapping errors kept in the summary
	// (default 10); all are counted.
	MaxErrorsPerKind int
}

// KindSummary is the outcome for one kind.
type KindSummary struct {
	Kind     string
	Fetched  int // objects GitLab returned
	Selected int // objects the globs kept (after deduplication)
	catalog.UpsertStats
	Deleted  int
	Duration time.Duration
	// Errors are the failures of this kind; deletion was skipped if any.
	Errors      []error
	ErrorsTotal int
}

// Failed reports whether the kind had any error.
func (k *KindSummary) Failed() bool { return k.ErrorsTotal > 0 }

// Summary is the outcome of a resync.
type Summary struct {
	Run         catalog.RunID
	Kinds       []*KindSummary
	Requests    int64
	Retries     int64
	RateLimited int64
	Duration    time.Duration
}

// Failed reports whether any kind failed.
func (s *Summary) Failed() bool {
	for _, k := range s.Kinds {
		if k.Failed() {
			return true
		}
	}
	return false
}

// Err returns an error describing the failed kinds, or nil.
func (s *Summary) Err() error {
	var errs []error
	for _, k := range s.Kinds {
		for _, e := range k.Errors {
			errs = append(errs, fmt.Errorf("kind %s: %w", k.Kind, e))
		}
		if extra := k.ErrorsTotal - len(k.Errors); extra > 0 {
			errs = append(errs, fmt.Errorf("kind %s: %d more errors", k.Kind, extra))
		}
	}
	return errors.Join(errs...)
}

// Run performs one resync. The returned error is for failures that stop
// everything (store unavailable, bad clients); per-kind failures are in
// the summary (see Summary.Err).
func Run(ctx context.Context, opts Options) (*Summary, error) {
	start := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 2 * time.Second
	}
	if opts.MaxErrorsPerKind <= 0 {
		opts.MaxErrorsPerKind = 10
	}
	co := opts.Client
	if co.MaxConcurrent == 0 {
		co.MaxConcurrent = opts.Config.MaxConcurrentRequests
	}
	if co.MaxRetries == 0 {
		co.MaxRetries = opts.Config.MaxRetries
	}
	if co.Logger == nil {
		co.Logger = log
	}
	stats := &gitlab.Stats{}
	var sources []*crawl.Source
	for _, e := range opts.Config.TokenMapping {
		c, err := gitlab.New(opts.Config.GitLabHost, e.Token, co, stats)
		if err != nil {
			return nil, fmt.Errorf("resync: token %s: %w", e.Masked(), err)
		}
		sources = append(sources, &crawl.Source{Entry: e, Client: c})
	}
	run, err := opts.Store.BeginRun(ctx)
	if err != nil {
		return nil, fmt.Errorf("resync: %w", err)
	}
	log.Info("resync started", "run", run, "gitlab", opts.Config.GitLabHost, "tokens", len(sources), "kinds", opts.Mapping.Kinds())

	sum := &Summary{Run: run}
	var wg sync.WaitGroup
	for _, kind := range opts.Mapping.Kinds() {
		ks := &KindSummary{Kind: kind}
		sum.Kinds = append(sum.Kinds, ks)
		wg.Add(1)
		go func() {
			defer wg.Done()
			syncKind(ctx, opts, log, run, sources, ks)
		}()
	}
	wg.Wait()
	sum.Requests = stats.Requests.Load()
	sum.Retries = stats.Retries.Load()
	sum.RateLimited = stats.RateLimited.Load()
	sum.Duration = time.Since(start)
	// A cancelled run is recorded as failed; use a fresh context so the
	// record is written even then.
	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := opts.Store.FinishRun(finishCtx, run, !sum.Failed(), time.Now()); err != nil {
		return sum, fmt.Errorf("resync: %w", err)
	}
	log.Info("resync finished", "run", run, "ok", !sum.Failed(), "requests", sum.Requests, "retries", sum.Retries,
		"rate_limited", sum.RateLimited, "duration", sum.Duration.Round(time.Millisecond))
	return sum, nil
}

func syncKind(ctx context.Context, opts Options, log *slog.Logger, run catalog.RunID, sources []*crawl.Source, ks *KindSummary) {
	start := time.Now()
	log = log.With("kind", ks.Kind)
	resources := opts.Mapping.ResourcesFor(ks.Kind)
	seen := map[int64]struct{}{}
	var fetched, upserted atomic.Int64
	addErr := func(err error) {
		ks.ErrorsTotal++
		if len(ks.Errors) < opts.MaxErrorsPerKind {
			ks.Errors = append(ks.Errors, err)
		}
	}

	done := make(chan struct{})
	go func() {
		t := time.NewTicker(opts.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				el := time.Since(start).Seconds()
				log.Info("resync progress", "fetched", fetched.Load(), "written", upserted.Load(),
					"rate_per_s", fmt.Sprintf("%.0f", float64(fetched.Load())/el))
			}
		}
	}()
	defer close(done)

	batch := make([]*catalog.Entity, 0, 128)
	for _, src := range sources {
		c, err := src.List(ctx, ks.Kind, func(page gitlab.Page) error {
			fetched.Add(int64(len(page)))
			batch = batch[:0]
			for _, obj := range page {
				if id, ok := objectID(obj); ok {
					if _, dup := seen[id]; dup {
						continue // an earlier token already synced it
					}
					seen[id] = struct{}{}
				}
				ks.Selected++
				for _, r := range resources {
					e, selected, err := r.Map(ctx, obj)
					if err != nil {
						addErr(err)
						continue
					}
					if selected {
						batch = append(batch, e)
					}
				}
			}
			if len(batch) == 0 {
				return nil
			}
			st, err := opts.Store.Upsert(ctx, run, ks.Kind, batch)
			if err != nil {
				return err
			}
			ks.UpsertStats.Add(st)
			upserted.Add(int64(len(batch)))
			return nil
		})
		ks.Fetched += c.Fetched
		if err != nil {
			addErr(fmt.Errorf("token %s: %w", src.Entry.Masked(), err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	if ctx.Err() != nil && !ks.Failed() {
		addErr(ctx.Err())
	}
	if ks.Failed() {
		log.Error("resync of kind failed; nothing deleted", "errors", ks.ErrorsTotal, "first_error", ks.Errors[0])
	} else {
		n, err := opts.Store.DeleteStale(ctx, run, ks.Kind)
		if err != nil {
			addErr(err)
		}
		ks.Deleted = n
	}
	ks.Duration = time.Since(start)
	log.Info("resync of kind done", "fetched", ks.Fetched, "selected", ks.Selected, "created", ks.Created,
		"updated", ks.Updated, "unchanged", ks.Unchanged, "deleted", ks.Deleted, "errors", ks.ErrorsTotal,
		"duration", ks.Duration.Round(time.Millisecond),
		"rate_per_s", fmt.Sprintf("%.0f", float64(ks.Fetched)/ks.Duration.Seconds()))
}

// objectID reads GitLab's numeric id from a decoded object.
func objectID(o map[string]any) (int64, bool) {
	switch v := o["id"].(type) {
	case float64:
		return int64(v), true
	case int64:
		return v, true
	case int:
		return int64(v), true
	}
	return 0, false
}
