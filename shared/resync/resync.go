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
	// TokenStats, when set, gives the Stats each token's requests are
	// counted into as well, as they are sent: the daemon's per-token
	// metrics, which a resync of hours would otherwise leave flat until
	// its end. Nil (or a nil Stats) counts only into the summary.
	TokenStats func(token string) *gitlab.Stats
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
	// ExpressionErrors are the mapping expressions that failed on some
	// objects (exprerrors.go): counted, not errors of the kind.
	ExpressionErrors []ExpressionError
	// FileErrors are the files that could not be used (the first 100;
	// FileErrorsTotal counts them all, each once): permanent failures of
	// one file (see crawl.FileError), which do not fail the kind. What
	// they produced before is kept, neither updated nor deleted; the rest
	// of the kind is written and cleaned up.
	FileErrors      []*crawl.FileError
	FileErrorsTotal int
	// RefusedClaims are GitOps spec files' claims on entities another
	// project or kind owns (the first 100; RefusedClaimsTotal counts
	// them all): not written, not errors of the kind.
	RefusedClaims      []catalog.Refusal
	RefusedClaimsTotal int
}

// Failed reports whether the kind had any error. File errors do not fail
// it.
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

// FileErrorsTotal is the number of files, all kinds, that could not be
// used.
func (s *Summary) FileErrorsTotal() int {
	n := 0
	for _, k := range s.Kinds {
		n += k.FileErrorsTotal
	}
	return n
}

// Outcome is the resync's result in words: "ok", "completed with file
// errors" (every kind completed; some files were skipped, their entities
// kept) or "failed" (a kind failed: nothing of it was deleted).
func (s *Summary) Outcome() string {
	switch {
	case s.Failed():
		return OutcomeFailed
	case s.FileErrorsTotal() > 0:
		return OutcomeFileErrors
	}
	return OutcomeOK
}

// The values of Summary.Outcome.
const (
	OutcomeOK         = "ok"
	OutcomeFileErrors = "completed with file errors"
	OutcomeFailed     = "failed"
)

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
	var sources []*crawl.Source
	for _, e := range opts.Config.TokenMapping {
		var tokenStats *gitlab.Stats
		if opts.TokenStats != nil {
			tokenStats = opts.TokenStats(e.Token)
		}
		c, err := gitlab.New(opts.Config.GitLabHost, e.Token, opts.Config.ClientOptions(co), gitlab.CountingInto(stats, tokenStats))
		if err != nil {
			return nil, fmt.Errorf("resync: token %s: %w", e.Masked(), err)
		}
		sources = append(sources, crawl.NewSource(e, c, opts.Mapping.Listing()))
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
	var wg, others sync.WaitGroup
	for _, kind := range opts.Mapping.Kinds() {
		ks := &KindSummary{Kind: kind}
		sum.Kinds = append(sum.Kinds, ks)
		// GitOps spec files are judged against what the other kinds own
		// (catalog.FilterClaims): they are read once those have written,
		// or a first resync would let a spec file create another
		// project's service entity before the project kind does.
		after := kind == mapping.GitOpsKind && !opts.Mapping.GitOpsAnyScope
		if !after {
			others.Add(1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if after {
				others.Wait()
			} else {
				defer others.Done()
			}
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
	sum.Duration = time.Since(start)
	// A cancelled run is recorded as failed; use a fresh context so the
	// record is written even then.
	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := opts.Store.FinishRun(finishCtx, run, !sum.Failed(), time.Now()); err != nil {
		return sum, fmt.Errorf("resync: %w", err)
	}
	log.Info("resync finished", "run", run, "ok", !sum.Failed(), "outcome", sum.Outcome(), "file_errors", sum.FileErrorsTotal(),
		"requests", sum.Requests, "retries", sum.Retries,
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
