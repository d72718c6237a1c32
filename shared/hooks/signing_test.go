package hooks

import (
	"context"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// With webhookSigning, glsync's hooks get a signing token derived from
// their secret, and a second cycle changes nothing; a hook that lost it
// is repaired in place; turning the setting on for existing hooks adds it.
func TestSigningTokenOnManagedHooks(t *testing.T) {
	f := newFixture(t)
	srcs := f.sources(t, f.org.RootTokens...)
	f.reconcile(t, Settings{AppHost: appHost}, srcs) // unsigned hooks first
	before := map[int64]string{}
	for _, h := range f.sim.Hooks() {
		before[h.ID] = h.Token
	}
	st := Settings{AppHost: appHost, Signing: true}
	plan, res := f.reconcile(t, st, srcs)
	if plan.Changes() != 2 || len(res.Unsigned) != 0 {
		t.Fatalf("turning signing on: %v %+v", plan.Actions, res)
	}
	for _, a := range plan.Actions {
		if a.Op != OpUpdate || !strings.Contains(a.String(), "no signing token") {
			t.Fatalf("plan line: %s", a)
		}
	}
	for _, h := range f.sim.Hooks() {
		sec, _, _ := f.secrets.HookSecret(context.Background(), GroupScope(h.GroupID))
		if h.SigningToken == "" || h.SigningToken != SigningToken(sec.Secret, GroupScope(h.GroupID)) {
			t.Fatalf("hook %d signing token %q is not the one derived from its secret", h.ID, h.SigningToken)
		}
		if h.Token != before[h.ID] {
			t.Fatalf("hook %d: adding the signing token rotated its secret", h.ID)
		}
		if !res.Signing[GroupScope(h.GroupID)] {
			t.Fatalf("result does not report %d signing: %v", h.ID, res.Signing)
		}
	}
	if plan, _ := f.reconcile(t, st, srcs); plan.Changes() != 0 {
		t.Fatalf("second cycle: %v", plan.Actions)
	}
	// Turned off: the hooks keep signing, and an update that replaces a
	// secret gives the signing token of the new one (cleared, a receiver
	// that knows the hook signs would refuse its deliveries; kept, they
	// would be signed with the old secret's key).
	off := Settings{AppHost: appHost}
	if plan, _ := f.reconcile(t, off, srcs); plan.Changes() != 0 || !plan.Signing()[GroupScope(f.org.Roots[0].ID)] {
		t.Fatalf("signing off: %v %v", plan.Actions, plan.Signing())
	}
	h := f.sim.Hooks()[0]
	f.sim.SetHookEvents(h.ID, map[string]bool{"push_events": true})
	if plan, res := f.reconcile(t, off, srcs); plan.Changes() != 1 || len(res.Done) != 1 {
		t.Fatalf("events changed by hand: %v %+v", plan.Actions, res)
	}
	after := f.sim.Hooks()[0]
	sec, _, _ := f.secrets.HookSecret(context.Background(), GroupScope(after.GroupID))
	if after.Token == h.Token || after.SigningToken != SigningToken(sec.Secret, GroupScope(after.GroupID)) {
		t.Fatal("the signing token does not follow the new secret")
	}
}

// A GitLab that ignores signing_token (feature flag off, or older than
// 19.0) is reported, at apply and at plan, instead of leaving deliveries
// to fail later; the hooks are still created and work with their secret.
func TestSigningTokenIgnoredIsReported(t *testing.T) {
	for _, c := range []struct {
		support gitlabtest.SigningSupport
		want    string
	}{
		{gitlabtest.SigningFlagOff, "signing_token_present: false"},
		{gitlabtest.SigningUnsupported, "older than 19.0"},
	} {
		f := newFixture(t)
		f.sim.SetSigningSupport(c.support)
		st := Settings{AppHost: appHost, Signing: true}
		_, res := f.reconcile(t, st, f.sources(t, f.org.RootTokens...))
		if len(res.Done) != 2 || len(res.Unsigned) != 2 || !strings.Contains(res.Unsigned[0].Error(), c.want) || res.Signing[res.Unsigned[0].Scope] {
			t.Fatalf("support %d: %+v", c.support, res)
		}
		plan, _ := f.reconcile(t, st, f.sources(t, f.org.RootTokens...))
		if c.support == gitlabtest.SigningUnsupported && (plan.Changes() != 0 || len(plan.Problems) != 2 || !strings.Contains(plan.Problems[0].Error(), "older than 19.0")) {
			t.Fatalf("GitLab 18, next plan: %v %v", plan.Actions, plan.Problems)
		}
	}
}
