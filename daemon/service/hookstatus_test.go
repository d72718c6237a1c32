package service

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/glsync/terraform-provider-glsync/shared/hooks"
)

// A skipped cycle is visible in /status and counted by reason; the next
// good cycle clears the status, not the count.
func TestHookReconcileStatusAndSkips(t *testing.T) {
	h := newHookState()
	if h.snapshot() != nil {
		t.Fatal("status before the first cycle")
	}
	err := &hooks.Skipped{Reason: hooks.SkipStore, What: "reading the secret of the hook of group acme from glsync's store", Err: errors.New("connection refused")}
	if sk := h.record(nil, err); sk == nil || sk.Reason != hooks.SkipStore {
		t.Fatalf("record: %v", sk)
	}
	st := h.snapshot()
	if st.OK || st.Skipped != "store" || st.Error != err.Error() {
		t.Fatalf("status %+v", st)
	}
	h.record(nil, errors.New("appHost is not set"))
	if st := h.snapshot(); st.OK || st.Skipped != "" || st.Error == "" {
		t.Fatalf("a failure that is not a skip: %+v", st)
	}
	h.record(&hooks.Plan{Problems: []hooks.Problem{{Scope: "group:1"}}}, nil)
	if st := h.snapshot(); !st.OK || st.Error != "" || st.Problems != 1 || st.Changes != 0 {
		t.Fatalf("a good cycle: %+v", st)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(h.skipped)
	mfs, err2 := reg.Gather()
	if err2 != nil || len(mfs) != 1 || mfs[0].GetName() != "glsync_hook_reconcile_skipped_total" || len(mfs[0].GetMetric()) != 1 ||
		mfs[0].GetMetric()[0].GetLabel()[0].GetValue() != "store" || mfs[0].GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Fatalf("glsync_hook_reconcile_skipped_total: %v %v", mfs, err2)
	}
}
