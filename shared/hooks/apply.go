// Applying a plan: each action carried out against GitLab, with the hook's
// new secret stored before GitLab is told.

package hooks

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// Result is what Apply did.
type Result struct {
	Done   []Action
	Failed []Problem
	// Unsigned are hooks created or updated with a signing token that
	// GitLab did not keep (signing_token_present false or absent: the
	// feature flag webhook_signing_token off, or GitLab older than 19.0).
	// The hook works, checked by X-Gitlab-Token alone; reported here so
	// it is known now rather than guessed from deliveries later.
	Unsigned []Problem
	// Signing is signing_token_present as GitLab answered each hook
	// created or updated, by scope.
	Signing map[string]bool
	// Skipped are project hooks GitLab refused (403: the token may read
	// the project but not manage its hooks, e.g. a read_api token), as
	// Ocean v2 skips them: a warning, not a failure.
	Skipped []Problem
}

// Signing is signing_token_present of each hook the plan keeps as
// GitLab listed it, by scope (false when GitLab does not report it).
func (p *Plan) Signing() map[string]bool {
	out := map[string]bool{}
	for _, a := range p.Actions {
		if a.Op == OpDelete || a.Desired.Scope == "" || a.Existing == nil {
			continue
		}
		out[a.Desired.Scope] = a.Existing.SigningTokenPresent != nil && *a.Existing.SigningTokenPresent
	}
	return out
}

// Apply carries out a plan. Each hook gets a new random secret, stored
// before GitLab is told, so a delivery that follows at once is accepted.
// A failing action is reported and the others still run.
func Apply(ctx context.Context, plan *Plan, secrets catalog.Secrets, log *slog.Logger) Result {
	if log == nil {
		log = slog.Default()
	}
	var res Result
	for _, a := range plan.Actions {
		if a.Op == OpKeep {
			continue
		}
		present, err := apply(ctx, a, secrets)
		if err != nil {
			if p, ok := projectForbidden(a, err); ok {
				res.Skipped = append(res.Skipped, p)
				log.Warn("project hook skipped: GitLab refused it (403)", "scope", p.Scope, "project", a.Desired.ProjectPath, "error", err)
				continue
			}
			scope := a.Desired.Scope
			if scope == "" && a.Existing != nil {
				scope = a.Existing.URL
			}
			res.Failed = append(res.Failed, Problem{Scope: scope, Err: fmt.Errorf("%s: %w", a, err)})
			log.Error("hook action failed", "action", string(a.Op), "scope", scope, "error", err)
			continue
		}
		res.Done = append(res.Done, a)
		log.Info("hook "+string(a.Op)+"d", "scope", a.Desired.Scope, "group", a.Desired.GroupPath, "reason", a.Reason)
		if a.Op == OpCreate || a.Op == OpRecreate || a.Op == OpUpdate {
			signs := present != nil && *present
			if res.Signing == nil {
				res.Signing = map[string]bool{}
			}
			res.Signing[a.Desired.Scope] = signs
			if a.Desired.Signing && !signs {
				why := "GitLab answered signing_token_present: false (feature flag webhook_signing_token off?)"
				if present == nil {
					why = "GitLab does not know signing tokens (older than 19.0)"
				}
				p := Problem{Scope: a.Desired.Scope, Err: fmt.Errorf("hook of %s: sent a signing token but %s: its deliveries are not signed, and are checked by X-Gitlab-Token alone", hookTarget(a.Desired), why)}
				res.Unsigned = append(res.Unsigned, p)
				log.Warn("hooks: "+p.Error(), "scope", a.Desired.Scope)
			}
		}
	}
	return res
}

// apply carries out one action and returns the hook's
// signing_token_present as GitLab answered a create or update (nil when
// not reported).
func apply(ctx context.Context, a Action, secrets catalog.Secrets) (*bool, error) {
	spec := func(secret string) Spec {
		name, desc := hookName, "glsync real-time catalog updates"
		if a.Desired.Scope == SystemScope {
			desc = ""
		}
		var events []string // GitLab's flag names, which are event names too
		for f, on := range a.Desired.Flags {
			if on {
				events = append(events, f)
			}
		}
		sort.Strings(events)
		sp := Spec{GroupID: a.Desired.GroupID, ProjectID: a.Desired.ProjectID, URL: a.Desired.URL, Events: events, Token: secret,
			EnableSSLVerification: true, Name: name, Description: desc}
		// A hook that signs keeps signing, webhookSigning on or not, with
		// the key of its new secret: cleared, its deliveries would be
		// refused by a receiver that knows it signs; kept, they would be
		// signed with the key of the secret being replaced.
		if a.Desired.Signing || (a.Existing != nil && a.Existing.SigningTokenPresent != nil && *a.Existing.SigningTokenPresent) {
			sp.SigningToken = SigningToken(secret, a.Desired.Scope)
		}
		return sp
	}
	switch a.Op {
	case OpResume:
		return nil, resumeAt(ctx, a.Client, a.Desired.owner(), a.Existing.ID)
	case OpDelete:
		return nil, DeleteOf(ctx, a.Client, a.Desired.owner(), a.Existing.ID)
	case OpRecreate, OpCreate:
		secret := secretFor(secrets, a.Desired.Scope)
		var old catalog.HookSecret
		var held bool
		if a.Op == OpRecreate {
			var err error
			if old, held, err = secrets.HookSecret(ctx, a.Desired.Scope); err != nil {
				return nil, fmt.Errorf("reading the hook's secret, so the hook is left as it is: %w", err)
			}
		}
		// The store is written before GitLab is touched: a store that
		// cannot be written must leave the old hook in place, not delete
		// it and fail to make the new one.
		if err := secrets.PutHookSecret(ctx, catalog.HookSecret{Scope: a.Desired.Scope, URL: a.Desired.URL, Secret: secret}); err != nil {
			return nil, err
		}
		if a.Op == OpRecreate {
			if err := DeleteOf(ctx, a.Client, a.Desired.owner(), a.Existing.ID); err != nil {
				if held {
					_ = secrets.PutHookSecret(ctx, old) // the old hook stays, with its secret
				}
				return nil, err
			}
		}
		created, err := Create(ctx, a.Client, spec(secret))
		if err != nil {
			return nil, err
		}
		return created.SigningTokenPresent, secrets.PutHookSecret(ctx, catalog.HookSecret{Scope: a.Desired.Scope, HookID: created.ID, URL: a.Desired.URL, Secret: secret})
	case OpUpdate:
		secret := secretFor(secrets, a.Desired.Scope)
		if a.signingOnly {
			held, ok, err := secrets.HookSecret(ctx, a.Desired.Scope)
			if err != nil {
				return nil, fmt.Errorf("reading the hook's secret, so the hook is left as it is: %w", err)
			}
			if ok && held.Secret != "" {
				secret = held.Secret
			}
		}
		if err := secrets.PutHookSecret(ctx, catalog.HookSecret{Scope: a.Desired.Scope, HookID: a.Existing.ID, URL: a.Desired.URL, Secret: secret}); err != nil {
			return nil, err
		}
		updated, err := Update(ctx, a.Client, a.Existing.ID, spec(secret))
		return updated.SigningTokenPresent, err
	}
	return nil, nil
}
