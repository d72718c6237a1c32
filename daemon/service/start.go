package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/glsync/terraform-provider-glsync/daemon/events"
	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
	"github.com/glsync/terraform-provider-glsync/daemon/webhook"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/portsink"
	"github.com/glsync/terraform-provider-glsync/shared/stores"
)

// Start starts the service in the background; Wait blocks until it ends.
// It is the wiring only: each part is built by a function beside it, in
// the order they depend on one another.
func Start(ctx context.Context, opts Options) (_ *Service, err error) {
	s := newService(opts)
	store, closeStore, err := s.openStore(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			closeStore()
		}
	}()
	if err = s.setupPort(ctx, store); err != nil {
		return nil, err
	}
	s.hookState = newHookState()
	s.newMetrics(store)
	if err = s.newProcessor(store); err != nil {
		return nil, err
	}
	s.newWorker(store)
	s.newReceiver(store)
	ls, err := s.listen()
	if err != nil {
		return nil, err
	}
	srv, err := s.newServers(ls)
	if err != nil {
		ls.close()
		return nil, err
	}
	s.done = s.run(ctx, ls, srv, closeStore)
	return s, nil
}

// newService settles the options' defaults.
func newService(opts Options) *Service {
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
	return &Service{opts: opts, log: opts.Log, tokens: &metrics.GitLabTokens{}, trigger: make(chan string, 1)}
}

// openStore opens the store and gives each part its view of it.
// stores.OpenRun takes the SQLite file's run lock, reseals stored
// secrets and waits for a PostgreSQL that restarts; the start-up work on
// the store (orphaned leases, the admin API's token mappings) is tried
// again with the opening.
func (s *Service) openStore(ctx context.Context) (catalog.Backend, func() error, error) {
	opts := s.opts
	store, closeStore, err := stores.OpenRun(ctx, opts.Config, opts.DataDir, stores.RunOptions{Log: s.log}, func(store catalog.Backend) error {
		s.useStore(store)
		if err := s.coord.ReleaseOrphanedLeases(ctx); err != nil {
			return err
		}
		return s.loadMappings(ctx)
	})
	if err != nil {
		return nil, nil, err
	}
	return store, closeStore, nil
}

// setupPort sets the Port sink up with the Port catalog: the store is its
// mirror, and the mapping is the one Port holds unless a local file is
// given.
func (s *Service) setupPort(ctx context.Context, store catalog.Mirror) error {
	opts := s.opts
	if opts.Config.Catalog != "port" {
		return nil
	}
	sink, m, err := portsink.Setup(ctx, opts.Config, store, opts.MappingPath, opts.Version, opts.Log.With("component", "port"))
	if err != nil {
		return fmt.Errorf("port: %w", err)
	}
	s.sink, s.opts.Mapping = sink, m
	return nil
}

// newMetrics builds the metrics, with the replica's view of the cluster
// and the hook reconciliation's skips.
func (s *Service) newMetrics(store queueStats) {
	s.metrics = metrics.New(func() float64 {
		n, _ := store.Depth(context.Background())
		return float64(n)
	}, s.tokens)
	s.registerReplicaMetrics()
	s.metrics.Registry.MustRegister(s.hookState.skipped)
}

// newProcessor builds the event processor on one crawl source per token.
func (s *Service) newProcessor(store projectEntities) error {
	opts := s.opts
	sources, err := s.sources()
	if err != nil {
		return err
	}
	s.processor = &events.Processor{Sources: sources, Mapping: opts.Mapping, Entities: store}
	s.metrics.CountCoalesced(func() float64 { return float64(s.processor.Coalesced.Load()) })
	return nil
}

// newWorker builds the event workers, which forward to the Port sink and
// tell the actions processor of the events they apply.
func (s *Service) newWorker(store catalog.Queue) {
	opts := s.opts
	s.worker = events.NewWorker(store, s.processor, events.WorkerOptions{
		Metrics: s.metrics, Log: s.log.With("component", "events"), Workers: opts.Config.EventWorkers, MaxBytes: workerBytes(opts.Config), MaxEventBytes: opts.Config.WebhookMaxBodyBytes,
		// An event waits for GitLab most of its time, one request after
		// another: twice the tokens' in-flight bounds keeps them busy (and
		// lets them grow), and follows them down under a rate limit.
		Concurrency: func() int { return 2 * s.processor.InFlightLimit() },
	})
	if s.sink != nil {
		s.worker.Forward = s.sink.ApplyEvent
	}
	if s.actions = s.newActions(); s.actions != nil {
		s.worker.Observe = s.actions.ObserveEvent
	}
}

// newReceiver builds the webhook receiver, which queues deliveries for
// the workers.
func (s *Service) newReceiver(store receiverStore) {
	opts := s.opts
	recv := webhook.NewReceiver(store, store, webhook.ReceiverOptions{SystemSecret: opts.Config.SystemHookSecret, SystemSigningToken: opts.Config.SystemHookSigningToken, Master: opts.Config.WebhookSecret,
		Scopes: s.hookScopes, ObjectKey: events.ObjectKey, InFlight: semaphore.NewWeighted(inFlightBudget(opts.Config)),
		MaxBody: opts.Config.WebhookMaxBodyBytes, Notify: s.worker.Notify, Metrics: s.metrics, Log: s.log.With("component", "webhook"),
		SharedSigning: s.sharedSigning})
	s.receiver = recv
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
