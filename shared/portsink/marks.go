package portsink

import (
	"context"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// The incremental resync's records live in the mirror: what Port holds is
// what the mirror says was written, so a project the mirror counts as
// unchanged is unchanged in Port too.

var _ catalog.Marks = (*Sink)(nil)

// ProjectMarks returns the mirror's valid marks.
func (s *Sink) ProjectMarks(ctx context.Context, kind, fingerprint string, projects []int64) (map[int64]catalog.ProjectMark, error) {
	return s.mirror.ProjectMarks(ctx, kind, fingerprint, projects)
}

// PutProjectMarks records marks in the mirror.
func (s *Sink) PutProjectMarks(ctx context.Context, run catalog.RunID, kind, fingerprint string, marks []catalog.ProjectMark) error {
	return s.mirror.PutProjectMarks(ctx, run, kind, fingerprint, marks)
}

// TouchProjects counts the mirror's entities of skipped projects as seen,
// so DeleteStale does not delete them from Port.
func (s *Sink) TouchProjects(ctx context.Context, run catalog.RunID, kind string, projects []int64) error {
	return s.mirror.TouchProjects(ctx, run, kind, projects)
}

// CompleteKind records the pass in the mirror.
func (s *Sink) CompleteKind(ctx context.Context, run catalog.RunID, kind, fingerprint string, full bool) error {
	return s.mirror.CompleteKind(ctx, run, kind, fingerprint, full)
}

// LastFullPass reads the mirror.
func (s *Sink) LastFullPass(ctx context.Context, kind, fingerprint string) (time.Time, bool, error) {
	return s.mirror.LastFullPass(ctx, kind, fingerprint)
}
