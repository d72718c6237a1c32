package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
)

// requestPoll is how often the leader looks for resync requests made on
// other replicas.
const requestPoll = time.Second

// leadLoop campaigns for leadership and, while this replica leads, runs
// the scheduled and requested resyncs and the hook reconciliation. With
// the embedded catalog the process always leads. With PostgreSQL, when
// the connection holding leadership fails, the lead context ends: a
// running crawl stops at once and deletes nothing, and this replica
// campaigns again while another takes over.
func (s *Service) leadLoop(ctx context.Context) {
	for ctx.Err() == nil {
		lead, release, err := s.coord.Lead(ctx)
		if err != nil {
			return // ctx ended
		}
		s.leading.Store(true)
		if s.opts.Config.UsesPostgres() {
			s.log.Info("this replica leads: it runs resyncs and hook reconciliation", "replica", s.coord.Replica())
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.maintainLoop(lead)
		}()
		if s.opts.Config.AppHost != "" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.reconcileLoop(lead)
			}()
		}
		s.schedule(lead)
		wg.Wait()
		release()
		s.leading.Store(false)
		// The new leader reports the hooks; this replica's view ages.
		s.metrics.SetHooks(nil)
		s.hookState.clearHooks()
		if ctx.Err() == nil {
			s.log.Warn("leadership lost (the database connection that held it failed): this replica stopped its resync and hook reconciliation; another replica takes over",
				"replica", s.coord.Replica())
		}
	}
}

// schedule runs a resync when leadership begins (resyncOnStart: at
// start-up, and on a replica that takes over, so an interrupted resync is
// completed), on the interval or cron schedule, and when asked on any
// replica.
func (s *Service) schedule(ctx context.Context) {
	cfg := s.opts.Config
	next := func() <-chan time.Time { return nil }
	// after also records when the timer fires, for the console.
	after := func(d time.Duration) <-chan time.Time {
		s.nextResync.Store(time.Now().Add(d).UnixNano())
		return time.After(d)
	}
	switch {
	case cfg.ResyncCron != "":
		sched, err := config.ParseCron(cfg.ResyncCron)
		if err != nil {
			s.log.Error("resyncCron", "error", err)
			break
		}
		next = func() <-chan time.Time { return after(jitter(time.Until(sched.Next(time.Now())))) }
	case cfg.ScheduledResyncInterval > 0:
		next = func() <-chan time.Time { return after(jitter(cfg.ScheduledResyncInterval)) }
	}
	if cfg.ResyncOnStart {
		s.resync(ctx, "start-up")
	}
	poll := time.NewTicker(requestPoll)
	defer poll.Stop()
	timer := next()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer:
			s.resync(ctx, "schedule")
			timer = next()
		case <-s.trigger:
			s.takeRequest(ctx)
		case <-poll.C:
			s.takeRequest(ctx)
		}
	}
}

// FullSuffix ends the reason of a resync that must be a full pass (POST
// /resync?full=true, glsyncd resync --remote … --full): the reason is what
// travels from the replica asked to the leader.
const FullSuffix = " (full)"

// takeRequest runs the resync a replica asked for, if any.
func (s *Service) takeRequest(ctx context.Context) {
	why, ok, err := s.coord.TakeResyncRequest(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("reading resync requests failed", "error", err)
		}
		return
	}
	if ok {
		s.resync(ctx, why)
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
			if err := rec.SaveRequest(context.WithoutCancel(ctx), s.store); err != nil {
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
	ro := resync.Options{Config: cfg, Mapping: s.opts.Mapping, Store: s.store,
		Logger: s.log.With("component", "resync"), Client: s.opts.Client, TokenStats: s.tokens.For,
		Incremental: cfg.Incremental() && !strings.HasSuffix(why, FullSuffix), FullEvery: cfg.FullResyncInterval}
	if rec, err := resync.LoadCompleted(ctx, s.store); err == nil {
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
	if err := rec.Save(ctx, s.store); err != nil {
		s.log.Error("recording the resync summary failed", "error", err)
	}
	if err := rec.SaveRequest(ctx, s.store); err != nil {
		s.log.Error("recording the resync request failed", "error", err, "request", rec.Request)
	}
}

// storedLastResync reads the last completed resync, whichever replica
// ran it.
func (s *Service) storedLastResync(ctx context.Context) (*resync.Record, error) {
	return resync.LoadRecord(ctx, s.store)
}

// TriggerResync asks the leader, on whichever replica it runs, for a
// resync; false when one is running here or a request already waits.
func (s *Service) TriggerResync(why string) bool {
	if s.leading.Load() && !s.resyncFree() {
		return false
	}
	ok, err := s.coord.RequestResync(context.Background(), why)
	if err != nil {
		s.log.Error("resync request failed", "error", err)
		return false
	}
	if ok {
		select {
		case s.trigger <- why:
		default:
		}
	}
	return ok
}

func (s *Service) resyncFree() bool {
	if s.resyncMu.TryLock() {
		s.resyncMu.Unlock()
		return true
	}
	return false
}

// reconcileLoop keeps the hooks as configured: when leadership begins
// and then every hookReconcileInterval.
func (s *Service) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.Config.HookReconcileInterval)
	defer t.Stop()
	for {
		if _, err := s.ReconcileHooks(ctx, true); err != nil && ctx.Err() == nil {
			var sk *hooks.Skipped
			if errors.As(err, &sk) {
				// Not an error of the hooks: glsync could not read what it
				// needs to judge them, so it touched none.
				s.log.Warn("hook reconciliation skipped this cycle: no hook was created, changed or deleted; the next cycle tries again",
					"component", "hooks", "reason", sk.Reason, "failed", sk.What, "error", sk.Err, "next_in", s.opts.Config.HookReconcileInterval.String())
			} else {
				s.log.Error("hook reconciliation failed", "component", "hooks", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Settings that say where requested resyncs stand, for GET /resync/{id}
// on any replica: the request waiting for the leader (at most one waits),
// and the one the leader runs. Finished ones are in resync.RequestsKey.
const (
	pendingRequestKey = "resync_request_pending"
	runningRequestKey = "resync_request_running"
)

// requestMark is how a request's id travels in the reason of a resync
// (the reason is what goes from the replica asked to the leader).
const requestMark = " (request "

// requestID is the request id in why, "" for a resync nobody asked for
// through the admin API.
func requestID(why string) string {
	_, rest, ok := strings.Cut(why, requestMark)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ")")
	return id
}

// newRequestID is a random id for a requested resync.
func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// validRequestID reports whether id has newRequestID's form.
func validRequestID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

func (s *Service) setRunningRequest(ctx context.Context, id string) {
	s.lastMu.Lock()
	s.runningReq = id
	s.lastMu.Unlock()
	if err := s.store.PutSetting(ctx, runningRequestKey, []byte(id)); err != nil {
		s.log.Error("recording the running resync request failed", "error", err)
	}
}

// postResync asks for a resync and answers its request (202): the id to
// follow it with GET /resync/{id}. 409 when one is running or queued.
func (s *Service) postResync(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	why := "admin API" + requestMark + id + ")"
	if full, _ := strconv.ParseBool(r.URL.Query().Get("full")); full {
		why += FullSuffix
	}
	if !s.TriggerResync(why) {
		msg := "a resync is already running or queued; ask again when it has finished (GET /status: resync_running)"
		writeJSON(w, http.StatusConflict, map[string]string{"status": msg, "error": msg})
		return
	}
	if err := s.store.PutSetting(r.Context(), pendingRequestKey, []byte(id)); err != nil {
		s.log.Error("recording the resync request failed", "error", err)
	}
	leader, _ := s.coord.Leader(r.Context())
	writeJSON(w, http.StatusAccepted, adminapi.ResyncRequest{ID: id, State: adminapi.ResyncQueued, Status: "resync started", Leader: leader})
}

// getResync says where the resync requested as {id} stands, whichever
// replica was asked and whichever runs it: queued, running, or done with
// its result. 404 for an id no replica issued, or one older than the
// last resync.KeptRequests requests.
func (s *Service) getResync(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	notFound := map[string]string{"error": "no resync request " + id + " (ids come from POST /resync; the last " +
		strconv.Itoa(resync.KeptRequests) + " are kept)"}
	if !validRequestID(id) {
		writeJSON(w, http.StatusNotFound, notFound)
		return
	}
	rec, err := resync.LoadRequest(ctx, s.store, id)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "reading the resync records failed"})
		return
	}
	leader, _ := s.coord.Leader(ctx)
	out := adminapi.ResyncRequest{ID: id, Leader: leader}
	s.lastMu.Lock()
	runningHere := s.runningReq == id
	s.lastMu.Unlock()
	is := func(key string) bool {
		v, ok, err := s.store.Setting(ctx, key)
		return err == nil && ok && string(v) == id
	}
	switch {
	case rec != nil:
		out.State, out.Result = adminapi.ResyncDone, resultOf(rec)
	case runningHere || is(runningRequestKey):
		out.State = adminapi.ResyncRunning
	case is(pendingRequestKey):
		out.State = adminapi.ResyncQueued
	default:
		writeJSON(w, http.StatusNotFound, notFound)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// resultOf is the admin API's view of a resync record.
func resultOf(r *resync.Record) *adminapi.ResyncResult {
	return &adminapi.ResyncResult{Run: r.Run, OK: r.OK, Outcome: r.Outcome, Replica: r.Replica, Error: r.Error, FailedKinds: r.FailedKinds,
		Kinds: r.Kinds, FileErrorsTotal: r.FileErrorsTotal, DurationSeconds: r.DurationSeconds, Requests: r.Requests, FinishedAt: r.FinishedAt}
}

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
	depth, err := s.store.Depth(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "catalog unavailable"})
		return
	}
	leader, _ := s.coord.Leader(r.Context())
	if cfg := s.opts.Config; cfg.ResyncOnStart && !cfg.ReadyBeforeFirstResync {
		if done, err := resync.LoadCompleted(r.Context(), s.store); err != nil || done == nil {
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
	depth, _ := s.store.Depth(ctx)
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
	done, err := resync.LoadCompleted(ctx, s.store)
	if err == nil && done != nil {
		st["last_completed_resync"] = map[string]any{"run": done.Run, "finished_at": done.FinishedAt, "outcome": done.Outcome, "replica": done.Replica}
	} else {
		st["not_ready_reason"] = s.notReadyReason(ctx, err)
	}
	writeJSON(w, http.StatusOK, st)
}

// registerReplicaMetrics adds the replica's view of the cluster: whether
// it leads, how many replicas are live, when the last resync completed,
// and what the shared store holds that an operator acts on (dead letters,
// the queue's oldest event). Each is read from the store at scrape time,
// so every replica reports the same cluster-wide value.
func (s *Service) registerReplicaMetrics() {
	bg := context.Background()
	s.metrics.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glsync_dead_letters",
			Help: "Events that failed too often and wait in the dead-letter table for an operator to retry or drop them."}, func() float64 {
			n, _ := s.store.DeadLetters(bg)
			return float64(n)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glsync_event_queue_oldest_age_seconds",
			Help: "How long ago the oldest queued event was received (0: the queue is empty)."}, func() float64 {
			at, err := s.store.OldestQueued(bg)
			if err != nil || at.IsZero() {
				return 0
			}
			return max(0, time.Since(at).Seconds())
		}),
		lastResyncCollector{s},
	)
	s.metrics.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glsync_leader", Help: "1 while this replica leads (runs resyncs and hook reconciliation).",
			ConstLabels: prometheus.Labels{"replica": s.coord.Replica()}}, func() float64 {
			if s.leading.Load() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glsync_replicas", Help: "Live replicas sharing the catalog."}, func() float64 {
			r, _ := s.coord.Replicas(bg)
			return float64(len(r))
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glsync_last_resync_completed_timestamp_seconds",
			Help: "When the last resync completed, whichever replica ran it (0: none yet)."}, func() float64 {
			l, _ := resync.LoadCompleted(bg, s.store)
			if l == nil {
				return 0
			}
			return float64(l.FinishedAt.UnixNano()) / 1e9
		}),
	)
}

// maintainEvery is how often the leader prunes the queue's records past
// their retention and gives the catalog's free space back.
const maintainEvery = 10 * time.Minute

func (s *Service) maintainLoop(ctx context.Context) {
	t := time.NewTicker(maintainEvery)
	defer t.Stop()
	for {
		m, err := s.store.Maintain(ctx, catalog.Retention{Deliveries: s.opts.Config.DeliveryDedupeWindow, DeadLetters: s.opts.Config.DeadLetterRetention})
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("catalog maintenance failed", "error", err)
		case m.DeliveriesPruned+m.DeadLettersPruned > 0 || m.BytesReclaimed > 1<<20:
			s.log.Info("catalog maintenance", "delivery_ids_pruned", m.DeliveriesPruned, "dead_letters_pruned", m.DeadLettersPruned,
				"bytes_reclaimed", m.BytesReclaimed)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// logCurrency says, at start-up, what keeps the catalog current after the
// start-up resync, and warns when nothing does.
func (s *Service) logCurrency() {
	cfg := s.opts.Config
	var by []string
	switch {
	case cfg.AppHost != "" && cfg.UseSystemHook:
		by = append(by, "real-time events from the system hook glsync manages")
	case cfg.AppHost != "":
		by = append(by, "real-time events from the group hooks glsync manages")
	case cfg.SystemHookSecret != "" || cfg.WebhookSecret != "":
		by = append(by, "real-time events from hooks created by hand")
	}
	switch {
	case cfg.ResyncCron != "":
		by = append(by, "scheduled resyncs (resyncCron "+cfg.ResyncCron+")")
	case cfg.ScheduledResyncInterval > 0:
		by = append(by, "scheduled resyncs (every "+cfg.ScheduledResyncInterval.String()+")")
	}
	if cfg.AdminToken != "" {
		by = append(by, "resyncs asked through POST /resync")
	}
	if len(by) == 0 {
		s.log.Warn("nothing keeps the catalog current after the start-up resync: set appHost for real-time events, " +
			"scheduledResyncInterval or resyncCron for scheduled resyncs, or adminToken to ask for resyncs (glsyncd resync --remote)")
		return
	}
	s.log.Info("the catalog is kept current by " + strings.Join(by, ", "))
}

var (
	lastResyncSuccessDesc = prometheus.NewDesc("glsync_last_resync_success",
		"1 when the last resync, whichever replica ran it, completed every kind (file errors allowed); 0 when it failed. Absent before the first.", nil, nil)
	lastResyncTimeDesc = prometheus.NewDesc("glsync_last_resync_timestamp_seconds",
		"When the last resync finished, whatever its outcome, whichever replica ran it. Absent before the first.", nil, nil)
)

// lastResyncCollector exposes the last resync's outcome from the shared
// store. It says nothing before the first resync rather than "failed":
// a new deployment's first resync is not a failure.
type lastResyncCollector struct{ s *Service }

func (c lastResyncCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lastResyncSuccessDesc
	ch <- lastResyncTimeDesc
}

func (c lastResyncCollector) Collect(ch chan<- prometheus.Metric) {
	l, err := c.s.storedLastResync(context.Background())
	if err != nil || l == nil {
		return
	}
	ok := 0.0
	if l.OK {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(lastResyncSuccessDesc, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(lastResyncTimeDesc, prometheus.GaugeValue, float64(l.FinishedAt.UnixNano())/1e9)
}
