package service

import (
	"errors"
	"maps"
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
	if err2 != nil || len(mfs) != 1 || mfs[0].GetName() != "glsync_hook_reconcile_skipped_total" || len(mfs[0].GetMetric()) != 2 {
		t.Fatalf("glsync_hook_reconcile_skipped_total: %v %v", mfs, err2)
	}
	// Both reasons are exposed, the one never seen at 0.
	got := map[string]float64{}
	for _, m := range mfs[0].GetMetric() {
		got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	if !maps.Equal(got, map[string]float64{"store": 1, "gitlab": 0}) {
		t.Fatalf("glsync_hook_reconcile_skipped_total by reason: %v", got)
	}
}

// Each managed hook's state after a cycle: fixed hooks are enabled
// whatever GitLab showed; a failed fix leaves what GitLab showed (missing,
// disabled, a secret glsync lacks); a paused system hook, which GitLab
// cannot resume, is disabled; deletions and the project hooks GitLab
// refused to the token are no managed hooks.
func TestHookStatesAfterACycle(t *testing.T) {
	disabled := &hooks.Existing{AlertStatus: "disabled"}
	paused := &hooks.Existing{AlertStatus: "temporarily_disabled"}
	fine := &hooks.Existing{AlertStatus: "executable"}
	d := func(scope, group string) hooks.Desired { return hooks.Desired{Scope: scope, GroupPath: group} }
	plan := &hooks.Plan{Actions: []hooks.Action{
		{Op: hooks.OpKeep, Desired: d("group:1", "kept"), Existing: fine},
		{Op: hooks.OpCreate, Desired: d("group:2", "created")},
		{Op: hooks.OpCreate, Desired: d("group:3", "create-failed")},
		{Op: hooks.OpRecreate, Desired: d("group:4", "recreate-failed"), Existing: disabled},
		{Op: hooks.OpResume, Desired: d("group:5", "resumed"), Existing: paused},
		{Op: hooks.OpUpdate, Desired: d("group:6", "update-failed"), Existing: fine},
		{Op: hooks.OpKeep, Desired: hooks.Desired{Scope: hooks.SystemScope}, Existing: paused},
		{Op: hooks.OpDelete, Existing: fine},
		{Op: hooks.OpCreate, Desired: hooks.Desired{Scope: "project:9", ProjectPath: "me/forbidden"}},
	}}
	res := hooks.Result{
		Failed:  []hooks.Problem{{Scope: "group:3"}, {Scope: "group:4"}, {Scope: "group:6"}},
		Skipped: []hooks.Problem{{Scope: "project:9"}},
	}
	got := map[string]string{}
	for _, s := range hookStates(plan, res) {
		got[s.Scope+" "+s.Path] = s.State
	}
	want := map[string]string{
		"group:1 kept": "enabled", "group:2 created": "enabled", "group:3 create-failed": "missing",
		"group:4 recreate-failed": "disabled", "group:5 resumed": "enabled", "group:6 update-failed": "failing",
		"system ": "disabled",
	}
	if !maps.Equal(got, want) {
		t.Fatalf("hook states\n got %v\nwant %v", got, want)
	}
}
