package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/webhook"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
)

// listeners are the service's sockets: the webhooks', the admin API's,
// and the metrics' when MetricsListen is set (nil otherwise).
type listeners struct {
	webhook, admin, metrics net.Listener
}

// close closes them, when the service fails to start.
func (l listeners) close() {
	l.webhook.Close()
	l.admin.Close()
	if l.metrics != nil {
		l.metrics.Close()
	}
}

// listen opens the listeners and records their addresses. The webhook
// port is open to anyone: its connections and their headers are bounded
// before any secret is checked.
func (s *Service) listen() (listeners, error) {
	opts := s.opts
	wl, err := listenOn(opts.WebhookListener, opts.Listen)
	if err != nil {
		return listeners{}, fmt.Errorf("webhook listener: %w", err)
	}
	al, err := listenOn(opts.AdminListener, opts.AdminListen)
	if err != nil {
		wl.Close()
		return listeners{}, fmt.Errorf("admin listener: %w", err)
	}
	var ml net.Listener
	if opts.MetricsListen != "" {
		if ml, err = net.Listen("tcp", opts.MetricsListen); err != nil {
			wl.Close()
			al.Close()
			return listeners{}, fmt.Errorf("metrics listener: %w", err)
		}
		s.metricsAt = ml.Addr().String()
	}
	s.webhookAt, s.adminAt = wl.Addr().String(), al.Addr().String()
	wl = webhook.LimitConnections(wl, maxConnections(opts.Config), s.metrics, s.log.With("component", "webhook"))
	return listeners{webhook: wl, admin: al, metrics: ml}, nil
}

// servers serve the listeners: the webhook receiver, the admin API with
// the console, and the metrics and probes.
type servers struct {
	webhook, admin, metrics *http.Server
}

// newServers builds the servers; the console is told whether the admin
// listener is reachable from this machine only.
func (s *Service) newServers(ls listeners) (servers, error) {
	webSrv := webhook.NewServer(s.receiver)
	ui, err := s.newConsole(ls.admin.Addr())
	if err != nil {
		return servers{}, err
	}
	adminSrv := &http.Server{Handler: s.adminHandler(ui), ReadHeaderTimeout: 10 * time.Second}
	metricsSrv := &http.Server{Handler: s.metricsHandler(), ReadHeaderTimeout: 10 * time.Second}
	return servers{webhook: webSrv, admin: adminSrv, metrics: metricsSrv}, nil
}

// serve serves each listener until its server shuts down; the group is
// done when all have stopped.
func (s *Service) serve(ls listeners, srv servers) *sync.WaitGroup {
	var wg sync.WaitGroup
	serve := func(srv *http.Server, l net.Listener, name string) {
		defer wg.Done()
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error(name+" server stopped", "error", err)
		}
	}
	wg.Add(2)
	go serve(srv.webhook, ls.webhook, "webhook")
	go serve(srv.admin, ls.admin, "admin")
	if ls.metrics != nil {
		wg.Add(1)
		go serve(srv.metrics, ls.metrics, "metrics")
	}
	return &wg
}

// loops are the ends of the service's background loops: each channel
// closes once its loop has stopped.
type loops struct {
	worker, lead, actions <-chan struct{}
}

// startLoops starts the event workers, the actions processor and the
// leadership loop (resyncs, hook reconciliation, maintenance) under ctx.
func (s *Service) startLoops(ctx context.Context) loops {
	opts := s.opts
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		s.worker.Run(mapping.WithRecorder(ctx, eventFailures{log: s.log.With("component", "events"), metrics: s.metrics}), opts.DrainTimeout)
	}()
	actionsDone := s.runActions(ctx)
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		s.leadLoop(ctx)
	}()
	return loops{worker: workerDone, lead: schedDone, actions: actionsDone}
}

// run starts serving and the loops, and shuts them down when ctx ends;
// the channel it returns then receives closeStore's error. The loops run
// under a context of their own, so that shutdown can stop them only once
// the webhook server has queued what it accepted.
func (s *Service) run(ctx context.Context, ls listeners, srv servers, closeStore func() error) chan error {
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	wg := s.serve(ls, srv)
	lp := s.startLoops(runCtx)
	s.logCurrency()
	s.ready.Store(true)
	s.logStarted()
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		done <- s.shutdown(srv, cancelRun, lp, wg, closeStore)
	}()
	return done
}

// shutdown stops taking deliveries, lets in-flight work finish (for at
// most DrainTimeout), stops the loops and the servers, and closes the
// store.
func (s *Service) shutdown(srv servers, cancelRun context.CancelFunc, lp loops, wg *sync.WaitGroup, closeStore func() error) error {
	s.ready.Store(false)
	s.log.Info("shutting down: no new deliveries, finishing in-flight work")
	drain, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	_ = srv.webhook.Shutdown(drain) // waits for handlers: accepted events are queued
	cancelRun()                     // stop claiming, cancel a running resync (deletes nothing)
	<-lp.worker
	<-lp.lead
	<-lp.actions
	_ = srv.admin.Shutdown(drain)
	_ = srv.metrics.Shutdown(drain)
	wg.Wait()
	err := closeStore()
	s.log.Info("glsyncd stopped")
	return err
}

// logStarted says where the service listens and what it serves.
func (s *Service) logStarted() {
	opts := s.opts
	where := "data_dir"
	at := opts.DataDir
	if opts.Config.UsesPostgres() {
		where, at = "catalog", "postgres"
	}
	s.log.Info("glsyncd started", "webhooks", s.webhookAt, "admin", s.adminAt, "metrics", s.metricsAt, where, at, "replica", s.coord.Replica(),
		"tokens", len(opts.Config.TokenMapping), "kinds", opts.Mapping.Kinds())
}

// listenOn is l when one is given (tests), else a new listener on addr.
func listenOn(l net.Listener, addr string) (net.Listener, error) {
	if l != nil {
		return l, nil
	}
	return net.Listen("tcp", addr)
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
