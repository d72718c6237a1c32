// Plans: the desired hooks compared with those GitLab has, matched by URL,
// and the action each needs.

package hooks

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// Op is what to do with a hook.
type Op string

// Operations in a plan.
const (
	OpCreate   Op = "create"
	OpUpdate   Op = "update"
	OpRecreate Op = "recreate"
	OpDelete   Op = "delete"
	OpKeep     Op = "keep"
	// OpResume re-enables a hook GitLab paused after failed deliveries
	// with a test delivery (GitLab 17.1+ for group hooks), keeping the
	// hook, its id and the failed deliveries GitLab can resend.
	OpResume Op = "resume"
)

// Action is one step of a plan.
type Action struct {
	Op       Op
	Desired  Desired   // zero for OpDelete
	Existing *Existing // nil for OpCreate
	// Client manages the hook (for deletes, the one that found it).
	Client *gitlab.Client
	Reason string
	// unknownSecret: kept hook whose secret glsync does not hold.
	unknownSecret bool
	// paused: kept hook GitLab paused after failed deliveries.
	paused bool
	// signingOnly: an update that only adds the signing token, which
	// keeps the secret glsync holds (a GitLab that keeps ignoring the
	// token is asked again each cycle, without rotating the secret).
	signingOnly bool
}

// UnknownSecret reports an action on a hook whose secret glsync does not
// hold: until it runs, the hook's deliveries are refused.
func (a Action) UnknownSecret() bool { return a.unknownSecret }

func (a Action) String() string {
	target := a.Desired.GroupPath
	if a.Desired.ProjectPath != "" {
		target = "project " + a.Desired.ProjectPath
	}
	url := a.Desired.URL
	if a.Op == OpDelete {
		url = a.Existing.URL
	}
	if target == "" {
		target = "(system)"
	}
	s := fmt.Sprintf("%-8s %s %s", a.Op, target, url)
	if a.Existing != nil {
		s += fmt.Sprintf(" (hook %d)", a.Existing.ID)
	}
	if a.Reason != "" {
		s += ": " + a.Reason
	}
	return s
}

// Plan is the difference between wanted and existing hooks.
type Plan struct {
	Actions  []Action
	Problems []Problem
}

// Changes counts the actions that change GitLab.
func (p *Plan) Changes() int {
	n := 0
	for _, a := range p.Actions {
		if a.Op != OpKeep {
			n++
		}
	}
	return n
}

// MakePlan lists the existing hooks of every desired group (all pages) and
// of the system, and decides per hook. secrets tells whether glsync holds
// the secret of a kept hook; without it the hook is updated with a new one.
// Hooks pointing at appHost's hook paths that are no longer wanted on a
// group glsync manages are deleted, and so are duplicates of one URL.
// When a listing or a secret cannot be read, the error is a *Skipped and
// there is no plan: nothing is decided on partial knowledge.
func MakePlan(ctx context.Context, appHost string, desired []Desired, problems []Problem, secrets catalog.Secrets) (*Plan, error) {
	return MakePlanWith(ctx, PlanOptions{AppHost: appHost, RotateUnknownSecrets: true}, desired, problems, secrets)
}

// PlanOptions tune MakePlanWith.
type PlanOptions struct {
	AppHost string
	// RotateUnknownSecrets gives a new secret to a kept hook whose secret
	// glsync does not hold. Without it such a hook is left alone and
	// reported: another instance may hold its secret, and replacing it
	// would lock that instance out.
	RotateUnknownSecrets bool
}

// MakePlanWith is MakePlan with options.
func MakePlanWith(ctx context.Context, o PlanOptions, desired []Desired, problems []Problem, secrets catalog.Secrets) (*Plan, error) {
	appHost := o.AppHost
	plan := &Plan{Problems: problems}
	base := strings.TrimRight(appHost, "/")
	for _, d := range desired {
		existing, err := listHooks(ctx, d.Client, d.owner())
		if p, ok := projectListingProblem(d, err); ok {
			plan.Problems = append(plan.Problems, p)
			continue
		}
		if err != nil {
			return nil, &Skipped{Reason: SkipGitLab, What: "listing the hooks of " + hookTarget(d) + " in GitLab", Err: err}
		}
		// Deletes keep the group or project (for the API path) but no
		// scope or URL.
		where := Desired{GroupID: d.GroupID, GroupPath: d.GroupPath, ProjectID: d.ProjectID, ProjectPath: d.ProjectPath}
		var adopt *Existing
		match := firstByURL(existing, d.URL)
		for i := range existing {
			e := existing[i]
			switch {
			case &existing[i] == match: // the hook at the URL: decided below
			case sameURL(e.URL, d.URL):
				plan.Actions = append(plan.Actions, Action{Op: OpDelete, Desired: where, Existing: &existing[i], Client: d.Client, Reason: "duplicate of hook " + strconv.FormatInt(match.ID, 10)})
			case oceanRoute(base, e.URL) || strings.HasPrefix(e.URL, base+GroupHookPath) || strings.HasPrefix(e.URL, base+ProjectHookPath) || e.URL == base+SystemHookPath:
				if adopt == nil {
					adopt = &existing[i]
					continue
				}
				plan.Actions = append(plan.Actions, Action{Op: OpDelete, Desired: where, Existing: &existing[i], Client: d.Client, Reason: "another hook at one of Ocean's or glsync's routes"})
			}
		}
		var a Action
		switch {
		case match == nil && adopt != nil:
			// Ocean's hook (or glsync's at an outdated URL) becomes this
			// one: URL, events and secret updated in place, no second hook.
			a = Action{Op: OpUpdate, Desired: d, Existing: adopt, Client: d.Client, Reason: "adopting the hook at " + adopt.URL}
			if d.Scope == SystemScope {
				a.Op = OpRecreate
			}
		case match != nil && adopt != nil:
			plan.Actions = append(plan.Actions, Action{Op: OpDelete, Desired: where, Existing: adopt, Client: d.Client, Reason: "another hook at one of Ocean's or glsync's routes"})
			fallthrough
		default:
			if a, err = decide(ctx, d, match, secrets); err != nil {
				return nil, &Skipped{Reason: SkipStore, What: "reading the secret of the hook of " + hookTarget(d) + " from glsync's store", Err: err}
			}
		}
		switch {
		case match != nil && (a.Op == OpKeep || a.Op == OpUpdate) && !createdByGlsync(*match):
			// A hook at glsync's URL that glsync did not create: Ocean v1's
			// hooks use the same routes, without a secret.
			a.Op, a.Reason = OpUpdate, "adopting a hook glsync did not create (Ocean's: same route, no secret)"
			if d.Scope == SystemScope {
				a.Op = OpRecreate
			}
		case a.paused && a.Op == OpKeep:
			until := ""
			if match.DisabledUntil != "" {
				until = " until " + match.DisabledUntil
			}
			plan.Problems = append(plan.Problems, Problem{Scope: d.Scope, Err: fmt.Errorf("hook %d on %s: GitLab paused deliveries to it%s after failed ones; "+
				"kept as it is (GitLab resumes it by itself, and its failed deliveries can still be resent from its Recent events)", match.ID, hookTarget(d), until)})
		case a.unknownSecret && !o.RotateUnknownSecrets && !derived(secrets):
			a.Op, a.Reason = OpKeep, ""
			plan.Problems = append(plan.Problems, Problem{Scope: d.Scope, Err: fmt.Errorf("hook %d on %s: glsync does not hold its secret, so deliveries to it are refused; "+
				"set webhookSecret (GLSYNC_WEBHOOK_SECRET) on every instance, or give it a new secret with `glsyncd hooks apply --rotate-secrets` "+
				"run on the data directory (or database) of the glsyncd that receives the hook: the new secret is stored only where the command runs, "+
				"and a glsyncd using another one refuses the hook's deliveries from then on", match.ID, hookTarget(d))})
		}
		if match != nil && d.Signing && match.SigningTokenPresent == nil && a.Op != OpRecreate {
			plan.Problems = append(plan.Problems, Problem{Scope: d.Scope, Err: fmt.Errorf("hook %d on %s: webhookSigning is on but GitLab does not report signing_token_present "+
				"(older than 19.0): its deliveries are not signed and are checked by X-Gitlab-Token alone", match.ID, hookTarget(d))})
		}
		plan.Actions = append(plan.Actions, a)
	}
	sort.SliceStable(plan.Actions, func(i, j int) bool { return plan.Actions[i].Op == OpDelete && plan.Actions[j].Op != OpDelete })
	return plan, nil
}

// decide plans one desired hook against the one GitLab has at its URL.
// An error reading the store is returned, never read as "no secret held":
// that would give a working hook a new secret, or replace it.
func decide(ctx context.Context, d Desired, match *Existing, secrets catalog.Secrets) (Action, error) {
	if match == nil {
		return Action{Op: OpCreate, Desired: d, Client: d.Client, Reason: "no hook"}, nil
	}
	a := Action{Desired: d, Existing: match, Client: d.Client}
	flags := d.owner().flags()
	var diff []string
	for _, f := range flags {
		if match.Flags[f] != d.Flags[f] {
			diff = append(diff, fmt.Sprintf("%s %v→%v", f, match.Flags[f], d.Flags[f]))
		}
	}
	var held, known bool
	if secrets != nil {
		_, ok, err := secrets.HookSecret(ctx, d.Scope)
		if err != nil {
			return Action{}, err
		}
		held, known = ok, true
	}
	switch {
	case match.Disabled() && !match.Paused():
		// Disabled for good: nothing else makes GitLab deliver again. A
		// paused hook is not re-created: that would resume deliveries a
		// little sooner but lose the failed ones GitLab keeps for
		// resending (a database restart glsync answered 503 to, for one).
		a.Op, a.Reason = OpRecreate, "GitLab disabled it after failed deliveries"
	case len(diff) > 0 && d.Scope == SystemScope && match.Paused():
		a.Op = OpKeep // a system hook's events change only by re-creating it
	case len(diff) > 0 && d.Scope == SystemScope:
		a.Op, a.Reason = OpRecreate, "events differ: "+strings.Join(diff, ", ")
	case len(diff) > 0:
		a.Op, a.Reason = OpUpdate, "events differ: "+strings.Join(diff, ", ")
	default:
		a.Op = OpKeep
		if known && !held {
			a.Op = OpUpdate
			if d.Scope == SystemScope {
				a.Op = OpRecreate
			}
			a.Reason = "glsync does not hold its secret"
			a.unknownSecret = true
		}
	}
	if a.Op == OpKeep && d.Signing && match.SigningTokenPresent != nil && !*match.SigningTokenPresent {
		// An update in place, the system hook's too: only GitLab 19+
		// reports signing_token_present, and it updates system hooks.
		a.Op, a.Reason, a.signingOnly = OpUpdate, "no signing token (webhookSigning is on)", true
	}
	// Edits in place keep the hook and its deliveries. A group hook with
	// nothing else to change is resumed: GitLab dropped the events of the
	// pause, and would drop more until disabled_until. A system hook
	// (GitLab has no test API for it) is kept and reported.
	if a.Op == OpKeep && match.Paused() {
		a.paused = true
		if d.Scope != SystemScope {
			a.Op, a.Reason = OpResume, "GitLab paused it after failed deliveries; a test delivery resumes it in place"
		}
	}
	return a, nil
}

// derived reports secrets that derive from webhookSecret: the same for
// every instance sharing it, so setting one is harmless.
func derived(secrets catalog.Secrets) bool {
	_, ok := secrets.(interface{ NewHookSecret(string) string })
	return ok
}
