// Package service is the long-running glsyncd: the webhook listener, the
// event workers, scheduled and manual resyncs, hook reconciliation and the
// admin API (/healthz, /readyz, /metrics, POST /resync, GET /status).
//
// Its files, by part: start.go builds the parts and run.go serves and
// stops them; store.go declares what each part uses of the store;
// sources.go holds the effective token mappings and the crawl sources
// built from them; leader.go campaigns for leadership, under which
// schedule.go starts resyncs, resync.go runs them and reconcile.go keeps
// the hooks; requests.go follows resync requests across replicas;
// actions.go runs the Port action runs on every replica;
// admin.go routes the admin API, status.go answers /readyz and /status,
// console.go adapts the service to the console, and replicametrics.go,
// hookstatus.go and exprerrors.go report to the metrics.
package service

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/actions"
	"github.com/glsync/terraform-provider-glsync/daemon/events"
	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
	"github.com/glsync/terraform-provider-glsync/daemon/webhook"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/portsink"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
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
	opts Options
	log  *slog.Logger
	// storeViews are the opened store as each part uses it (store.go).
	storeViews
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

// Run starts the service and blocks until ctx ends and the service has
// shut down gracefully.
func Run(ctx context.Context, opts Options) error {
	s, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	return s.Wait()
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
func (s *Service) Store() catalog.Backend { return s.backend }
