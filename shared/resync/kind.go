package resync

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// kindSync is one kind's part of a resync: a listing per token and
// resource group streams pages through map and store, counters feed the
// progress log, and the end decides what is deleted. Its fields are
// shared by the listings; mu guards the summary, writeMu orders claims
// and writes across tokens.
type kindSync struct {
	opts       Options
	log        *slog.Logger
	run        catalog.RunID
	sources    []*crawl.Source
	ks         *KindSummary
	stats      *gitlab.Stats
	selectedBy []atomic.Int64 // objects each token's globs kept, all kinds
	start      time.Time

	expr    *exprErrors              // the mapping's failing expressions
	refused map[catalog.Refusal]bool // GitOps claims refused, logged once
	inc     *incremental             // nil: the store keeps no marks
	refs    *crawl.References        // file:// and search:// values, cached for this resync
	sem     chan struct{}            // listings of this kind running at once

	// spare are the projects where a file could not be used (see
	// fileError): their entities of this kind that this pass did not
	// write are kept. keepAll is set when such a file's entities cannot
	// be told apart by project: then nothing of the kind is deleted.
	spare   map[int64]bool
	keepAll bool
	seen    map[string]bool // files reported: project id, path, ref, referring file

	fetched, written atomic.Int64 // objects the globs kept, entities written
	noID             atomic.Int64 // kept objects without a numeric id (counted each)
	exampleOnce      sync.Once
	mu               sync.Mutex // guards ks
	writeMu          sync.Mutex // orders claims and writes across tokens
}

// mapped is one object's entities, with the id its owner claim uses.
type mapped struct {
	id    int64
	hasID bool
	ents  []*catalog.Entity
}

func syncKind(ctx context.Context, opts Options, log *slog.Logger, run catalog.RunID, sources []*crawl.Source, ks *KindSummary, stats *gitlab.Stats, selectedBy []atomic.Int64) {
	k := &kindSync{opts: opts, log: log.With("kind", ks.Kind), run: run, sources: sources, ks: ks, stats: stats, selectedBy: selectedBy,
		start: time.Now(), refs: crawl.NewReferences(), sem: make(chan struct{}, maxParallelTokens),
		spare: map[int64]bool{}, seen: map[string]bool{}}
	k.expr = newExprErrors(k.log)
	k.sync(ctx)
}

// sync runs the kind's listings, then its clean-up.
func (k *kindSync) sync(ctx context.Context) {
	ctx = gitlab.WithKind(ctx, k.ks.Kind)
	ctx = mapping.WithRecorder(ctx, k.expr)
	ctx, shifted := gitlab.WithShiftWatch(ctx)
	inc, reason, err := passFor(ctx, k.opts, k.run, k.ks.Kind)
	if err != nil {
		// Unknown history: a full pass is always right.
		k.log.Warn("resync of kind: cannot read the incremental records; reading every project", "error", err)
		inc, reason = nil, "incremental records unreadable"
	}
	k.inc = inc
	k.ks.Full, k.ks.FullReason = inc == nil || !inc.skip, reason
	if inc != nil {
		ctx = crawl.WithIncremental(ctx, inc)
	}
	ctx = crawl.WithFileErrors(ctx, func(fe *crawl.FileError) { k.fileError(fe, fe.ProjectID) })
	// The kind's objects share one file cache: a file that many of them
	// name with file:// is read once in the resync.
	ctx = crawl.WithReferences(ctx, k.refs)
	groups := crawl.GroupResources(k.opts.Mapping.ResourcesFor(k.ks.Kind))
	if len(groups) == 0 {
		// A kind without resources (GitOps: its spec files declare their
		// own entities) still lists with the default options.
		groups = []crawl.ResourceGroup[*mapping.Resource]{{}}
	}
	owns := make([]*owners, len(groups))
	for gi := range owns {
		owns[gi] = newOwners(len(k.sources))
	}

	done := make(chan struct{})
	go k.progress(done)
	var wg sync.WaitGroup
	for gi, g := range groups {
		for i, src := range k.sources {
			wg.Go(func() { k.listing(ctx, i, src, g, owns[gi]) })
		}
	}
	wg.Wait()
	close(done)
	k.ks.Selected = selected(owns) + int(k.noID.Load())
	k.finish(ctx, shifted.Load())
}

// addErr records one of the kind's errors (the first MaxErrorsPerKind
// are kept).
func (k *kindSync) addErr(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ks.ErrorsTotal++
	if len(k.ks.Errors) < k.opts.MaxErrorsPerKind {
		k.ks.Errors = append(k.ks.Errors, err)
	}
}

// fileError records a file that could not be used (once per file per
// resync, whichever token read it) and spares the entities of this kind in
// project, the one whose entities the file produced (0: the entities carry
// no project, so none of the kind is deleted this time).
func (k *kindSync) fileError(fe *crawl.FileError, project int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if project == 0 {
		k.keepAll = true
	} else {
		k.spare[project] = true
	}
	key := fmt.Sprintf("%d|%s|%s|%s", fe.ProjectID, fe.Path, fe.Ref, fe.ReferencedFrom)
	if k.seen[key] {
		return
	}
	k.seen[key] = true
	k.ks.FileErrorsTotal++
	if len(k.ks.FileErrors) < maxFileErrors {
		k.ks.FileErrors = append(k.ks.FileErrors, fe)
	}
	args := []any{"project", fe.Project, "project_id", fe.ProjectID, "file", fe.Path, "ref", fe.Ref, "reason", fe.Reason}
	if fe.ReferencedFrom != "" {
		args = append(args, "referenced_from", fe.ReferencedFrom)
	}
	if fe.Err != nil {
		args = append(args, "error", fe.Err)
	}
	k.log.Warn("file skipped: its entities are kept as they were until a commit fixes it", args...)
}

// maxFileErrors caps the files kept in a kind's summary; all are counted
// and logged.
const maxFileErrors = 100

// progress logs the kind's counts and rate every ProgressEvery until done.
func (k *kindSync) progress(done <-chan struct{}) {
	t := time.NewTicker(k.opts.ProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			el := time.Since(k.start)
			n := k.fetched.Load()
			args := []any{"selected", n, "written", k.written.Load(), "rate_per_s", fmt.Sprintf("%.0f", float64(n)/el.Seconds()),
				"gitlab_retries", k.stats.Retries.Load(), "rate_limited", k.stats.RateLimited.Load()}
			if want := k.opts.Expected[k.ks.Kind]; want > 0 {
				args = append(args, "expected", want, "percent", min(99, 100*int(n)/want))
				if n > 0 && int(n) < want {
					left := time.Duration(float64(el) * float64(want-int(n)) / float64(n))
					args = append(args, "eta", left.Round(time.Second).String())
				}
			}
			k.log.Info("resync progress", args...)
		}
	}
}

// listing reads one token's listing of one resource group, page by page.
func (k *kindSync) listing(ctx context.Context, i int, src *crawl.Source, g crawl.ResourceGroup[*mapping.Resource], own *owners) {
	select {
	case k.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-k.sem }()
	var items []mapped
	lo := g.Options
	lo.SpecPaths, lo.Branch = k.opts.Mapping.SpecPaths, k.opts.Mapping.Branch
	c, err := src.List(ctx, k.ks.Kind, lo, func(page gitlab.Page) error {
		k.fetched.Add(int64(len(page.Items)))
		k.selectedBy[i].Add(int64(len(page.Items)))
		if k.opts.Examples != nil && len(page.Items) > 0 {
			k.exampleOnce.Do(func() {
				n := min(10, len(page.Items))
				k.opts.Examples(ctx, k.ks.Kind, append([]map[string]any(nil), page.Items[:n]...))
			})
		}
		// Map outside the write lock: jq is the CPU-heavy part.
		items = k.mapPage(ctx, src, g, page, items[:0])
		return k.write(ctx, i, own, items)
	})
	k.mu.Lock()
	k.ks.Fetched += c.Fetched
	k.mu.Unlock()
	if err != nil {
		k.addErr(fmt.Errorf("token %s: %w", src.Entry.Masked(), err))
	}
}

// mapPage maps a page's objects with the group's resources, appending to
// items.
func (k *kindSync) mapPage(ctx context.Context, src *crawl.Source, g crawl.ResourceGroup[*mapping.Resource], page gitlab.Page, items []mapped) []mapped {
	version := page.RequestedAt.UnixNano()
	for _, obj := range page.Items {
		it := mapped{}
		it.id, it.hasID = objectID(obj)
		if k.ks.Kind == mapping.GitOpsKind {
			e, err := k.opts.Mapping.Declared(obj)
			if err != nil {
				k.addErr(err)
				continue
			}
			e.Version, e.Project = version, crawl.ObjectProject(selector.KindGitOps, obj)
			if e = k.claim(ctx, e, obj); e == nil {
				continue
			}
			it.ents = append(it.ents, e)
			items = append(items, it)
			continue
		}
		for _, r := range g.Resources {
			ents, _, err := r.MapAll(ctx, obj)
			if err != nil {
				k.addErr(err)
				continue
			}
			for _, e := range ents {
				e.Version, e.Project = version, crawl.ObjectProject(k.ks.Kind, obj)
				if !k.resolveSearch(ctx, r, e, obj) {
					continue
				}
				if crawl.Has(e) {
					if err := k.refs.Resolve(ctx, src, obj, e, string(r.Options.Generation)); err != nil {
						if fe, ok := crawl.AsFileError(err); ok {
							// Written without it, the entity would lose the
							// value; left out, it is kept as it was.
							if fe.Project == "" {
								fe.Project = objectPath(obj)
							}
							k.fileError(fe, e.Project)
							continue
						}
						k.addErr(fmt.Errorf("%s: %w", e.Identifier, err))
						continue
					}
				}
				it.ents = append(it.ents, e)
			}
		}
		items = append(items, it)
	}
	return items
}

// claim returns e if its spec file may write it (catalog.FilterClaims:
// a new entity, or one of the spec's own project), nil after recording
// the refusal; gitopsScope any, or a store that cannot tell owners, lets
// every claim through.
func (k *kindSync) claim(ctx context.Context, e *catalog.Entity, obj map[string]any) *catalog.Entity {
	owners, ok := k.opts.Store.(catalog.Owners)
	if k.opts.Mapping.GitOpsAnyScope || !ok {
		return e
	}
	project, _ := obj["__project"].(map[string]any)
	kept, refused, err := catalog.FilterClaims(ctx, owners, e.Project, k.opts.Mapping.OwnKeys(ctx, project), []*catalog.Entity{e})
	if err != nil {
		k.addErr(err)
		return nil
	}
	for _, r := range refused {
		k.mu.Lock()
		if k.refused == nil {
			k.refused = map[catalog.Refusal]bool{}
		}
		if k.refused[r] {
			k.mu.Unlock()
			continue // read again by another token's listing
		}
		k.refused[r] = true
		k.log.Warn("GitOps claim refused: a spec file declared an entity another project or kind owns (gitopsScope: project)", "claim", r.String())
		k.ks.RefusedClaimsTotal++
		if len(k.ks.RefusedClaims) < 100 {
			k.ks.RefusedClaims = append(k.ks.RefusedClaims, r)
		}
		k.mu.Unlock()
	}
	if len(kept) == 0 {
		return nil
	}
	return kept[0]
}

// write claims a page's objects for token i and writes the entities the
// token owns. Claims and writes happen under one lock, so writes happen
// in claim order and the owner's copy is always the last one written.
func (k *kindSync) write(ctx context.Context, i int, own *owners, items []mapped) error {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	var fresh, again []*catalog.Entity
	for _, it := range items {
		write, rewrite := true, false
		if it.hasID {
			write, rewrite = own.claim(it.id, i)
		} else {
			k.noID.Add(1)
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
		st, err := k.opts.Store.Upsert(ctx, k.run, k.ks.Kind, fresh)
		if err != nil {
			return err
		}
		k.mu.Lock()
		k.ks.UpsertStats.Add(st)
		k.mu.Unlock()
	}
	if len(again) > 0 {
		// Counted when the later token wrote them; only a real
		// difference is worth reporting.
		st, err := k.opts.Store.Upsert(ctx, k.run, k.ks.Kind, again)
		if err != nil {
			return err
		}
		k.mu.Lock()
		k.ks.Updated += st.Updated
		k.mu.Unlock()
	}
	k.written.Add(int64(len(fresh) + len(again)))
	return nil
}

// finish completes the kind after its listings: incremental records,
// then deletion of what the pass did not see, unless it failed, the
// listing shifted under it, or the deletion guard refuses.
func (k *kindSync) finish(ctx context.Context, shifted bool) {
	ks, inc, log := k.ks, k.inc, k.log
	ks.ExpressionErrors = k.expr.list()
	if inc != nil {
		if err := inc.flush(ctx); err != nil {
			k.addErr(err)
		}
		ks.SkippedProjects, ks.ReadProjects = int(inc.skipped.Load()), int(inc.read.Load())
		// A kind that skipped nothing read everything it lists: full
		// (kinds without per-project listings always are).
		if !ks.Full && ks.SkippedProjects == 0 {
			ks.Full, ks.FullReason = true, "no project unchanged"
		}
	}

	if ctx.Err() != nil && !ks.Failed() {
		k.addErr(ctx.Err())
	}
	if !ks.Failed() && !shifted {
		k.spareFiles(ctx)
	}
	if ks.Failed() {
		log.Error("resync of kind failed; nothing deleted", "errors", ks.ErrorsTotal, "first_error", ks.Errors[0])
	} else if k.keepAll {
		log.Warn("resync of kind: a file could not be used and what it produced cannot be told apart from the kind's other entities "+
			"(they carry no project, or the store keeps no project marks); nothing deleted for this kind this time", "file_errors", ks.FileErrorsTotal)
	} else if shifted {
		ks.Incomplete = true
		log.Warn("resync of kind: GitLab's listing changed while its pages were read, so an object may have been missed; " +
			"nothing deleted for this kind this time (what was read is written; the next resync deletes what is gone)")
	} else if err := deletionGuard(ctx, k.opts, k.run, ks.Kind); err != nil {
		k.addErr(err)
		log.Error("resync of kind not cleaned up", "error", err)
	} else {
		n, err := k.opts.Store.DeleteStale(ctx, k.run, ks.Kind)
		if err != nil {
			k.addErr(err)
		} else if inc != nil {
			// Only now are this pass's marks true: written and cleaned up.
			if err := inc.marks.CompleteKind(ctx, k.run, ks.Kind, inc.fp, ks.Full); err != nil {
				k.addErr(err)
			}
		}
		ks.Deleted = n
	}
	ks.Duration = time.Since(k.start)
	pass := []any{"full", ks.Full}
	if inc != nil && !ks.Full {
		pass = append(pass, "projects_skipped", ks.SkippedProjects, "projects_read", ks.ReadProjects)
	}
	log.Info("resync of kind done", append(pass, "fetched", ks.Fetched, "selected", ks.Selected, "created", ks.Created,
		"updated", ks.Updated, "unchanged", ks.Unchanged, "deleted", ks.Deleted, "errors", ks.ErrorsTotal, "file_errors", ks.FileErrorsTotal, "expression_errors", ks.ExpressionErrorCount(),
		"duration", ks.Duration.Round(time.Millisecond),
		"rate_per_s", fmt.Sprintf("%.0f", float64(ks.Fetched)/ks.Duration.Seconds()))...)
}

// spareFiles counts as seen by this run the entities of the kind in the
// projects where a file could not be used, so stale deletion keeps what
// those files produced before. Entities the same projects' other files
// produced this time were written, so this only keeps what no file of
// the project gave this time: the failed files' entities, and those of a
// file of that project deleted since the last resync, which go when the
// project's files are all usable again. Without project marks in the
// store, nothing of the kind is deleted this time.
func (k *kindSync) spareFiles(ctx context.Context) {
	if len(k.spare) == 0 {
		return
	}
	marks, ok := k.opts.Store.(catalog.Marks)
	if !ok {
		k.keepAll = true
		return
	}
	ids := make([]int64, 0, len(k.spare))
	for id := range k.spare {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if err := marks.TouchProjects(ctx, k.run, k.ks.Kind, ids); err != nil {
		k.addErr(fmt.Errorf("keeping the entities of %d projects with a file that could not be used: %w", len(ids), err))
	}
}

// objectPath is the path_with_namespace of the project a raw object is or
// belongs to ("" when it names none), for reports.
func objectPath(obj map[string]any) string {
	if repo, ok := obj["repo"].(map[string]any); ok {
		obj = repo
	}
	p, _ := obj["path_with_namespace"].(string)
	return p
}
