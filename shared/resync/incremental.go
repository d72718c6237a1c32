package resync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
)

// Incremental resyncs.
//
// A per-project kind costs a request or more per project on every pass.
// An incremental pass skips the projects GitLab shows unchanged since the
// kind last read them completely, and counts their entities as seen, so
// stale deletion stays exact for everything it reads.
//
// "Unchanged" rests on the project listing, which every pass reads in
// full anyway: the project's last_activity_at, and a hash of the fields
// its children's entities carry (path, name, web URL, default branch,
// archived, empty repository). GitLab moves last_activity_at on every
// event of the project (pushes, tag pushes, merge requests, issues,
// comments, membership) but at most once an hour
// (Event::RESET_PROJECT_ACTIVITY_INTERVAL), so a project counts as
// unchanged only when its last_activity_at is at least ActivityGrace
// older than the start of its last complete read: any event after that
// read would have moved it past that point.
//
// What GitLab records no event for is missed until the next full pass
// (README, "Incremental resyncs"): pipeline and job status changes,
// pipelines not started by a push (schedules, the API, triggers),
// deployments, releases on an existing tag, membership inherited from a
// group. Webhooks deliver all of them in real time, which is why the
// daemon only runs incremental passes when they are set up.

// DefaultActivityGrace is GitLab's throttle on last_activity_at.
const DefaultActivityGrace = time.Hour

// DefaultFullEvery is how often a kind gets a full pass when incremental
// passes are on.
const DefaultFullEvery = 24 * time.Hour

// marksBatch is how many marks are written at once.
const marksBatch = 200

// kindFingerprint identifies the configuration of kind's resources.
func kindFingerprint(m *mapping.Config, kind string) string {
	var b strings.Builder
	for _, r := range m.ResourcesFor(kind) {
		b.WriteString(r.Fingerprint())
		b.WriteByte(',')
	}
	fmt.Fprintf(&b, "spec=%v;branch=%s", m.SpecPaths, m.Branch)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:12])
}

// refHash hashes the project fields a child's entity may carry, so a
// renamed, moved or archived project is read again.
func refHash(ref map[string]any) string {
	h := sha256.New()
	for _, f := range []string{"path_with_namespace", "name", "path", "web_url", "default_branch", "archived", "empty_repo"} {
		fmt.Fprintf(h, "%s=%v\x00", f, ref[f])
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// incremental is one kind's crawl.Incremental in one run.
type incremental struct {
	marks    catalog.Marks
	run      catalog.RunID
	kind, fp string
	skip     bool // false in a full pass: every project is read
	grace    time.Duration
	mu       sync.Mutex
	pending  []catalog.ProjectMark
	skipped  atomic.Int64
	read     atomic.Int64
}

var _ crawl.Incremental = (*incremental)(nil)

// Unchanged returns the projects whose valid mark matches their fields
// and predates their last activity by the grace.
func (in *incremental) Unchanged(ctx context.Context, refs []map[string]any) (map[int64]bool, error) {
	if !in.skip {
		return nil, nil
	}
	ids := make([]int64, 0, len(refs))
	for _, r := range refs {
		if id, ok := objectID(r); ok {
			ids = append(ids, id)
		}
	}
	marks, err := in.marks.ProjectMarks(ctx, in.kind, in.fp, ids)
	if err != nil {
		return nil, err
	}
	out := map[int64]bool{}
	for _, r := range refs {
		id, _ := objectID(r)
		m, ok := marks[id]
		if !ok || m.RefHash != refHash(r) {
			continue
		}
		last, err := time.Parse(time.RFC3339, fmt.Sprint(r["last_activity_at"]))
		if err != nil {
			continue // no activity time: read it
		}
		if !last.After(m.ReadAt.Add(-in.grace)) {
			out[id] = true
		}
	}
	return out, nil
}

// Skipped counts the skipped projects' entities as seen.
func (in *incremental) Skipped(ctx context.Context, ids []int64) error {
	in.skipped.Add(int64(len(ids)))
	return in.marks.TouchProjects(ctx, in.run, in.kind, ids)
}

// Read records a project read completely (written in batches).
func (in *incremental) Read(ctx context.Context, ref map[string]any, at time.Time) error {
	id, ok := objectID(ref)
	if !ok {
		return nil
	}
	in.read.Add(1)
	in.mu.Lock()
	in.pending = append(in.pending, catalog.ProjectMark{Project: id, ReadAt: at, RefHash: refHash(ref)})
	var batch []catalog.ProjectMark
	if len(in.pending) >= marksBatch {
		batch, in.pending = in.pending, nil
	}
	in.mu.Unlock()
	if batch == nil {
		return nil
	}
	return in.marks.PutProjectMarks(ctx, in.run, in.kind, in.fp, batch)
}

// flush writes the marks still pending.
func (in *incremental) flush(ctx context.Context) error {
	in.mu.Lock()
	batch := in.pending
	in.pending = nil
	in.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	return in.marks.PutProjectMarks(ctx, in.run, in.kind, in.fp, batch)
}

// sharedEntities explains why kind's entities may also be written by
// another kind ("" when they cannot). It matters only where writes replace
// entities (enableMergeEntity: false): skipping a project would then leave
// the other kind's write of the entity in place of this kind's (as the
// every-kind mapping's file kind completes the project kind's services).
// Merged writes keep both kinds' parts whichever comes last.
func sharedEntities(m *mapping.Config, kind string) string {
	mine := map[string]bool{}
	for _, r := range m.ResourcesFor(kind) {
		bp, ok := r.ConstBlueprint()
		if !ok {
			return "a resource's blueprint depends on the object"
		}
		mine[bp] = true
	}
	for _, r := range m.Resources {
		if r.Kind == kind {
			continue
		}
		bp, ok := r.ConstBlueprint()
		if !ok || mine[bp] {
			return fmt.Sprintf("kind %s writes entities of the same blueprint (%s)", r.Kind, bp)
		}
	}
	return ""
}

// passFor decides whether kind's pass in this run is full or incremental,
// and returns the crawl hook (nil when the store keeps no marks).
func passFor(ctx context.Context, opts Options, run catalog.RunID, kind string) (*incremental, string, error) {
	marks, ok := opts.Store.(catalog.Marks)
	if !ok {
		return nil, "the store keeps no marks", nil
	}
	in := &incremental{marks: marks, run: run, kind: kind, fp: kindFingerprint(opts.Mapping, kind), grace: opts.ActivityGrace}
	if in.grace <= 0 {
		in.grace = DefaultActivityGrace
	}
	if !opts.Incremental {
		return in, "full pass requested", nil
	}
	if !opts.Mapping.EnableMergeEntity {
		if why := sharedEntities(opts.Mapping, kind); why != "" {
			return in, why + " and enableMergeEntity is false", nil
		}
	}
	every := opts.FullEvery
	if every <= 0 {
		every = DefaultFullEvery
	}
	last, ok, err := marks.LastFullPass(ctx, kind, in.fp)
	switch {
	case err != nil:
		return nil, "", err
	case !ok:
		return in, "no full pass of this mapping yet", nil
	case time.Since(last) >= every:
		return in, fmt.Sprintf("last full pass %s ago (full passes every %s)", time.Since(last).Round(time.Minute), every), nil
	}
	in.skip = true
	return in, "", nil
}
