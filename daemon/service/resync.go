package service

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
)

// keepExamples stores a few raw objects per kind in the embedded catalog
// (for mapping tests), as the Port sink does.
func (s *Service) keepExamples(ctx context.Context, kind string, objs []map[string]any) {
	if b, err := json.Marshal(objs); err == nil {
		_ = s.target.PutExamples(ctx, kind, b)
	}
}

// resync runs one full resync unless one is already running.
func (s *Service) resync(ctx context.Context, why string) {
	req := requestID(why)
	if !s.resyncMu.TryLock() {
		s.log.Info("resync already running; not starting another", "trigger", why)
		if req != "" {
			// Whoever waits for this request hears it did not run.
			rec := resync.FailedRecord(s.coord.Replica(), "not run: another resync was running")
			rec.Request = req
			if err := rec.SaveRequest(context.WithoutCancel(ctx), s.records); err != nil {
				s.log.Error("recording the resync request failed", "error", err)
			}
		}
		return
	}
	defer s.resyncMu.Unlock()
	s.log.Info("resync triggered", "trigger", why, "replica", s.coord.Replica())
	// Token mappings stored through the admin API of another replica are
	// read from the shared store: the resync uses them all.
	if err := s.refreshMappings(ctx); err != nil {
		s.log.Warn("reading the token mappings of the admin API failed; resyncing with those known", "error", err)
	}
	if req != "" {
		s.setRunningRequest(ctx, req)
		defer s.setRunningRequest(context.WithoutCancel(ctx), "")
	}
	cfg := s.config()
	ro := resync.Options{Config: cfg, Mapping: s.opts.Mapping, Store: s.target,
		Logger: s.log.With("component", "resync"), Client: s.opts.Client, TokenStats: s.tokens.For,
		Incremental: cfg.Incremental() && !strings.HasSuffix(why, FullSuffix), FullEvery: cfg.FullResyncInterval}
	if rec, err := resync.LoadCompleted(ctx, s.records); err == nil {
		ro.Expected = rec.Expected()
	}
	if s.sink != nil {
		ro.Store, ro.Examples = s.sink, s.sink.Examples
	} else if s.opts.Config.SendRawDataExamples {
		ro.Examples = s.keepExamples
	}
	sum, err := resync.Run(ctx, ro)
	s.processor.InvalidateGroups()
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	s.last, s.lastErr = sum, ""
	if err != nil {
		s.lastErr = err.Error()
		s.metrics.ResyncRuns.WithLabelValues("failed").Inc()
		s.log.Error("resync could not run", "error", err)
		// Recorded, so /readyz and /status on every replica say why.
		rec := resync.FailedRecord(s.coord.Replica(), s.lastErr)
		rec.Request = req
		s.saveRecord(ctx, rec)
		return
	}
	s.metrics.ResyncDuration.Observe(sum.Duration.Seconds())
	result := "ok"
	if sum.Failed() {
		result = "failed"
		s.lastErr = sum.Err().Error()
		if errors.Is(sum.Err(), catalog.ErrNotLeader) || ctx.Err() != nil {
			s.log.Warn("resync interrupted: this replica no longer leads; it deleted nothing", "run", sum.Run)
		}
	}
	s.metrics.ResyncRuns.WithLabelValues(result).Inc()
	for _, k := range sum.Kinds {
		s.metrics.ResyncFileErrors.WithLabelValues(k.Kind).Set(float64(k.FileErrorsTotal))
		s.metrics.ResyncKindDuration.WithLabelValues(k.Kind).Set(k.Duration.Seconds())
		for op, n := range map[string]int{"created": k.Created, "updated": k.Updated, "unchanged": k.Unchanged, "deleted": k.Deleted} {
			s.metrics.ResyncEntities.WithLabelValues(k.Kind, op).Set(float64(n))
		}
		s.metrics.ResyncExpressionErrors.WithLabelValues(k.Kind).Set(float64(k.ExpressionErrorCount()))
	}
	rec := resync.NewRecord(sum, s.coord.Replica(), s.lastErr)
	rec.Request = req
	s.saveRecord(ctx, rec)
}

// saveRecord keeps rec as the last resync's and, for a requested one,
// among the requests' (GET /resync/{id}).
func (s *Service) saveRecord(ctx context.Context, rec resync.Record) {
	ctx = context.WithoutCancel(ctx)
	if err := rec.Save(ctx, s.records); err != nil {
		s.log.Error("recording the resync summary failed", "error", err)
	}
	if err := rec.SaveRequest(ctx, s.records); err != nil {
		s.log.Error("recording the resync request failed", "error", err, "request", rec.Request)
	}
}

// storedLastResync reads the last completed resync, whichever replica
// ran it.
func (s *Service) storedLastResync(ctx context.Context) (*resync.Record, error) {
	return resync.LoadRecord(ctx, s.records)
}

func (s *Service) resyncFree() bool {
	if s.resyncMu.TryLock() {
		s.resyncMu.Unlock()
		return true
	}
	return false
}
