package console

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/resync"
)

// Overview is the daemon's state at a glance.
type Overview struct {
	// Replica is the replica serving the page; Leader the one that runs
	// resyncs and hook reconciliation ("" when none does).
	Replica, Leader string
	Replicas        []string
	ResyncRunning   bool
	// LastResync is the last resync that ran, whichever replica ran it;
	// LastCompleted the last one that completed (the catalog's base).
	LastResync, LastCompleted *resync.Record
	// Schedule says what starts resyncs ("every 2h0m0s", "cron @hourly",
	// "" when only requests do); NextResync is when the next scheduled
	// one starts on the leader serving the page (zero: unknown here).
	Schedule   string
	NextResync time.Time
	// QueueDepth is the webhook events waiting to be applied;
	// OldestQueued when the oldest of them was received (zero: none).
	QueueDepth   int
	OldestQueued time.Time
	// DeadLetters counts the events that failed too often.
	DeadLetters int
	// Hooks are the hooks glsync manages, as the last reconciliation on
	// the serving replica found them; HookReconcile is that cycle.
	Hooks         []Hook
	HookReconcile *HookReconcile
	// GitLab is what this replica's GitLab clients did since it started
	// (the sum of RateLimits' counts); RateLimits is each token's counts
	// and headroom as GitLab last announced it.
	GitLab     GitLabStats
	RateLimits []RateLimit
}

// RateLimit is one token's rate-limit headroom.
type RateLimit struct {
	// Token names the token without any of its secret part ("token 1
	// (glpat-…)").
	Token string
	// Known is false when GitLab announced no limit in the current window
	// (no RateLimit-* headers yet, or the window ended): no headroom to
	// show, and none used up.
	Known bool
	// Remaining requests until Reset, as GitLab announced less those sent
	// since.
	Remaining int
	Reset     time.Time
	// InFlight is the token's in-flight bound now (it shrinks under
	// GitLab's pressure).
	InFlight int
	// Requests, Retries and RateLimited (429 answers) count the token's
	// requests since the daemon started.
	Requests, Retries, RateLimited int64
}

// Hook is one managed hook's state in GitLab.
type Hook struct {
	// Scope is "group:<id>", "project:<id>" or "system"; Target the group
	// or project path.
	Scope, Target string
	HookID        int64
	// State is glsync_hook_state's: "enabled", "disabled" (GitLab stopped
	// delivering after failures), "missing", "secret_unknown" or
	// "failing" (a change it needs failed); Detail says more (GitLab's
	// alert_status and disabled_until, what the cycle created or repaired,
	// or why it failed).
	State, Detail string
	// LastDelivery is when this replica last accepted a delivery from the
	// hook (zero: none since it started); Refused counts the deliveries
	// it refused for a wrong token or signature.
	LastDelivery time.Time
	Refused      int64
}

// HookReconcile is the last hook reconciliation cycle.
type HookReconcile struct {
	At                time.Time
	OK                bool
	Error             string
	Changes, Problems int
}

// GitLabStats counts GitLab requests.
type GitLabStats struct {
	Requests, Retries, RateLimited int64
}

// KindRow is one kind of the last resync, in the Overview's table.
type KindRow struct {
	Kind string
	// Counts are kindColumns' values, in that order.
	Counts []int
	// Duration is how long the kind took.
	Duration time.Duration
	Failed   bool
}

// kindColumns are the counters of resync.Record.Kinds shown, in order.
var kindColumns = []string{"fetched", "selected", "created", "updated", "unchanged", "deleted", "errors", "file_errors", "requests"}

type overviewData struct {
	Overview
	Kinds   []KindRow
	Columns []string
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) {
	o, err := c.opts.Status.Overview(r.Context())
	if err != nil {
		c.failed(w, r, s, "reading the daemon's state", err)
		return
	}
	d := overviewData{Overview: o, Columns: kindColumns}
	if o.LastResync != nil {
		for kind, counts := range o.LastResync.Kinds {
			row := KindRow{Kind: kind, Failed: slices.Contains(o.LastResync.FailedKinds, kind), Duration: time.Duration(counts["duration_ms"]) * time.Millisecond}
			for _, col := range kindColumns {
				row.Counts = append(row.Counts, counts[col])
			}
			d.Kinds = append(d.Kinds, row)
		}
		slices.SortFunc(d.Kinds, func(a, b KindRow) int {
			if a.Kind < b.Kind {
				return -1
			}
			if a.Kind > b.Kind {
				return 1
			}
			return 0
		})
	}
	c.render(w, r, s, "overview", "Overview", "overview", d)
}

// resync is the "Resync now" button.
func (c *Console) resync(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := c.opts.Status.RequestResync(r.Context())
	switch {
	case errors.Is(err, ErrBusy):
		c.done(w, r, s, Prefix, "A resync is already running or queued: nothing new was started.")
	case err != nil:
		c.failed(w, r, s, "asking for a resync", err)
	default:
		c.log.Info("console: resync requested", "resync_request", id)
		c.done(w, r, s, Prefix, "Resync requested (request "+id+"); its result shows here when it completes.")
	}
}
