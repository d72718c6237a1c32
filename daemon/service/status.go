package service

import (
	"context"
	"net/http"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/resync"
)

// readyz is ready once the service runs, the catalog answers and (unless
// readyBeforeFirstResync, or resyncOnStart is off) a resync has completed
// on some replica, so a new deployment is not served from an empty
// catalog; it says which replica leads and how deep the shared queue is.
// Completed means every kind completed (files skipped for file errors
// allowed): a resync whose kinds failed, a refused token say, leaves the
// catalog as empty as before. The completion is a setting in the shared
// store, so followers learn it too.
func (s *Service) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
		return
	}
	depth, err := s.queue.Depth(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "catalog unavailable"})
		return
	}
	leader, _ := s.coord.Leader(r.Context())
	if cfg := s.opts.Config; cfg.ResyncOnStart && !cfg.ReadyBeforeFirstResync {
		if done, err := resync.LoadCompleted(r.Context(), s.records); err != nil || done == nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "first resync not completed yet",
				"reason": s.notReadyReason(r.Context(), err), "replica": s.coord.Replica(), "leader": leader})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "replica": s.coord.Replica(), "leader": leader, "queue_depth": depth})
}

// notReadyReason says why no resync has completed yet: the last one's
// failure, whichever replica ran it, or that one is still running.
func (s *Service) notReadyReason(ctx context.Context, err error) string {
	if err != nil {
		return "reading the resync records failed: " + err.Error()
	}
	if last, err := s.storedLastResync(ctx); err == nil && last != nil && !last.OK {
		why := "the last resync failed"
		if len(last.FailedKinds) > 0 {
			why += " (kinds " + strings.Join(last.FailedKinds, ", ") + ")"
		}
		if last.Error != "" {
			why += ": " + last.Error
		}
		return why
	}
	return "the first resync is running or has not started"
}

func (s *Service) status(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	depth, _ := s.queue.Depth(ctx)
	leader, _ := s.coord.Leader(ctx)
	replicas, _ := s.coord.Replicas(ctx)
	st := map[string]any{"replica": s.coord.Replica(), "leader": leader, "leading": s.leading.Load(), "replicas": replicas,
		"queue_depth": depth, "resync_running": !s.resyncFree()}
	s.lastMu.Lock()
	st["last_resync_error"] = s.lastErr
	s.lastMu.Unlock()
	st["hook_reconcile"] = s.hookState.snapshot()
	if l, err := s.storedLastResync(ctx); err == nil && l != nil {
		st["last_resync"] = l
		if l.Error != "" {
			st["last_resync_error"] = l.Error
		}
	}
	// Readiness waits for a completed resync; say which one, or why none.
	done, err := resync.LoadCompleted(ctx, s.records)
	if err == nil && done != nil {
		st["last_completed_resync"] = map[string]any{"run": done.Run, "finished_at": done.FinishedAt, "outcome": done.Outcome, "replica": done.Replica}
	} else {
		st["not_ready_reason"] = s.notReadyReason(ctx, err)
	}
	writeJSON(w, http.StatusOK, st)
}
