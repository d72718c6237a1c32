package service

import (
	"log/slog"

	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
)

// eventFailures receives the mapping failures of webhook events: an
// event maps one object, so each failure is logged (with the object) and
// counted; the resync's own counts reach /status through its record.
type eventFailures struct {
	log     *slog.Logger
	metrics *metrics.Metrics
}

func (e eventFailures) MappingFailed(f mapping.Failure) {
	mapping.LogRecorder{Log: e.log}.MappingFailed(f)
	e.metrics.EventExpressionErrors.WithLabelValues(f.Kind, f.ShortField()).Inc()
}
