// Package hooks reconciles the GitLab hooks glsync listens on: it works out
// the hooks the configuration wants (one per root group, the override
// mapping's groups, or one system hook), compares them with what GitLab
// has, and plans and applies the difference. The daemon runs it at start-up
// and periodically; the Terraform provider uses the same functions.
//
// Reconciliation is idempotent: hooks are matched by URL, so running it
// twice changes nothing, and duplicates of one URL are removed.
package hooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// Paths where glsyncd receives deliveries, as in the integration we replace.
const (
	GroupHookPath  = "/integration/hook/"
	SystemHookPath = "/integration/system/hook"
)

// SystemScope is the secret scope of the system hook.
const SystemScope = "system"

// GroupScope is the secret scope of a group's hook.
func GroupScope(groupID int64) string { return "group:" + strconv.FormatInt(groupID, 10) }

// groupFlags are all the flags of a group hook glsync manages; flags it
// does not want are set to false.
var groupFlags = []string{"push_events", "issues_events", "confidential_issues_events", "merge_requests_events",
	"tag_push_events", "note_events", "confidential_note_events", "job_events", "pipeline_events", "wiki_page_events",
	"deployment_events", "releases_events", "subgroup_events", "member_events", "project_events"}

var systemFlags = []string{"push_events", "tag_push_events", "merge_requests_events", "repository_update_events"}

// ManagedFlags are the flags reconciliation sets on a group hook (or the
// system hook): the ones a plan compares, so the Terraform resource shows
// a difference in these and only these.
func ManagedFlags(system bool) []string {
	if system {
		return slices.Clone(systemFlags)
	}
	return slices.Clone(groupFlags)
}

// Flags turns spec event names into the set of GitLab flags to enable.
func Flags(events []string) map[string]bool {
	out := map[string]bool{}
	for _, e := range events {
		if f := hookspec.Flag(e); f != "" {
			out[f] = true
		}
	}
	return out
}

// Desired is a hook the configuration wants.
type Desired struct {
	// Scope is GroupScope(id) or SystemScope.
	Scope     string
	GroupID   int64
	GroupPath string
	// ProjectID and ProjectPath are set, instead of the group's, for a
	// personal project's hook (ProjectScope).
	ProjectID   int64
	ProjectPath string
	URL         string
	// Flags are the GitLab event flags to enable.
	Flags map[string]bool
	// Client is the token's client that manages the hook.
	Client *gitlab.Client
	// Signing asks for a signing token on the hook (webhookSigning).
	Signing bool
}

// Problem is something reconciliation could not do; the rest goes on.
type Problem struct {
	Scope string
	Err   error
}

func (p Problem) Error() string { return p.Err.Error() }

// Settings are what the desired set depends on.
type Settings struct {
	AppHost       string
	UseSystemHook bool
	Override      hookspec.OverrideMapping
	// Signing gives every desired hook a signing token (webhookSigning).
	Signing bool
}

// Source pairs a token's crawl source (for its root groups) with the
// override for that token, if any.
type Source = crawl.Source

// DesiredHooks works out the hooks the settings want. Unknown override
// group paths and a missing admin token are problems, not errors: the
// other hooks are still wanted.
func DesiredHooks(ctx context.Context, st Settings, sources []*Source) ([]Desired, []Problem, error) {
	out, problems, err := desiredHooks(ctx, st, sources)
	for i := range out {
		out[i].Signing = st.Signing
	}
	return out, problems, err
}

func desiredHooks(ctx context.Context, st Settings, sources []*Source) ([]Desired, []Problem, error) {
	if st.AppHost == "" {
		return nil, nil, errors.New("hooks: appHost is not set; real-time hooks need the URL GitLab can reach glsyncd at")
	}
	base := strings.TrimRight(st.AppHost, "/")
	if st.UseSystemHook {
		for _, s := range sources {
			u, err := s.Identify(ctx)
			if err != nil {
				return nil, nil, &Skipped{Reason: SkipGitLab, What: "reading token " + s.Client.Masked + "'s user from GitLab", Err: err}
			}
			if u.IsAdmin {
				return []Desired{{Scope: SystemScope, URL: base + SystemHookPath,
					Flags: Flags(hookspec.SystemEvents), Client: s.Client}}, nil, nil
			}
		}
		return nil, []Problem{{Scope: SystemScope, Err: fmt.Errorf("useSystemHook is set but no token in tokenMapping is an administrator's: "+
			"create the system hook by hand in GitLab (Admin > System hooks) with URL %s and the triggers push, merge request and repository update, "+
			"with a secret token, and put that secret in systemHookSecret (or GLSYNC_SYSTEM_HOOK_SECRET)", base+SystemHookPath)}}, nil
	}
	var out []Desired
	var problems []Problem
	seen := map[int64]bool{}
	if len(st.Override) > 0 {
		for _, th := range st.Override {
			src := findSource(sources, th.Token)
			if src == nil {
				return nil, nil, fmt.Errorf("hooks: tokenGroupHooksOverrideMapping: token %s is not in tokenMapping", tokenmap.Mask(th.Token))
			}
			for _, g := range th.Groups {
				var grp struct {
					ID       int64  `json:"id"`
					FullPath string `json:"full_path"`
				}
				path := strings.Trim(g.FullPath, "/")
				status, err := src.Client.Do(ctx, http.MethodGet, "groups/"+gitlab.PathEscape(path), nil, &grp)
				if status == http.StatusNotFound {
					problems = append(problems, Problem{Scope: "group:" + path, Err: fmt.Errorf("tokenGroupHooksOverrideMapping: group %q: GitLab does not know this group (or token %s cannot see it); no hook created for it", path, src.Client.Masked)})
					continue
				}
				if err != nil {
					return nil, nil, &Skipped{Reason: SkipGitLab, What: fmt.Sprintf("reading group %q from GitLab", path), Err: err}
				}
				if seen[grp.ID] {
					continue
				}
				seen[grp.ID] = true
				out = append(out, Desired{Scope: GroupScope(grp.ID), GroupID: grp.ID, GroupPath: grp.FullPath,
					URL: base + GroupHookPath + strconv.FormatInt(grp.ID, 10), Flags: Flags(g.EventsOrAll()), Client: src.Client})
			}
		}
		return personalHooks(ctx, base, sources, out, problems)
	}
	for _, src := range sources {
		roots, err := src.RootGroupObjects(ctx)
		if err != nil {
			return nil, nil, &Skipped{Reason: SkipGitLab, What: "reading token " + src.Client.Masked + "'s root groups from GitLab", Err: err}
		}
		for _, g := range roots {
			if seen[g.ID] {
				continue // first token in tokenMapping order manages it
			}
			seen[g.ID] = true
			out = append(out, Desired{Scope: GroupScope(g.ID), GroupID: g.ID, GroupPath: g.FullPath,
				URL: base + GroupHookPath + strconv.FormatInt(g.ID, 10), Flags: Flags(hookspec.GroupEvents), Client: src.Client})
		}
	}
	return personalHooks(ctx, base, sources, out, problems)
}

func findSource(sources []*Source, token string) *Source {
	for _, s := range sources {
		if s.Entry.Token == token {
			return s
		}
	}
	return nil
}

// Existing is a hook GitLab has.
type Existing struct {
	ID                     int64
	GroupID                int64
	ProjectID              int64
	URL                    string
	Flags                  map[string]bool
	AlertStatus            string
	DisabledUntil          string
	SSL                    bool
	Name, Description      string
	PushEventsBranchFilter string
	CustomWebhookTemplate  string
	// SigningTokenPresent is GitLab 19's signing_token_present; nil when
	// GitLab does not report it (older than 19.0).
	SigningTokenPresent *bool
	// Raw is the hook as GitLab served it, every field.
	Raw map[string]any
}

// Paused reports a hook GitLab stopped delivering to for a while after
// failed deliveries (5xx or no answer: its alert_status
// temporarily_disabled). GitLab resumes it by itself when disabled_until
// passes, and keeps its failed deliveries for "Resend request" meanwhile.
func (e Existing) Paused() bool { return e.AlertStatus == "temporarily_disabled" }

// Disabled reports whether GitLab stopped delivering to the hook after
// failures.
func (e Existing) Disabled() bool {
	if e.AlertStatus != "" && e.AlertStatus != "executable" {
		return true
	}
	if e.DisabledUntil != "" {
		if t, err := time.Parse(time.RFC3339, e.DisabledUntil); err == nil && t.After(time.Now()) {
			return true
		}
	}
	return false
}

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

// OceanWebhookPath is where Ocean v2 points its hooks
// (integrations/gitlab-v2: {base_url}/integration/webhook); glsyncd
// serves it too.
const OceanWebhookPath = "/integration/webhook"

// oceanRoute reports a hook URL on glsync's host at Ocean v2's route.
func oceanRoute(base, u string) bool { return sameURL(u, base+OceanWebhookPath) }

// hookName is the name glsync gives the hooks it creates; a hook at
// glsync's URL with another name was made by someone else (Ocean v1 uses
// the same routes and names nothing).
const hookName = "glsync"

func createdByGlsync(e Existing) bool { return e.Name == hookName }

// derived reports secrets that derive from webhookSecret: the same for
// every instance sharing it, so setting one is harmless.
func derived(secrets catalog.Secrets) bool {
	_, ok := secrets.(interface{ NewHookSecret(string) string })
	return ok
}

// hookTarget names a desired hook's group, or the system.
func hookTarget(d Desired) string {
	if d.Scope == SystemScope {
		return "the system"
	}
	if d.ProjectID != 0 {
		return "project " + d.ProjectPath
	}
	return "group " + d.GroupPath
}

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

func asAPIError(err error, target **gitlab.APIError) bool { return errors.As(err, target) }

// NewSecret returns a random hook secret (256 bits, hex).
func NewSecret() string { return newSecret() }

func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}
