package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// The metrics an operator is alerted on read the shared store at scrape
// time: dead letters, the queue's oldest event, the last resync's outcome
// (absent before the first resync, so a new deployment does not look
// failed).
func TestStoreMetricsForAlerts(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &Service{metrics: metrics.New(func() float64 { return 0 }, nil)}
	s.useStore(st)
	s.registerReplicaMetrics()
	value := func(name string) (float64, bool) {
		t.Helper()
		mfs, err := s.metrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name && len(mf.GetMetric()) == 1 {
				return mf.GetMetric()[0].GetGauge().GetValue(), true
			}
		}
		return 0, false
	}
	expect := func(name string, lo, hi float64) {
		t.Helper()
		if v, ok := value(name); !ok || v < lo || v > hi {
			t.Fatalf("%s = %v (present %v), want within [%v, %v]", name, v, ok, lo, hi)
		}
	}
	expect("glsync_dead_letters", 0, 0)
	expect("glsync_event_queue_oldest_age_seconds", 0, 0)
	if _, ok := value("glsync_last_resync_success"); ok {
		t.Fatal("glsync_last_resync_success before any resync")
	}

	if _, err := st.Enqueue(ctx, &catalog.Event{Delivery: "d1", Body: []byte("{}"), ReceivedAt: time.Now().Add(-2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	expect("glsync_event_queue_oldest_age_seconds", 120, 180)
	evs, err := st.Claim(ctx, 1, 0, time.Minute)
	if err != nil || len(evs) != 1 {
		t.Fatalf("claim: %v %v", evs, err)
	}
	if dead, err := st.Retry(ctx, evs[0], "gitlab: 500", time.Now(), 1); err != nil || !dead {
		t.Fatalf("retry: dead %v, %v", dead, err)
	}
	expect("glsync_dead_letters", 1, 1)
	expect("glsync_event_queue_oldest_age_seconds", 0, 0)

	if err := resync.FailedRecord("r1", "gitlab unreachable").Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	expect("glsync_last_resync_success", 0, 0)
	now := float64(time.Now().Unix())
	expect("glsync_last_resync_timestamp_seconds", now-60, now+1)
	if err := (resync.Record{OK: true, Outcome: "ok", Replica: "r1", FinishedAt: time.Now().UTC()}).Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	expect("glsync_last_resync_success", 1, 1)
	expect("glsync_last_resync_completed_timestamp_seconds", now-60, now+1)
	if n, err := testutil.GatherAndCount(s.metrics.Registry, "glsync_leader"); err != nil || n != 1 {
		t.Fatalf("glsync_leader: %d series, %v", n, err)
	}
	expect("glsync_leader", 0, 0) // this replica has not campaigned
}

// A running glsyncd exposes its managed hooks as enabled once reconciled,
// the last resync as a success, and its GitLab requests under each
// token's masked form, never the token.
func TestRunningDaemonMetrics(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.ready()
	var body string
	eventually(t, 5*time.Second, "hook states and the resync's outcome in /metrics", func() bool {
		_, body = h.admin("GET", "/metrics", "")
		return strings.Count(body, `state="enabled"} 1`) == len(h.org.Roots) && strings.Contains(body, "glsync_last_resync_success 1")
	})
	for _, root := range h.org.Roots {
		if !strings.Contains(body, `glsync_hook_state{path="`+root.FullPath+`",scope="group:`) {
			t.Errorf("no hook state for %s:\n%s", root.FullPath, body)
		}
	}
	for _, tok := range h.org.RootTokens {
		if strings.Contains(body, tok) {
			t.Fatal("a token in /metrics")
		}
		if !strings.Contains(body, `glsync_gitlab_requests_total{status="200",token="`+tokenmap.Mask(tok)+`"}`) {
			t.Errorf("no requests counted for %s", tokenmap.Mask(tok))
		}
	}
}
