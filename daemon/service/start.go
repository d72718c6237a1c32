package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/glsync/terraform-provider-glsync/daemon/events"
	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
	"github.com/glsync/terraform-provider-glsync/daemon/webhook"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/portsink"
	"github.com/glsync/terraform-provider-glsync/shared/stores"
)

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
		s.useStore(store)
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

func listen(l net.Listener, addr string) (net.Listener, error) {
	if l != nil {
		return l, nil
	}
	return net.Listen("tcp", addr)
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
