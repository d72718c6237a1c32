package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
)

// hookScopes are the scopes of the hooks glsync manages: those the last
// reconciliation wanted and those the store holds a record of.
func (s *Service) hookScopes(ctx context.Context) []string {
	s.scopesMu.Lock()
	out := append([]string(nil), s.managedScopes...)
	s.scopesMu.Unlock()
	stored, err := s.secrets.HookScopes(ctx)
	if err != nil {
		s.log.Error("listing hook scopes failed", "error", err)
	}
	for _, sc := range stored {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// secretsChanged tells the webhook receiver that hook secrets or the
// managed hooks may have changed.
func (s *Service) secretsChanged() {
	if s.receiver != nil {
		s.receiver.SecretsChanged()
	}
}

// ReconcileHooks plans (and with apply, applies) the hook changes.
func (s *Service) ReconcileHooks(ctx context.Context, apply bool) (*hooks.Plan, error) {
	sources, err := s.sources() // fresh: root groups may have changed
	if err != nil {
		return nil, err
	}
	plan, res, err := Reconcile(ctx, s.config(), sources, s.secrets, apply, s.log.With("component", "hooks"))
	s.secretsChanged()
	if apply {
		s.hookState.record(plan, err)
		if err == nil {
			s.metrics.SetHooks(hookStates(plan, res))
			s.hookState.recordHooks(plan, res)
		}
	}
	if err != nil {
		return nil, err
	}
	var scopes []string
	for _, a := range plan.Actions {
		if a.Desired.Scope != "" {
			scopes = append(scopes, a.Desired.Scope)
		}
	}
	s.scopesMu.Lock()
	s.managedScopes = scopes
	s.scopesMu.Unlock()
	for _, p := range plan.Problems {
		s.log.Warn("hooks: "+p.Error(), "scope", p.Scope)
	}
	// What GitLab says of each hook's signing token decides whether the
	// receiver takes its unsigned deliveries.
	signing := plan.Signing()
	maps.Copy(signing, res.Signing)
	if s.receiver != nil {
		for sc, signs := range signing {
			s.receiver.SetSigning(sc, signs)
		}
	}
	if apply && s.config().WebhookSigning {
		s.hookState.recordSigning(signing)
	}
	if apply {
		// For the replicas that do not reconcile: they require the
		// signatures of the hooks that sign too.
		if b, err := json.Marshal(signing); err == nil {
			if err := s.records.PutSetting(ctx, hookSigningKey, b); err != nil {
				s.log.Warn("hooks: recording which hooks sign failed; other replicas learn it from signed deliveries", "error", err)
			} else if s.receiver != nil {
				s.receiver.SigningChanged()
			}
		}
	}
	if apply {
		for _, f := range res.Failed {
			s.log.Error("hooks: "+f.Error(), "scope", f.Scope)
		}
		for _, f := range res.Skipped {
			s.log.Warn("hooks: "+f.Error(), "scope", f.Scope)
		}
		for _, a := range res.Done {
			if a.Op == hooks.OpResume {
				// GitLab dropped the events of the pause: only a resync
				// reads them.
				s.TriggerResync("hook of " + a.Desired.GroupPath + " resumed after GitLab paused it: a resync reads the events it did not deliver meanwhile")
				break
			}
		}
	}
	return plan, nil
}

// hookSigningKey is the setting where the replica that reconciles hooks
// records which hooks sign (scope → GitLab's signing_token_present).
const hookSigningKey = "hook_signing"

// sharedSigning reads that record (nothing before the first
// reconciliation).
func (s *Service) sharedSigning(ctx context.Context) (map[string]bool, error) {
	b, found, err := s.records.Setting(ctx, hookSigningKey)
	if err != nil || !found {
		return nil, err
	}
	var m map[string]bool
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("setting %s: %w", hookSigningKey, err)
	}
	return m, nil
}

// Reconcile is the hook reconciliation shared by `glsyncd run` and
// `glsyncd hooks plan|apply`.
func Reconcile(ctx context.Context, cfg *config.Config, sources []*crawl.Source, store catalog.Secrets, apply bool, log *slog.Logger) (*hooks.Plan, hooks.Result, error) {
	return ReconcileWith(ctx, cfg, sources, store, ReconcileOptions{Apply: apply}, log)
}

// ReconcileOptions tune ReconcileWith.
type ReconcileOptions struct {
	// Apply makes the changes; without it the plan is only shown.
	Apply bool
	// RotateSecrets gives new secrets to hooks whose secret glsync does not
	// hold (never needed with webhookSecret).
	RotateSecrets bool
}

// HookSecrets is where the hooks' secrets come from: derived from
// webhookSecret when it is set, else the store's.
func HookSecrets(cfg *config.Config, store catalog.Secrets) catalog.Secrets {
	if cfg.WebhookSecret != "" {
		return hooks.Keyed{Master: cfg.WebhookSecret, Store: store}
	}
	return store
}

// ReconcileWith is Reconcile with options.
func ReconcileWith(ctx context.Context, cfg *config.Config, sources []*crawl.Source, store catalog.Secrets, o ReconcileOptions, log *slog.Logger) (*hooks.Plan, hooks.Result, error) {
	apply := o.Apply
	secrets := HookSecrets(cfg, store)
	st := hooks.Settings{AppHost: cfg.AppHost, UseSystemHook: cfg.UseSystemHook, Override: cfg.TokenGroupHooksOverrideMapping, Signing: cfg.WebhookSigning}
	desired, problems, err := hooks.DesiredHooks(ctx, st, sources)
	if err != nil {
		return nil, hooks.Result{}, err
	}
	if cfg.UseSystemHook && len(desired) == 0 && cfg.SystemHookSecret != "" {
		// A hand-made system hook with its secret in config: nothing to do.
		problems = nil
	}
	plan, err := hooks.MakePlanWith(ctx, hooks.PlanOptions{AppHost: cfg.AppHost, RotateUnknownSecrets: o.RotateSecrets}, desired, problems, secrets)
	if err != nil {
		return nil, hooks.Result{}, err
	}
	if !apply {
		return plan, hooks.Result{}, nil
	}
	return plan, hooks.Apply(ctx, plan, secrets, log), nil
}

// reconcileLoop keeps the hooks as configured: when leadership begins
// and then every hookReconcileInterval.
func (s *Service) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.Config.HookReconcileInterval)
	defer t.Stop()
	for {
		if _, err := s.ReconcileHooks(ctx, true); err != nil && ctx.Err() == nil {
			var sk *hooks.Skipped
			if errors.As(err, &sk) {
				// Not an error of the hooks: glsync could not read what it
				// needs to judge them, so it touched none.
				s.log.Warn("hook reconciliation skipped this cycle: no hook was created, changed or deleted; the next cycle tries again",
					"component", "hooks", "reason", sk.Reason, "failed", sk.What, "error", sk.Err, "next_in", s.opts.Config.HookReconcileInterval.String())
			} else {
				s.log.Error("hook reconciliation failed", "component", "hooks", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
