// Package metrics defines glsyncd's Prometheus metrics, served on the
// admin listener's /metrics.
package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// Metrics are the daemon's collectors, registered on their own registry.
type Metrics struct {
	Registry *prometheus.Registry

	EventsReceived  *prometheus.CounterVec // by X-Gitlab-Event
	EventsRejected  *prometheus.CounterVec // by reason
	EventsProcessed *prometheus.CounterVec // by event and outcome
	EventsFailed    *prometheus.CounterVec // by event and reason (retry, dead)
	EventDuration   prometheus.Histogram
	ResyncDuration  prometheus.Histogram
	ResyncRuns      *prometheus.CounterVec // by result
	ResyncEntities  *prometheus.GaugeVec   // by kind and op, last resync
	// ResyncKindDuration is how long each kind took in the last resync:
	// kinds run in parallel, so the run's duration hides which is slow.
	ResyncKindDuration *prometheus.GaugeVec
	// ExpressionErrors count mapping expressions that failed on an
	// object (the field mapped to null, or the object left out): by kind
	// for the last resync, and a running count for webhook events.
	ResyncExpressionErrors *prometheus.GaugeVec   // by kind, last resync
	EventExpressionErrors  *prometheus.CounterVec // by kind and field
	// ResyncFileErrors are the files the last resync could not use, by
	// kind (their entities were kept as they were).
	ResyncFileErrors *prometheus.GaugeVec

	// ConnectionsRefused counts webhook connections closed unread because
	// webhookMaxConnections were open; ConnectionsOpen is how many are.
	ConnectionsRefused prometheus.Counter
	ConnectionsOpen    prometheus.Gauge

	// Hooks are the managed hooks' states as the last hook reconciliation
	// of this replica left them (see SetHooks).
	Hooks *hookStates
}

// New creates the collectors. queueDepth is read at scrape time; tokens
// hold the GitLab client counters of every token (nil: none exposed).
func New(queueDepth func() float64, tokens *GitLabTokens) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Hooks:    &hookStates{},
		EventsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "glsync_webhook_events_received_total", Help: "Webhook deliveries accepted into the queue, by X-Gitlab-Event.",
		}, []string{"event"}),
		EventsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "glsync_webhook_events_rejected_total", Help: "Webhook deliveries refused or not queued, by reason.",
		}, []string{"reason"}),
		ConnectionsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "glsync_webhook_connections_refused_total", Help: "Webhook listener connections closed as soon as accepted, unread, because webhookMaxConnections were open.",
		}),
		ConnectionsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "glsync_webhook_connections_open", Help: "Webhook listener connections open now (at most webhookMaxConnections).",
		}),
		EventsProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "glsync_events_processed_total", Help: "Queued events processed, by event and outcome.",
		}, []string{"event", "outcome"}),
		EventsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "glsync_events_failed_total", Help: "Event processing failures, by event and what happened next (retry or dead).",
		}, []string{"event", "next"}),
		EventDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "glsync_event_processing_seconds", Help: "Time from a delivery's acceptance to its catalog commit.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		ResyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "glsync_resync_duration_seconds", Help: "Duration of full resyncs.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 14),
		}),
		ResyncRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "glsync_resync_runs_total", Help: "Full resyncs, by result (ok, failed).",
		}, []string{"result"}),
		ResyncEntities: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "glsync_resync_entities", Help: "Entities of the last resync, by kind and operation.",
		}, []string{"kind", "op"}),
		ResyncKindDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "glsync_resync_kind_duration_seconds", Help: "How long each kind took in the last resync this replica ran, by kind.",
		}, []string{"kind"}),
		ResyncExpressionErrors: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "glsync_resync_expression_errors", Help: "Mapping expressions that failed on an object in the last resync (one per object and field), by kind.",
		}, []string{"kind"}),
		EventExpressionErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "glsync_event_expression_errors_total", Help: "Mapping expressions that failed on an object of a webhook event, by kind and field.",
		}, []string{"kind", "field"}),
		ResyncFileErrors: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "glsync_resync_file_errors", Help: "Files the last resync could not use (not valid YAML or JSON, not entities, over 1 MiB, 404 at the ref), by kind; their entities were kept as they were.",
		}, []string{"kind"}),
	}
	m.Registry.MustRegister(m.EventsReceived, m.EventsRejected, m.EventsProcessed, m.EventsFailed,
		m.EventDuration, m.ResyncDuration, m.ResyncRuns, m.ResyncEntities, m.ResyncKindDuration, m.ResyncFileErrors,
		m.ResyncExpressionErrors, m.EventExpressionErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.Registry.MustRegister(m.ConnectionsRefused, m.ConnectionsOpen)
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "glsync_event_queue_depth", Help: "Events waiting in the durable queue.",
	}, queueDepth))
	if tokens != nil {
		m.Registry.MustRegister(&gitlabCollector{tokens: tokens})
	}
	m.Registry.MustRegister(m.Hooks)
	return m
}

// discard is Discard's collectors, made once.
var discard = sync.OnceValue(func() *Metrics { return New(func() float64 { return 0 }, nil) })

// Discard returns collectors no registry serves: what a component without
// metrics (a test, the CLI's one-off work) counts into, so it never checks
// for missing metrics where it counts.
func Discard() *Metrics { return discard() }

// CountCoalesced exposes how many GitLab fetches events did not make
// because an answer fetched after they arrived stood for theirs
// (events.Processor.Coalesced): the saving coalescing brings.
func (m *Metrics) CountCoalesced(n func() float64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "glsync_event_fetches_coalesced_total",
		Help: "GitLab fetches events did not make: an answer to a request sent after the event arrived stood for theirs.",
	}, n))
}

var (
	requestsDesc = prometheus.NewDesc("glsync_gitlab_requests_total",
		"GitLab API requests sent (attempts, retries included), by token (masked) and response status (0: no complete response; 429: rate limited).",
		[]string{"token", "status"}, nil)
	retriesDesc = prometheus.NewDesc("glsync_gitlab_retries_total", "GitLab API requests retried, by token (masked).", []string{"token"}, nil)
)

// GitLabTokens are the GitLab request counters of each token, kept for
// the life of the process (a token dropped from the mapping keeps its
// counts, as counters must). Safe for concurrent use.
type GitLabTokens struct {
	mu    sync.Mutex
	order []string // tokens in the order first seen, for stable labels
	stats map[string]*gitlab.Stats
}

// For is the Stats token's clients count into (made on first use).
func (g *GitLabTokens) For(token string) *gitlab.Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.stats[token]; ok {
		return s
	}
	if g.stats == nil {
		g.stats = map[string]*gitlab.Stats{}
	}
	s := &gitlab.Stats{}
	g.stats[token] = s
	g.order = append(g.order, token)
	return s
}

// labelled returns each token's Stats under its label: the masked token
// (tokenmap.Mask: "glpat-QX…"), which never carries enough of the token
// to use it. Two tokens can mask alike; the later ones get " #2", " #3"
// in the order first seen, so their series stay apart instead of
// colliding (a scrape error) or silently adding up.
func (g *GitLabTokens) labelled() ([]string, []*gitlab.Stats) {
	g.mu.Lock()
	defer g.mu.Unlock()
	seen := map[string]int{}
	labels := make([]string, 0, len(g.order))
	stats := make([]*gitlab.Stats, 0, len(g.order))
	for _, tok := range g.order {
		l := tokenmap.Mask(tok)
		seen[l]++
		if n := seen[l]; n > 1 {
			l += " #" + strconv.Itoa(n)
		}
		labels = append(labels, l)
		stats = append(stats, g.stats[tok])
	}
	return labels, stats
}

// gitlabCollector exposes the client counters of every token.
type gitlabCollector struct{ tokens *GitLabTokens }

func (c *gitlabCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- requestsDesc
	ch <- retriesDesc
}

func (c *gitlabCollector) Collect(ch chan<- prometheus.Metric) {
	labels, stats := c.tokens.labelled()
	for i, st := range stats {
		for status, n := range st.ByStatus() {
			ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(n), labels[i], strconv.Itoa(status))
		}
		ch <- prometheus.MustNewConstMetric(retriesDesc, prometheus.CounterValue, float64(st.Retries.Load()), labels[i])
	}
}

// Hook states of glsync_hook_state.
const (
	// HookEnabled: GitLab has the hook and delivers to it (kept as it
	// was, or fixed by the cycle).
	HookEnabled = "enabled"
	// HookDisabled: GitLab paused or disabled the hook after failed
	// deliveries, and the cycle could not resume or re-create it.
	HookDisabled = "disabled"
	// HookMissing: GitLab has no such hook and the cycle could not create
	// it.
	HookMissing = "missing"
	// HookSecretUnknown: glsync does not hold the hook's secret (its
	// deliveries are refused) and the cycle could not give it a new one.
	HookSecretUnknown = "secret_unknown"
	// HookFailing: another change the hook needs (its events, its signing
	// token) failed.
	HookFailing = "failing"
)

// HookState is one managed hook as a reconciliation cycle left it.
type HookState struct {
	// Scope is the hook's secret scope ("group:42", "project:7", "system").
	Scope string
	// Path is the group's or project's full path ("" for the system hook).
	Path  string
	State string
}

var hookStateDesc = prometheus.NewDesc("glsync_hook_state",
	"Managed hooks as this replica's last hook reconciliation left them (the leader's; none on other replicas): 1 for the hook's state (enabled, disabled, missing, secret_unknown, failing).",
	[]string{"scope", "path", "state"}, nil)

// hookStates is glsync_hook_state's collector: one series per hook, for
// its current state only, so a hook fixed by the next cycle leaves no
// stale "disabled" series behind.
type hookStates struct {
	mu     sync.Mutex
	states []HookState
}

// SetHooks replaces the hook states with those of a finished cycle; nil
// clears them (a replica that stops leading no longer knows them).
func (m *Metrics) SetHooks(states []HookState) {
	m.Hooks.mu.Lock()
	m.Hooks.states = append([]HookState(nil), states...)
	m.Hooks.mu.Unlock()
}

func (h *hookStates) Describe(ch chan<- *prometheus.Desc) { ch <- hookStateDesc }

func (h *hookStates) Collect(ch chan<- prometheus.Metric) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[HookState]bool{}
	for _, s := range h.states {
		if seen[s] {
			continue // one series per hook and state, or the scrape fails
		}
		seen[s] = true
		ch <- prometheus.MustNewConstMetric(hookStateDesc, prometheus.GaugeValue, 1, s.Scope, s.Path, s.State)
	}
}
