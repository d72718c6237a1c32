package service

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/glsync/terraform-provider-glsync/daemon/console"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/redact"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
)

// The console (daemon/console) reads the daemon through the small
// interfaces it declares; these adapt the Service to them.

// newConsole builds the console for the admin listener at addr.
func (s *Service) newConsole(addr net.Addr) (http.Handler, error) {
	c, err := console.New(console.Options{
		AdminToken: s.opts.Config.AdminToken,
		Loopback:   loopback(addr),
		GitLabHost: s.opts.Config.GitLabHost,
		Status:     consoleStatus{s},
		Catalog:    s.browser(),
		Queue:      consoleQueue{dead: s.deadLetters, wake: s.worker.Notify},
		Settings:   consoleSettings{s},
		Log:        s.log.With("component", "console"),
	})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return c, nil
}

// loopback reports whether the admin listener is reachable from this
// machine only.
func loopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// browser is what the console reads the catalog from: the Port sink's
// mirror in Port mode (so the console shows what glsync wrote to Port),
// else the store.
func (s *Service) browser() catalog.Browser {
	if s.sink != nil {
		return s.sink
	}
	return s.catalogBrowser
}

type consoleStatus struct{ s *Service }

// Overview gathers what /status reports, and what only this replica
// knows (its GitLab counters, its last hook reconciliation).
func (c consoleStatus) Overview(ctx context.Context) (console.Overview, error) {
	s := c.s
	var o console.Overview
	var err error
	o.Replica = s.coord.Replica()
	if o.Leader, err = s.coord.Leader(ctx); err != nil {
		return o, fmt.Errorf("reading the leader: %w", err)
	}
	if o.Replicas, err = s.coord.Replicas(ctx); err != nil {
		return o, fmt.Errorf("reading the replicas: %w", err)
	}
	o.ResyncRunning = !s.resyncFree()
	if o.LastResync, err = s.storedLastResync(ctx); err != nil {
		return o, fmt.Errorf("reading the last resync: %w", err)
	}
	if o.LastCompleted, err = resync.LoadCompleted(ctx, s.records); err != nil {
		return o, fmt.Errorf("reading the last completed resync: %w", err)
	}
	switch cfg := s.opts.Config; {
	case cfg.ResyncCron != "":
		o.Schedule = "by cron " + cfg.ResyncCron
	case cfg.ScheduledResyncInterval > 0:
		o.Schedule = "every " + cfg.ScheduledResyncInterval.String()
	}
	if n := s.nextResync.Load(); n != 0 && s.leading.Load() {
		o.NextResync = time.Unix(0, n)
	}
	if o.QueueDepth, err = s.queue.Depth(ctx); err != nil {
		return o, fmt.Errorf("reading the queue depth: %w", err)
	}
	if o.OldestQueued, err = s.queue.OldestQueued(ctx); err != nil {
		return o, fmt.Errorf("reading the queue's oldest event: %w", err)
	}
	if o.DeadLetters, err = s.queue.DeadLetters(ctx); err != nil {
		return o, fmt.Errorf("counting dead letters: %w", err)
	}
	if h := s.hookState.snapshot(); h != nil {
		o.HookReconcile = &console.HookReconcile{At: h.At, OK: h.OK, Error: h.Error, Changes: h.Changes, Problems: h.Problems}
	}
	o.Hooks = s.hookState.hookList()
	seen := s.receiver.Deliveries()
	for i, h := range o.Hooks {
		d := seen[h.Scope]
		o.Hooks[i].LastDelivery, o.Hooks[i].Refused = d.Last, d.Refused
	}
	// Clients of one token share its pacing gate (gitlab.Shared), so a
	// fresh client reads what the workers' and resyncs' clients learned;
	// the counts are the metrics' (every client of a token counts there).
	sources, err := s.sources()
	if err != nil {
		return o, fmt.Errorf("reading the tokens' rate limits: %w", err)
	}
	now := time.Now()
	for i, src := range sources {
		st := s.tokens.For(src.Entry.Token)
		rl := console.RateLimit{Token: fmt.Sprintf("token %d (%s…)", i+1, redact.Prefix(src.Entry.Token)), InFlight: src.Client.InFlightLimit(),
			Requests: st.Requests.Load(), Retries: st.Retries.Load(), RateLimited: st.RateLimited.Load()}
		rl.Remaining, rl.Reset, rl.Known = src.Client.RateLimitWindow(now)
		o.RateLimits = append(o.RateLimits, rl)
		o.GitLab.Requests += rl.Requests
		o.GitLab.Retries += rl.Retries
		o.GitLab.RateLimited += rl.RateLimited
	}
	return o, nil
}

// RequestResync is POST /resync's, with the console as the reason.
func (c consoleStatus) RequestResync(ctx context.Context) (string, error) {
	s := c.s
	id := newRequestID()
	if !s.TriggerResync("console" + requestMark + id + ")") {
		return "", console.ErrBusy
	}
	if err := s.records.PutSetting(ctx, pendingRequestKey, []byte(id)); err != nil {
		s.log.Error("recording the resync request failed", "error", err)
	}
	return id, nil
}

// consoleQueue is the store's dead letters as the console acts on them.
type consoleQueue struct {
	dead console.DeadLetters
	// wake tells the event workers to look at the queue.
	wake func()
}

func (q consoleQueue) DeadLetters(ctx context.Context) (int, error) {
	return q.dead.DeadLetters(ctx)
}

func (q consoleQueue) ListDeadLetters(ctx context.Context, limit int) ([]catalog.DeadLetter, error) {
	return q.dead.ListDeadLetters(ctx, limit)
}

// RequeueDeadLetters wakes the workers too, so a retried event is applied
// now rather than at their next poll.
func (q consoleQueue) RequeueDeadLetters(ctx context.Context, ids []int64) (int, error) {
	n, err := q.dead.RequeueDeadLetters(ctx, ids)
	if n > 0 {
		q.wake()
	}
	return n, err
}

func (q consoleQueue) DropDeadLetters(ctx context.Context, ids []int64) (int, error) {
	return q.dead.DropDeadLetters(ctx, ids)
}

type consoleSettings struct{ s *Service }

// Settings is the configuration as loaded (config.Effective hides the
// secrets), the token mappings of the admin API (each token by its kind
// only) and the mapping document.
func (c consoleSettings) Settings(context.Context) (console.SettingsView, error) {
	s := c.s
	v := console.SettingsView{Config: s.opts.Config.Effective()}
	s.cfgMu.RLock()
	for _, m := range s.apiMappings {
		// Only the token's kind: not even the two characters the admin
		// API's TokenMasked keeps.
		v.APIMappings = append(v.APIMappings, console.APIMapping{Name: m.name, Token: redact.Prefix(m.in.Token) + "…", Patterns: m.in.Patterns})
	}
	s.cfgMu.RUnlock()
	switch {
	case s.opts.MappingPath != "":
		v.MappingSource = "the file " + s.opts.MappingPath
	case s.sink != nil:
		v.MappingSource = "the integration's mapping in Port"
	default:
		v.MappingSource = "glsync's default mapping"
	}
	if s.opts.Mapping != nil && s.opts.Mapping.Document != nil {
		b, err := yaml.Marshal(s.opts.Mapping.Document)
		if err != nil {
			return v, fmt.Errorf("encoding the mapping: %w", err)
		}
		v.MappingYAML = string(b)
	}
	return v, nil
}

// consoleHooks turns a reconciliation's plan and result into each managed
// hook's state: the state glsync_hook_state reports (hookStates, so the
// console and the alerts agree), with what GitLab said of the hook or
// what the cycle did about it.
func consoleHooks(plan *hooks.Plan, res hooks.Result) []console.Hook {
	states := map[string]string{}
	for _, h := range hookStates(plan, res) {
		states[h.Scope] = h.State
	}
	failed := map[string]string{}
	for _, f := range res.Failed {
		failed[f.Scope] = f.Error()
	}
	var out []console.Hook
	for _, a := range plan.Actions {
		st, ok := states[a.Desired.Scope]
		if !ok {
			continue // deleted, or a project hook the token may not manage
		}
		h := console.Hook{Scope: a.Desired.Scope, Target: a.Desired.GroupPath, State: st}
		if a.Desired.ProjectPath != "" {
			h.Target = a.Desired.ProjectPath
		}
		if h.Target == "" {
			h.Target = "(system hook)"
		}
		if a.Existing != nil {
			h.HookID = a.Existing.ID
		}
		switch why, bad := failed[h.Scope]; {
		case bad:
			h.Detail = why
		case a.Existing != nil && a.Existing.Disabled():
			h.Detail = disabledDetail(a.Existing, a.Reason)
		case a.Op == hooks.OpCreate:
			h.Detail = "created: it was missing"
		case a.Op == hooks.OpResume:
			h.Detail = "resumed after GitLab paused it"
		case a.Op == hooks.OpUpdate, a.Op == hooks.OpRecreate:
			h.Detail = strings.TrimSpace("repaired: " + a.Reason)
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b console.Hook) int { return strings.Compare(a.Target, b.Target) })
	return out
}

// disabledDetail is what GitLab said of a hook it stopped delivering to.
func disabledDetail(e *hooks.Existing, reason string) string {
	d := reason
	if e != nil && e.AlertStatus != "" {
		d += " (alert_status " + e.AlertStatus
		if e.DisabledUntil != "" {
			d += ", disabled_until " + e.DisabledUntil
		}
		d += ")"
	}
	return strings.TrimSpace(d)
}
