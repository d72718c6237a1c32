package service

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/glsync/terraform-provider-glsync/daemon/console"
	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
)

// hookState is what the last hook reconciliation of this replica did, for
// /status and the metrics: a cycle skipped because the store or GitLab
// could not be read must be visible, not only logged, since it means the
// hooks are not being kept for as long as it lasts.
type hookState struct {
	mu   sync.Mutex
	last *HookReconcileStatus
	// hooks are the managed hooks' states after the last applied cycle
	// (the console's Overview).
	hooks []console.Hook
	// skipped counts the cycles that changed nothing because a read
	// failed, by hooks.Skipped's reason.
	skipped *prometheus.CounterVec
}

// HookReconcileStatus is the last hook reconciliation, in GET /status.
type HookReconcileStatus struct {
	At time.Time `json:"at"`
	// OK is false when the cycle failed or was skipped.
	OK bool `json:"ok"`
	// Skipped is the reason (store, gitlab) of a cycle that changed
	// nothing because glsync could not read what it needs.
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
	// Changes and Problems count the plan's changes and what it reported
	// (a hook GitLab paused, a group it does not know).
	Changes  int `json:"changes"`
	Problems int `json:"problems"`
	// Signed and Unsigned list the scopes of the managed hooks GitLab
	// reports with and without a signing token when webhookSigning is on:
	// an unsigned one (GitLab older than 19.0, or its feature flag
	// webhook_signing_token off) is checked by X-Gitlab-Token alone.
	Signed   []string `json:"signed,omitempty"`
	Unsigned []string `json:"unsigned,omitempty"`
}

func newHookState() *hookState {
	h := &hookState{skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "glsync_hook_reconcile_skipped_total",
		Help: "Hook reconciliation cycles that changed nothing because glsync's store or GitLab could not be read, by reason (store, gitlab).",
	}, []string{"reason"})}
	// Both reasons exist from the start, at 0: a rate or increase over
	// the first skip then sees it, rather than a series that begins at 1.
	for _, r := range []string{hooks.SkipStore, hooks.SkipGitLab} {
		h.skipped.WithLabelValues(r)
	}
	return h
}

// record keeps the outcome of one cycle and returns the skip, if it was
// one.
func (h *hookState) record(plan *hooks.Plan, err error) *hooks.Skipped {
	st := &HookReconcileStatus{At: time.Now().UTC(), OK: err == nil}
	var sk *hooks.Skipped
	switch {
	case errors.As(err, &sk):
		st.Skipped, st.Error = sk.Reason, err.Error()
		h.skipped.WithLabelValues(sk.Reason).Inc()
	case err != nil:
		st.Error = err.Error()
	case plan != nil:
		st.Changes, st.Problems = plan.Changes(), len(plan.Problems)
	}
	h.mu.Lock()
	h.last = st
	h.mu.Unlock()
	return sk
}

// recordSigning adds the hooks' signing state to the last cycle.
func (h *hookState) recordSigning(signing map[string]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil {
		return
	}
	h.last.Signed, h.last.Unsigned = nil, nil
	for sc, signs := range signing {
		if signs {
			h.last.Signed = append(h.last.Signed, sc)
		} else {
			h.last.Unsigned = append(h.last.Unsigned, sc)
		}
	}
	slices.Sort(h.last.Signed)
	slices.Sort(h.last.Unsigned)
}

// recordHooks keeps the managed hooks' states of an applied cycle.
func (h *hookState) recordHooks(plan *hooks.Plan, res hooks.Result) {
	list := consoleHooks(plan, res)
	h.mu.Lock()
	h.hooks = list
	h.mu.Unlock()
}

// clearHooks forgets them when leadership is lost: the new leader
// reconciles, and this replica's view ages.
func (h *hookState) clearHooks() {
	h.mu.Lock()
	h.hooks = nil
	h.mu.Unlock()
}

// hookList is the managed hooks' states after the last applied cycle.
func (h *hookState) hookList() []console.Hook {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.hooks)
}

// snapshot is the last cycle (nil before the first).
func (h *hookState) snapshot() *HookReconcileStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil {
		return nil
	}
	c := *h.last
	c.Signed, c.Unsigned = slices.Clone(c.Signed), slices.Clone(c.Unsigned)
	return &c
}

// hookStates is each managed hook's state once a cycle has applied plan
// (with result res), for glsync_hook_state: what GitLab showed, unless
// the cycle fixed it. A project hook GitLab refused to let the token
// manage (res.Skipped, a warning as in Ocean) is left out: it is not a
// hook glsync manages.
func hookStates(plan *hooks.Plan, res hooks.Result) []metrics.HookState {
	failed, skipped := map[string]bool{}, map[string]bool{}
	for _, f := range res.Failed {
		failed[f.Scope] = true
	}
	for _, f := range res.Skipped {
		skipped[f.Scope] = true
	}
	var out []metrics.HookState
	for _, a := range plan.Actions {
		d := a.Desired
		if a.Op == hooks.OpDelete || d.Scope == "" || skipped[d.Scope] {
			continue
		}
		path := d.GroupPath
		if d.ProjectPath != "" {
			path = d.ProjectPath
		}
		disabled := a.Existing != nil && a.Existing.Disabled()
		st := metrics.HookEnabled
		switch {
		case a.Op == hooks.OpKeep && disabled:
			// A paused system hook: GitLab has no API to resume it.
			st = metrics.HookDisabled
		case !failed[d.Scope]:
		case a.Op == hooks.OpCreate:
			st = metrics.HookMissing
		case disabled:
			st = metrics.HookDisabled
		case a.UnknownSecret():
			st = metrics.HookSecretUnknown
		default:
			st = metrics.HookFailing
		}
		out = append(out, metrics.HookState{Scope: d.Scope, Path: path, State: st})
	}
	return out
}
