// Package metrics defines glsyncd's Prometheus metrics, served on the
// admin listener's /metrics.
package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
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
}

// New creates the collectors. queueDepth is read at scrape time; stats
// are the GitLab client counters of every token.
func New(queueDepth func() float64, stats *gitlab.Stats) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
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
		m.EventDuration, m.ResyncDuration, m.ResyncRuns, m.ResyncEntities, m.ResyncFileErrors,
		m.ResyncExpressionErrors, m.EventExpressionErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.Registry.MustRegister(m.ConnectionsRefused, m.ConnectionsOpen)
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "glsync_event_queue_depth", Help: "Events waiting in the durable queue.",
	}, queueDepth))
	if stats != nil {
		m.Registry.MustRegister(&gitlabCollector{stats: stats})
	}
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
	requestsDesc = prometheus.NewDesc("glsync_gitlab_requests_total", "GitLab API requests sent (attempts), by response status (0: no response).", []string{"status"}, nil)
	retriesDesc  = prometheus.NewDesc("glsync_gitlab_retries_total", "GitLab API requests retried.", nil, nil)
)

// gitlabCollector exposes the shared client counters.
type gitlabCollector struct{ stats *gitlab.Stats }

func (c *gitlabCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- requestsDesc
	ch <- retriesDesc
}

func (c *gitlabCollector) Collect(ch chan<- prometheus.Metric) {
	for status, n := range c.stats.ByStatus() {
		ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(n), strconv.Itoa(status))
	}
	ch <- prometheus.MustNewConstMetric(retriesDesc, prometheus.CounterValue, float64(c.stats.Retries.Load()))
}
