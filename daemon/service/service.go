// Package service is the long-running glsyncd: the webhook listener, the
// event workers, scheduled and manual resyncs, hook reconciliation and the
// admin API (/healthz, /readyz, /metrics, POST /resync, GET /status).
package service

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/semaphore"

	"github.com/glsync/terraform-provider-glsync/daemon/actions"
	"github.com/glsync/terraform-provider-glsync/daemon/console"
	"github.com/glsync/terraform-provider-glsync/daemon/events"
	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
	"github.com/glsync/terraform-provider-glsync/daemon/webhook"
	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/portsink"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// Options configure the service.
type Options struct {
	Config  *config.Config
	Mapping *mapping.Config
	// MappingPath is the local mapping file, if any; with the Port catalog
	// it wins over a mapping held in Port.
	MappingPath string
	// Version is reported to Port.
	Version string
	DataDir string
	// Listen and AdminListen are addresses; WebhookListener and
	// AdminListener, when set, are used instead (tests).
	Listen, AdminListen            string
	WebhookListener, AdminListener net.Listener
	// MetricsListen, when set, serves /metrics, /healthz and /readyz on an
	// address of their own (for Prometheus and probes), so the admin API
	// can stay on loopback or behind a NetworkPolicy.
	MetricsListen string
	Log           *slog.Logger
	// Client tunes GitLab clients (tests shorten backoffs).
	Client gitlab.Options
	// DrainTimeout bounds the time shutdown waits for in-flight work.
	DrainTimeout time.Duration
}

// Service is a running glsyncd.
type Service struct {
	opts  Options
	log   *slog.Logger
	store catalog.Backend
	coord catalog.Coordination
	// leading is true while this replica leads (runs resyncs and hook
	// reconciliation).
	leading atomic.Bool
	// sink is the Port catalog when configured; resyncs write to it.
	sink *portsink.Sink
	// tokens count each token's GitLab requests, for the metrics.
	tokens  *metrics.GitLabTokens
	metrics *metrics.Metrics
	worker  *events.Worker
	// processor's sources cache each token's groups; refreshed after
	// every resync so new root groups are known to event routing.
	processor *events.Processor
	// actions runs Port's action runs (nil unless actionsProcessorEnabled).
	actions *actions.Processor

	scopesMu      sync.Mutex
	managedScopes []string // the hooks the last reconciliation wanted
	// receiver is told when hook secrets change here, so Ocean's route
	// finds a new secret at once (see webhook.Receiver.SecretsChanged).
	receiver  *webhook.Receiver
	hookState *hookState

	ready    atomic.Bool
	resyncMu sync.Mutex // held while a resync runs: resyncs never overlap
	trigger  chan string
	lastMu   sync.Mutex
	last     *resync.Summary
	lastErr  string
	// runningReq is the admin API request the running resync is for.
	runningReq string
	// nextResync is when the next scheduled resync starts (unix
	// nanoseconds; 0: none scheduled), for the console.
	nextResync atomic.Int64
	webhookAt  string
	adminAt    string
	metricsAt  string
	done       chan error

	// cfgMu guards apiMappings: token mappings added through the admin
	// API, applied on top of the config without a restart.
	cfgMu       sync.RWMutex
	apiMappings []namedMapping
}

type namedMapping struct {
	name string
	in   adminapi.TokenMappingInput
}

// config is the effective configuration: the file and environment, plus
// the token mappings added through the admin API (after the config's own,
// so config tokens keep ownership of what they see; a token already in
// the config is not added twice).
func (s *Service) config() *config.Config {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	c := *s.opts.Config
	c.TokenMapping = append(tokenmap.Mapping(nil), s.opts.Config.TokenMapping...)
	c.TokenGroupHooksOverrideMapping = append(hookspec.OverrideMapping(nil), s.opts.Config.TokenGroupHooksOverrideMapping...)
	for _, m := range s.apiMappings {
		if _, dup := c.TokenMapping.Lookup(m.in.Token); dup {
			continue
		}
		entry, override := m.in.Entry()
		c.TokenMapping = append(c.TokenMapping, entry)
		if len(override.Groups) > 0 {
			c.TokenGroupHooksOverrideMapping = append(c.TokenGroupHooksOverrideMapping, override)
		}
	}
	return &c
}

// loadMappings reads the API-managed token mappings from the store.
func (s *Service) loadMappings(ctx context.Context) error {
	names, values, err := s.store.TokenMappings(ctx)
	if err != nil {
		return err
	}
	var ms []namedMapping
	for i, n := range names {
		var in adminapi.TokenMappingInput
		if err := json.Unmarshal(values[i], &in); err != nil {
			return fmt.Errorf("token mapping %q: %w", n, err)
		}
		ms = append(ms, namedMapping{n, in})
	}
	s.cfgMu.Lock()
	s.apiMappings = ms
	s.cfgMu.Unlock()
	return nil
}

// applyMappings makes new token mappings effective for event routing;
// resyncs and hook reconciliation read config() each time.
func (s *Service) applyMappings() error {
	sources, err := s.sources()
	if err != nil {
		return err
	}
	s.processor.SetSources(sources)
	return nil
}

// Run starts the service and blocks until ctx ends and the service has
// shut down gracefully.
func Run(ctx context.Context, opts Options) error {
	s, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	return s.Wait()
}

// Start starts the service in the background; Wait blocks until it ends.
func Start(ctx context.Context, opts Options) (*Service, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	if opts.Client.Shared == nil {
		// The event workers, resyncs and hook reconciliation each make
		// their own clients: one token's share its pace and bound.
		opts.Client.Shared = gitlab.NewShared()
	}
	s := &Service{opts: opts, log: opts.Log, tokens: &metrics.GitLabTokens{}, trigger: make(chan string, 1)}
	// stores.OpenRun takes the SQLite file's run lock, reseals stored
	// secrets and waits for a PostgreSQL that restarts; the start-up work
	// on the store is tried again with the opening.
	store, closeStore, err := stores.OpenRun(ctx, opts.Config, opts.DataDir, stores.RunOptions{Log: s.log}, func(store catalog.Backend) error {
		s.store, s.coord = store, store.Coordination()
		if err := s.coord.ReleaseOrphanedLeases(ctx); err != nil {
			return err
		}
		return s.loadMappings(ctx)
	})
	if err != nil {
		return nil, err
	}
	if opts.Config.Catalog == "port" {
		sink, m, err := portsink.Setup(ctx, opts.Config, store, opts.MappingPath, opts.Version, opts.Log.With("component", "port"))
		if err != nil {
			closeStore()
			return nil, fmt.Errorf("port: %w", err)
		}
		s.sink, s.opts.Mapping, opts.Mapping = sink, m, m
	}
	s.metrics = metrics.New(func() float64 {
		n, _ := store.Depth(context.Background())
		return float64(n)
	}, s.tokens)
	s.registerReplicaMetrics()
	s.hookState = newHookState()
	s.metrics.Registry.MustRegister(s.hookState.skipped)
	sources, err := s.sources()
	if err != nil {
		closeStore()
		return nil, err
	}
	s.processor = &events.Processor{Sources: sources, Mapping: opts.Mapping, Entities: store}
	s.metrics.CountCoalesced(func() float64 { return float64(s.processor.Coalesced.Load()) })
	s.worker = &events.Worker{
		Queue: store, Processor: s.processor,
		Metrics: s.metrics, Log: s.log.With("component", "events"), Workers: opts.Config.EventWorkers, MaxBytes: workerBytes(opts.Config), MaxEventBytes: opts.Config.WebhookMaxBodyBytes,
		// An event waits for GitLab most of its time, one request after
		// another: twice the tokens' in-flight bounds keeps them busy (and
		// lets them grow), and follows them down under a rate limit.
		Concurrency: func() int { return 2 * s.processor.InFlightLimit() },
	}
	if s.sink != nil {
		s.worker.Forward = s.sink.ApplyEvent
	}
	if s.actions = s.newActions(); s.actions != nil {
		s.worker.Observe = s.actions.ObserveEvent
	}
	recv := &webhook.Receiver{Queue: store, Secrets: store, SystemSecret: opts.Config.SystemHookSecret, SystemSigningToken: opts.Config.SystemHookSigningToken, Master: opts.Config.WebhookSecret,
		Scopes: s.hookScopes, ObjectKey: events.ObjectKey, InFlight: semaphore.NewWeighted(inFlightBudget(opts.Config)),
		MaxBody: opts.Config.WebhookMaxBodyBytes, Notify: s.worker.Notify, Metrics: s.metrics, Log: s.log.With("component", "webhook"),
		SharedSigning: s.sharedSigning}
	s.receiver = recv

	wl, err := listen(opts.WebhookListener, opts.Listen)
	if err != nil {
		closeStore()
		return nil, fmt.Errorf("webhook listener: %w", err)
	}
	al, err := listen(opts.AdminListener, opts.AdminListen)
	if err != nil {
		wl.Close()
		closeStore()
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	var ml net.Listener
	if opts.MetricsListen != "" {
		if ml, err = net.Listen("tcp", opts.MetricsListen); err != nil {
			wl.Close()
			al.Close()
			closeStore()
			return nil, fmt.Errorf("metrics listener: %w", err)
		}
		s.metricsAt = ml.Addr().String()
	}
	s.webhookAt, s.adminAt = wl.Addr().String(), al.Addr().String()
	// The webhook port is open to anyone: its connections and their
	// headers are bounded before any secret is checked.
	wl = webhook.LimitConnections(wl, maxConnections(opts.Config), s.metrics, s.log.With("component", "webhook"))
	webSrv := webhook.NewServer(recv)
	ui, err := s.newConsole(al.Addr())
	if err != nil {
		wl.Close()
		al.Close()
		if ml != nil {
			ml.Close()
		}
		closeStore()
		return nil, err
	}
	adminSrv := &http.Server{Handler: s.adminHandler(ui), ReadHeaderTimeout: 10 * time.Second}
	metricsSrv := &http.Server{Handler: s.metricsHandler(), ReadHeaderTimeout: 10 * time.Second}

	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	serve := func(srv *http.Server, l net.Listener, name string) {
		defer wg.Done()
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error(name+" server stopped", "error", err)
		}
	}
	wg.Add(2)
	go serve(webSrv, wl, "webhook")
	go serve(adminSrv, al, "admin")
	if ml != nil {
		wg.Add(1)
		go serve(metricsSrv, ml, "metrics")
	}
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		s.worker.Run(mapping.WithRecorder(runCtx, eventFailures{log: s.log.With("component", "events"), metrics: s.metrics}), opts.DrainTimeout)
	}()
	actionsDone := s.runActions(runCtx)
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		s.leadLoop(runCtx)
	}()
	s.logCurrency()
	s.ready.Store(true)
	where := "data_dir"
	at := opts.DataDir
	if opts.Config.UsesPostgres() {
		where, at = "catalog", "postgres"
	}
	s.log.Info("glsyncd started", "webhooks", s.webhookAt, "admin", s.adminAt, "metrics", s.metricsAt, where, at, "replica", s.coord.Replica(),
		"tokens", len(opts.Config.TokenMapping), "kinds", opts.Mapping.Kinds())

	s.done = make(chan error, 1)
	go func() {
		<-ctx.Done()
		s.ready.Store(false)
		s.log.Info("shutting down: no new deliveries, finishing in-flight work")
		drain, cancel := context.WithTimeout(context.Background(), opts.DrainTimeout)
		defer cancel()
		_ = webSrv.Shutdown(drain) // waits for handlers: accepted events are queued
		cancelRun()                // stop claiming, cancel a running resync (deletes nothing)
		<-workerDone
		<-schedDone
		<-actionsDone
		_ = adminSrv.Shutdown(drain)
		_ = metricsSrv.Shutdown(drain)
		wg.Wait()
		err := closeStore()
		s.log.Info("glsyncd stopped")
		s.done <- err
	}()
	return s, nil
}

// Wait blocks until the service has stopped.
func (s *Service) Wait() error { return <-s.done }

// WebhookAddr and AdminAddr are the listening addresses.
func (s *Service) WebhookAddr() string { return s.webhookAt }

// MetricsAddr is the metrics listener's address ("" without one).
func (s *Service) MetricsAddr() string { return s.metricsAt }

// AdminAddr is the admin listener's address.
func (s *Service) AdminAddr() string { return s.adminAt }

// LastResync returns the summary of the last completed resync, or nil.
func (s *Service) LastResync() *resync.Summary {
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	return s.last
}

// Store gives tests access to the catalog.
func (s *Service) Store() catalog.Backend { return s.store }

func listen(l net.Listener, addr string) (net.Listener, error) {
	if l != nil {
		return l, nil
	}
	return net.Listen("tcp", addr)
}

// sources builds one crawl source per token, in tokenMapping order.
func (s *Service) sources() ([]*crawl.Source, error) {
	co := s.opts.Client
	cfg := s.config()
	co.MaxConcurrent = cfg.MaxConcurrentRequests
	co.MaxRetries = cfg.MaxRetries
	co.Logger = s.log
	var out []*crawl.Source
	for _, e := range cfg.TokenMapping {
		c, err := gitlab.New(cfg.GitLabHost, e.Token, cfg.ClientOptions(co), s.tokens.For(e.Token))
		if err != nil {
			return nil, fmt.Errorf("token %s: %w", e.Masked(), err)
		}
		out = append(out, crawl.NewSource(e, c, s.opts.Mapping.Listing()))
	}
	return out, nil
}

// jitter adds up to 5% (at most a minute) so replicas and restarts do not
// all hit GitLab in the same second.
func jitter(d time.Duration) time.Duration {
	j := d / 20
	if j > time.Minute {
		j = time.Minute
	}
	if j <= 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(int64(j)))
}

// keepExamples stores a few raw objects per kind in the embedded catalog
// (for mapping tests), as the Port sink does.
func (s *Service) keepExamples(ctx context.Context, kind string, objs []map[string]any) {
	if b, err := json.Marshal(objs); err == nil {
		_ = s.store.PutExamples(ctx, kind, b)
	}
}

// hookScopes are the scopes of the hooks glsync manages: those the last
// reconciliation wanted and those the store holds a record of.
func (s *Service) hookScopes(ctx context.Context) []string {
	s.scopesMu.Lock()
	out := append([]string(nil), s.managedScopes...)
	s.scopesMu.Unlock()
	stored, err := s.store.HookScopes(ctx)
	if err != nil {
		s.log.Error("listing hook scopes failed", "error", err)
	}
	for _, sc := range stored {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// secretsChanged tells the webhook receiver that hook secrets or the
// managed hooks may have changed.
func (s *Service) secretsChanged() {
	if s.receiver != nil {
		s.receiver.SecretsChanged()
	}
}

// ReconcileHooks plans (and with apply, applies) the hook changes.
func (s *Service) ReconcileHooks(ctx context.Context, apply bool) (*hooks.Plan, error) {
	sources, err := s.sources() // fresh: root groups may have changed
	if err != nil {
		return nil, err
	}
	plan, res, err := Reconcile(ctx, s.config(), sources, s.store, apply, s.log.With("component", "hooks"))
	s.secretsChanged()
	if apply {
		s.hookState.record(plan, err)
		if err == nil {
			s.metrics.SetHooks(hookStates(plan, res))
			s.hookState.recordHooks(plan, res)
		}
	}
	if err != nil {
		return nil, err
	}
	var scopes []string
	for _, a := range plan.Actions {
		if a.Desired.Scope != "" {
			scopes = append(scopes, a.Desired.Scope)
		}
	}
	s.scopesMu.Lock()
	s.managedScopes = scopes
	s.scopesMu.Unlock()
	for _, p := range plan.Problems {
		s.log.Warn("hooks: "+p.Error(), "scope", p.Scope)
	}
	// What GitLab says of each hook's signing token decides whether the
	// receiver takes its unsigned deliveries.
	signing := plan.Signing()
	maps.Copy(signing, res.Signing)
	if s.receiver != nil {
		for sc, signs := range signing {
			s.receiver.SetSigning(sc, signs)
		}
	}
	if apply && s.config().WebhookSigning {
		s.hookState.recordSigning(signing)
	}
	if apply {
		// For the replicas that do not reconcile: they require the
		// signatures of the hooks that sign too.
		if b, err := json.Marshal(signing); err == nil {
			if err := s.store.PutSetting(ctx, hookSigningKey, b); err != nil {
				s.log.Warn("hooks: recording which hooks sign failed; other replicas learn it from signed deliveries", "error", err)
			} else if s.receiver != nil {
				s.receiver.SigningChanged()
			}
		}
	}
	if apply {
		for _, f := range res.Failed {
			s.log.Error("hooks: "+f.Error(), "scope", f.Scope)
		}
		for _, f := range res.Skipped {
			s.log.Warn("hooks: "+f.Error(), "scope", f.Scope)
		}
		for _, a := range res.Done {
			if a.Op == hooks.OpResume {
				// GitLab dropped the events of the pause: only a resync
				// reads them.
				s.TriggerResync("hook of " + a.Desired.GroupPath + " resumed after GitLab paused it: a resync reads the events it did not deliver meanwhile")
				break
			}
		}
	}
	return plan, nil
}

// hookSigningKey is the setting where the replica that reconciles hooks
// records which hooks sign (scope → GitLab's signing_token_present).
const hookSigningKey = "hook_signing"

// sharedSigning reads that record (nothing before the first
// reconciliation).
func (s *Service) sharedSigning(ctx context.Context) (map[string]bool, error) {
	b, found, err := s.store.Setting(ctx, hookSigningKey)
	if err != nil || !found {
		return nil, err
	}
	var m map[string]bool
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("setting %s: %w", hookSigningKey, err)
	}
	return m, nil
}

// Reconcile is the hook reconciliation shared by `glsyncd run` and
// `glsyncd hooks plan|apply`.
func Reconcile(ctx context.Context, cfg *config.Config, sources []*crawl.Source, store catalog.Secrets, apply bool, log *slog.Logger) (*hooks.Plan, hooks.Result, error) {
	return ReconcileWith(ctx, cfg, sources, store, ReconcileOptions{Apply: apply}, log)
}

// ReconcileOptions tune ReconcileWith.
type ReconcileOptions struct {
	// Apply makes the changes; without it the plan is only shown.
	Apply bool
	// RotateSecrets gives new secrets to hooks whose secret glsync does not
	// hold (never needed with webhookSecret).
	RotateSecrets bool
}

// HookSecrets is where the hooks' secrets come from: derived from
// webhookSecret when it is set, else the store's.
func HookSecrets(cfg *config.Config, store catalog.Secrets) catalog.Secrets {
	if cfg.WebhookSecret != "" {
		return hooks.Keyed{Master: cfg.WebhookSecret, Store: store}
	}
	return store
}

// ReconcileWith is Reconcile with options.
func ReconcileWith(ctx context.Context, cfg *config.Config, sources []*crawl.Source, store catalog.Secrets, o ReconcileOptions, log *slog.Logger) (*hooks.Plan, hooks.Result, error) {
	apply := o.Apply
	secrets := HookSecrets(cfg, store)
	st := hooks.Settings{AppHost: cfg.AppHost, UseSystemHook: cfg.UseSystemHook, Override: cfg.TokenGroupHooksOverrideMapping, Signing: cfg.WebhookSigning}
	desired, problems, err := hooks.DesiredHooks(ctx, st, sources)
	if err != nil {
		return nil, hooks.Result{}, err
	}
	if cfg.UseSystemHook && len(desired) == 0 && cfg.SystemHookSecret != "" {
		// A hand-made system hook with its secret in config: nothing to do.
		problems = nil
	}
	plan, err := hooks.MakePlanWith(ctx, hooks.PlanOptions{AppHost: cfg.AppHost, RotateUnknownSecrets: o.RotateSecrets}, desired, problems, secrets)
	if err != nil {
		return nil, hooks.Result{}, err
	}
	if !apply {
		return plan, hooks.Result{}, nil
	}
	return plan, hooks.Apply(ctx, plan, secrets, log), nil
}

// metricsHandler serves what Prometheus and probes read, nothing else.
func (s *Service) metricsHandler() http.Handler {
	mux := http.NewServeMux()
	s.observe(mux)
	return mux
}

// observe adds /healthz, /readyz and /metrics to mux.
func (s *Service) observe(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
}

// adminHandler serves the admin API (and what metricsHandler serves),
// and the console under /ui/.
func (s *Service) adminHandler(ui http.Handler) http.Handler {
	mux := http.NewServeMux()
	s.observe(mux)
	mux.Handle(console.Prefix, ui)
	mux.Handle("GET /ui", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
	mux.HandleFunc("POST /resync", s.authed(s.postResync))
	mux.HandleFunc("GET /resync/{id}", s.authed(s.getResync))
	mux.HandleFunc("GET /admin/token-mappings", s.authed(s.listMappings))
	mux.HandleFunc("GET /admin/token-mappings/{name}", s.authed(s.getMapping))
	mux.HandleFunc("PUT /admin/token-mappings/{name}", s.authed(s.putMapping))
	mux.HandleFunc("DELETE /admin/token-mappings/{name}", s.authed(s.deleteMapping))
	mux.HandleFunc("GET /admin/hook-secrets/{scope}", s.authed(s.getSecret))
	mux.HandleFunc("PUT /admin/hook-secrets/{scope}", s.authed(s.putSecret))
	mux.HandleFunc("DELETE /admin/hook-secrets/{scope}", s.authed(s.deleteSecret))
	mux.HandleFunc("GET /status", s.authed(s.status))
	return mux
}

// authed requires "Authorization: Bearer <adminToken>".
func (s *Service) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		want := s.opts.Config.AdminToken
		if want == "" {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "the admin API is disabled: set adminToken (GLSYNC_ADMIN_TOKEN)"})
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="glsyncd"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// inFlightBudget is webhookMaxInFlightBytes, or its default for a config
// built in code.
func inFlightBudget(c *config.Config) int64 {
	if c.WebhookMaxInFlightBytes > 0 {
		return c.WebhookMaxInFlightBytes
	}
	return config.DefaultInFlightBytes(c.WebhookMaxBodyBytes)
}

// maxConnections is webhookMaxConnections, or its default for a config
// built in code.
func maxConnections(c *config.Config) int {
	if c.WebhookMaxConnections > 0 {
		return c.WebhookMaxConnections
	}
	return config.DefaultMaxConnections
}

// workerBytes bounds the event bodies the workers hold at once: half the
// in-flight budget (the listener holds the other half), and never less
// than one delivery of the largest size.
func workerBytes(c *config.Config) int64 {
	return max(inFlightBudget(c)/2, c.WebhookMaxBodyBytes)
}
