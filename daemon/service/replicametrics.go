package service

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/glsync/terraform-provider-glsync/shared/resync"
)

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
			n, _ := s.queue.DeadLetters(bg)
			return float64(n)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glsync_event_queue_oldest_age_seconds",
			Help: "How long ago the oldest queued event was received (0: the queue is empty)."}, func() float64 {
			at, err := s.queue.OldestQueued(bg)
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
			l, _ := resync.LoadCompleted(bg, s.records)
			if l == nil {
				return 0
			}
			return float64(l.FinishedAt.UnixNano()) / 1e9
		}),
	)
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
