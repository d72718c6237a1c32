package crawl

import (
	"context"
	"time"
)

// Incremental lets the per-project kinds (those listed through
// EachProject: pipelines, jobs, releases, tags, branches, deployments,
// files, folders, skills, plugins, GitOps specs) skip projects that GitLab
// shows unchanged since the kind last read them completely. The resync
// decides what "unchanged" means and keeps the records (see
// resync.incremental); the crawler only asks and reports.
type Incremental interface {
	// Unchanged returns which of the project refs (ProjectRef objects,
	// with last_activity_at) need not be read again.
	Unchanged(ctx context.Context, refs []map[string]any) (map[int64]bool, error)
	// Skipped reports the projects not read because they were unchanged.
	Skipped(ctx context.Context, ids []int64) error
	// Read reports a project read completely, its reading started at at.
	Read(ctx context.Context, ref map[string]any, at time.Time) error
}

type incrementalKey struct{}

// WithIncremental makes the per-project listings made with ctx consult
// inc. Without it every project is read.
func WithIncremental(ctx context.Context, inc Incremental) context.Context {
	return context.WithValue(ctx, incrementalKey{}, inc)
}

func incrementalFrom(ctx context.Context) Incremental {
	inc, _ := ctx.Value(incrementalKey{}).(Incremental)
	return inc
}

// incrementalChunk is how many projects are looked up at once.
const incrementalChunk = 500

// skipUnchanged removes from refs the projects inc says are unchanged,
// reporting them as skipped.
func skipUnchanged(ctx context.Context, inc Incremental, refs []map[string]any) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(refs))
	for start := 0; start < len(refs); start += incrementalChunk {
		chunk := refs[start:min(start+incrementalChunk, len(refs))]
		same, err := inc.Unchanged(ctx, chunk)
		if err != nil {
			return nil, err
		}
		var skipped []int64
		for _, pr := range chunk {
			id := int64(num(pr["id"]))
			if same[id] {
				skipped = append(skipped, id)
				continue
			}
			out = append(out, pr)
		}
		if len(skipped) > 0 {
			if err := inc.Skipped(ctx, skipped); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
