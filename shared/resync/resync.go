// Package resync runs one full resync: crawl every token's objects, map
// them with the port-app-config, write them to the catalog, and delete
// what a kind no longer has — only when that kind completed with no error.
//
// Kinds run concurrently, and so do the tokens of a kind (each token has
// its own GitLab rate limit). An object several tokens can see is owned by
// the first token in tokenMapping order: that token's copy is the one
// written, whatever the timing (see owners). Pages stream through map and
// store as they arrive, so memory does not grow with the size of the
// organisation (beyond one id per object for deduplication).
package resync

import (
	"github.com/glsync/terraform-provider-glsync/shared/redact"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
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
	// Expected are the objects each kind selected in the last completed
	// resync (Record.Expected): progress lines show them as the total to
	// expect, with a percentage and an estimate of the time left.
	Expected map[string]int
	// MaxErrorsPerKind caps the mapping errors kept in the summary
	// (default 10); all are counted.
	MaxErrorsPerKind int
	// Stats, when set, receives the GitLab request counters (the daemon
	// shares one across resyncs for its metrics).
	Stats *gitlab.Stats
	// Examples, when set, receives up to ten raw objects of each kind
	// from the kind's first page ("send raw data examples").
	Examples func(ctx context.Context, kind string, objs []map[string]any)
	// Incremental lets per-project kinds skip the projects GitLab shows
	// unchanged since they were last read completely (incremental.go),
	// except for a kind whose last full pass is FullEvery old (default
	// DefaultFullEvery) or that has none. Off, every pass is full.
	Incremental bool
	FullEvery   time.Duration
	// ActivityGrace is how much older than a project's last complete
	// read its last_activity_at must be for the project to count as
	// unchanged (default DefaultActivityGrace, GitLab's throttle).
	ActivityGrace time.Duration
}

// KindSummary is the outcome for one kind.
type KindSummary struct {
	Kind string
	// Requests is the number of GitLab requests made for this kind (a
	// listing shared between kinds counts for the kind that made it).
	Requests int64
	// Fetched are the objects GitLab returned, for every token (an
	// object two tokens see counts twice).
	Fetched int
	// Selected are the objects the tokens' globs kept, each once; the
	// entities written from them (created, updated, unchanged) can be fewer
	// (selector.query) or more (a resource mapping one object to several
	// entities, several resources of the kind).
	Selected int
	catalog.UpsertStats
	Deleted  int
	Duration time.Duration
	// Incomplete is set when GitLab's listing changed while it was read
	// (see gitlab.WithShiftWatch): stale deletion was skipped, safely.
	Incomplete bool
	// Full reports a full pass (every project read); else SkippedProjects
	// projects were skipped as unchanged and ReadProjects read.
	Full                          bool
	FullReason                    string
	SkippedProjects, ReadProjects int
	// Errors are the failures of this kind; deletion was skipped if any.
	Errors      []error
	ErrorsTotal int
}

// Failed reports whether the kind had any error.
func (k *KindSummary) Failed() bool { return k.ErrorsTotal > 0 }

// Summary is the outcome of a resync.
type Summary struct {
	// Warnings are things that did not fail the resync but are likely
	// mistakes (a token that selected nothing).
	Warnings    []string
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
	// An unreachable GitLab fails at once, naming the URL, instead of
	// after every retry of every first request.
	if err := reachable(ctx, opts.Config.GitLabHost); err != nil {
		return nil, err
	}
	ctx = gitlab.WithPageBudget(ctx, pageBudget)
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
	base := opts.Stats
	var sources []*crawl.Source
	for _, e := range opts.Config.TokenMapping {
		c, err := gitlab.New(opts.Config.GitLabHost, e.Token, opts.Config.ClientOptions(co), stats)
		if err != nil {
			return nil, fmt.Errorf("resync: token %s: %w", e.Masked(), err)
		}
		sources = append(sources, crawl.NewSource(e, c, opts.Mapping))
	}
	defer func() {
		for _, src := range sources {
			src.Close() // the shared project listing's temporary file
		}
	}()
	run, err := opts.Store.BeginRun(ctx)
	if err != nil {
		return nil, fmt.Errorf("resync: %w", err)
	}
	log.Info("resync started", "run", run, "gitlab", redact.URL(opts.Config.GitLabHost), "tokens", len(sources), "kinds", opts.Mapping.Kinds())

	sum := &Summary{Run: run}
	selectedBy := make([]atomic.Int64, len(sources)) // objects each token's globs kept, all kinds
	var wg sync.WaitGroup
	for _, kind := range opts.Mapping.Kinds() {
		ks := &KindSummary{Kind: kind}
		sum.Kinds = append(sum.Kinds, ks)
		wg.Add(1)
		go func() {
			defer wg.Done()
			syncKind(ctx, opts, log, run, sources, ks, stats, selectedBy)
		}()
	}
	wg.Wait()
	if !sum.Failed() {
		for i, src := range sources {
			if selectedBy[i].Load() == 0 {
				w := fmt.Sprintf("token %s selected nothing: its patterns (%s) match no group or project it can see; check them with glsyncd validate",
					src.Entry.Masked(), strings.Join(src.Entry.Patterns, ", "))
				sum.Warnings = append(sum.Warnings, w)
				log.Warn(w)
			}
		}
	}
	sum.Requests = stats.Requests.Load()
	byKind := stats.ByKind()
	for _, k := range sum.Kinds {
		k.Requests = byKind[k.Kind]
	}
	sum.Retries = stats.Retries.Load()
	sum.RateLimited = stats.RateLimited.Load()
	if base != nil {
		base.Merge(stats)
	}
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

// pageBudget is how many listing pages the resync's listings may hold
// beyond one each (see gitlab.WithPageBudget). Every listing's consumer
// writes to the same store, so a few pages read ahead keep the store busy;
// more would only wait in memory, a dozen listings at once, at about
// 0.4 MB a page. Measured (make bench): 4 keeps a resync's live heap flat
// from 1,000 to 100,000 projects at no cost in wall time; 8 let it grow
// by half.
const pageBudget = 4

// maxParallelTokens bounds how many tokens list one kind at the same
// time. Each token has its own GitLab rate limit, so running them side by
// side multiplies throughput; the bound keeps the database and CPU busy
// rather than swamped.
const maxParallelTokens = 8

func syncKind(ctx context.Context, opts Options, log *slog.Logger, run catalog.RunID, sources []*crawl.Source, ks *KindSummary, stats *gitlab.Stats, selectedBy []atomic.Int64) {
	start := time.Now()
	ctx = gitlab.WithKind(ctx, ks.Kind)
	ctx, shifted := gitlab.WithShiftWatch(ctx)
	log = log.With("kind", ks.Kind)
	inc, reason, err := passFor(ctx, opts, run, ks.Kind)
	if err != nil {
		// Unknown history: a full pass is always right.
		log.Warn("resync of kind: cannot read the incremental records; reading every project", "error", err)
		inc, reason = nil, "incremental records unreadable"
	}
	ks.Full, ks.FullReason = inc == nil || !inc.skip, reason
	if inc != nil {
		ctx = crawl.WithIncremental(ctx, inc)
	}
	groups := crawl.GroupResources(opts.Mapping.ResourcesFor(ks.Kind))
	owns := make([]*owners, len(groups))
	for gi := range owns {
		owns[gi] = newOwners(len(sources))
	}
	refs := crawl.NewReferences()     // file:// and search:// values, cached for this resync
	var fetched, written atomic.Int64 // objects the globs kept, entities written
	var noID atomic.Int64             // kept objects without a numeric id (counted each)
	var mu sync.Mutex                 // guards ks
	var writeMu sync.Mutex            // orders claims and writes across tokens
	addErr := func(err error) {
		mu.Lock()
		defer mu.Unlock()
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
				el := time.Since(start)
				n := fetched.Load()
				args := []any{"selected", n, "written", written.Load(), "rate_per_s", fmt.Sprintf("%.0f", float64(n)/el.Seconds()),
					"gitlab_retries", stats.Retries.Load(), "rate_limited", stats.RateLimited.Load()}
				if want := opts.Expected[ks.Kind]; want > 0 {
					args = append(args, "expected", want, "percent", min(99, 100*int(n)/want))
					if n > 0 && int(n) < want {
						left := time.Duration(float64(el) * float64(want-int(n)) / float64(n))
						args = append(args, "eta", left.Round(time.Second).String())
					}
				}
				log.Info("resync progress", args...)
			}
		}
	}()

	var exampleOnce sync.Once
	sem := make(chan struct{}, maxParallelTokens)
	var wg sync.WaitGroup
	syncListing := func(ctx context.Context, i int, src *crawl.Source, g crawl.ResourceGroup, own *owners) {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-sem }()
		type mapped struct {
			id    int64
			hasID bool
			ents  []*catalog.Entity
		}
		var items []mapped
		var fresh, again []*catalog.Entity
		lo := g.Options
		lo.SpecPaths, lo.Branch = opts.Mapping.SpecPaths, opts.Mapping.Branch
		c, err := src.List(ctx, ks.Kind, lo, func(page gitlab.Page) error {
			fetched.Add(int64(len(page.Items)))
			selectedBy[i].Add(int64(len(page.Items)))
			if opts.Examples != nil && len(page.Items) > 0 {
				exampleOnce.Do(func() {
					n := min(10, len(page.Items))
					opts.Examples(ctx, ks.Kind, append([]map[string]any(nil), page.Items[:n]...))
				})
			}
			version := page.RequestedAt.UnixNano()
			// Map outside the write lock: jq is the CPU-heavy part.
			items = items[:0]
			for _, obj := range page.Items {
				it := mapped{}
				it.id, it.hasID = objectID(obj)
				if ks.Kind == mapping.GitOpsKind {
					e, err := mapping.Declared(obj)
					if err != nil {
						addErr(err)
						continue
					}
					e.Version, e.Project = version, crawl.ObjectProject(crawl.KindGitOps, obj)
					e.Replace = !opts.Mapping.EnableMergeEntity
					it.ents = append(it.ents, e)
					items = append(items, it)
					continue
				}
				for _, r := range g.Resources {
					ents, _, err := r.MapAll(ctx, obj)
					if err != nil {
						addErr(err)
						continue
					}
					for _, e := range ents {
						if crawl.Has(e) {
							if err := refs.Resolve(ctx, src, obj, e, string(r.Options.Generation)); err != nil {
								addErr(fmt.Errorf("%s: %w", e.Identifier, err))
								continue
							}
						}
						e.Version, e.Project = version, crawl.ObjectProject(ks.Kind, obj)
						it.ents = append(it.ents, e)
					}
				}
				items = append(items, it)
			}
			// Claim and write under one lock, so writes happen in claim
			// order and the owner's copy is always the last one written.
			writeMu.Lock()
			defer writeMu.Unlock()
			fresh, again = fresh[:0], again[:0]
			for _, it := range items {
				write, rewrite := true, false
				if it.hasID {
					write, rewrite = own.claim(it.id, i)
				} else {
					noID.Add(1)
				}
				switch {
				case !write:
				case rewrite:
					again = append(again, it.ents...)
				default:
					fresh = append(fresh, it.ents...)
				}
			}
			if len(fresh) > 0 {
				st, err := opts.Store.Upsert(ctx, run, ks.Kind, fresh)
				if err != nil {
					return err
				}
				mu.Lock()
				ks.UpsertStats.Add(st)
				mu.Unlock()
			}
			if len(again) > 0 {
				// Counted when the later token wrote them; only a real
				// difference is worth reporting.
				st, err := opts.Store.Upsert(ctx, run, ks.Kind, again)
				if err != nil {
					return err
				}
				mu.Lock()
				ks.Updated += st.Updated
				mu.Unlock()
			}
			written.Add(int64(len(fresh) + len(again)))
			return nil
		})
		mu.Lock()
		ks.Fetched += c.Fetched
		mu.Unlock()
		if err != nil {
			addErr(fmt.Errorf("token %s: %w", src.Entry.Masked(), err))
		}
	}
	for gi, g := range groups {
		for i, src := range sources {
			wg.Add(1)
			go func() {
				defer wg.Done()
				syncListing(ctx, i, src, g, owns[gi])
			}()
		}
	}
	wg.Wait()
	close(done)
	ks.Selected = selected(owns) + int(noID.Load())
	if inc != nil {
		if err := inc.flush(ctx); err != nil {
			addErr(err)
		}
		ks.SkippedProjects, ks.ReadProjects = int(inc.skipped.Load()), int(inc.read.Load())
		// A kind that skipped nothing read everything it lists: full
		// (kinds without per-project listings always are).
		if !ks.Full && ks.SkippedProjects == 0 {
			ks.Full, ks.FullReason = true, "no project unchanged"
		}
	}

	if ctx.Err() != nil && !ks.Failed() {
		addErr(ctx.Err())
	}
	if ks.Failed() {
		log.Error("resync of kind failed; nothing deleted", "errors", ks.ErrorsTotal, "first_error", ks.Errors[0])
	} else if shifted.Load() {
		ks.Incomplete = true
		log.Warn("resync of kind: GitLab's listing changed while its pages were read, so an object may have been missed; " +
			"nothing deleted for this kind this time (what was read is written; the next resync deletes what is gone)")
	} else if err := deletionGuard(ctx, opts, run, ks.Kind); err != nil {
		addErr(err)
		log.Error("resync of kind not cleaned up", "error", err)
	} else {
		n, err := opts.Store.DeleteStale(ctx, run, ks.Kind)
		if err != nil {
			addErr(err)
		} else if inc != nil {
			// Only now are this pass's marks true: written and cleaned up.
			if err := inc.marks.CompleteKind(ctx, run, ks.Kind, inc.fp, ks.Full); err != nil {
				addErr(err)
			}
		}
		ks.Deleted = n
	}
	ks.Duration = time.Since(start)
	pass := []any{"full", ks.Full}
	if inc != nil && !ks.Full {
		pass = append(pass, "projects_skipped", ks.SkippedProjects, "projects_read", ks.ReadProjects)
	}
	log.Info("resync of kind done", append(pass, "fetched", ks.Fetched, "selected", ks.Selected, "created", ks.Created,
		"updated", ks.Updated, "unchanged", ks.Unchanged, "deleted", ks.Deleted, "errors", ks.ErrorsTotal,
		"duration", ks.Duration.Round(time.Millisecond),
		"rate_per_s", fmt.Sprintf("%.0f", float64(ks.Fetched)/ks.Duration.Seconds()))...)
}

// deletionGuard applies the mapping's entityDeletionThreshold: a resync
// that would delete more than that share of a kind's entities deletes
// nothing and says so (GitLab returning far fewer objects than before is
// more often an outage or a permissions change than a real deletion).
func deletionGuard(ctx context.Context, opts Options, run catalog.RunID, kind string) error {
	sc, ok := opts.Store.(catalog.StaleCounter)
	t := opts.Mapping.EntityDeletionThreshold
	if !ok || t <= 0 || t >= 1 || opts.Config.ForceDeletion {
		return nil
	}
	keys, total, err := sc.StaleKeys(ctx, run, kind)
	if err != nil {
		return err
	}
	if total > 0 && float64(len(keys)) > t*float64(total) {
		return fmt.Errorf("refusing to delete %d of %d %s entities (more than the mapping's entityDeletionThreshold %.0f%%); set forceDeletion (GLSYNC_FORCE_DELETION=true) for one resync if GitLab really lost them",
			len(keys), total, kind, 100*t)
	}
	return nil
}

// selected counts the distinct objects written across listings.
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

// reachTimeout bounds the start-up check that GitLab's address answers.
const reachTimeout = 5 * time.Second

// reachable opens (and closes) a TCP connection to GitLab's host: a
// refused connection, an unknown host or a network that does not route
// fails the resync within seconds, with the URL. It sends no request.
func reachable(ctx context.Context, host string) error {
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return nil // the client reports a bad URL itself
	}
	addr := u.Host
	if u.Port() == "" {
		port := "443"
		if u.Scheme == "http" {
			port = "80"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	d := net.Dialer{Timeout: reachTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("resync: GitLab at %s cannot be reached: %w", redact.URL(host), err)
	}
	return c.Close()
}
