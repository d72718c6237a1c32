package hooks

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
)

func TestSingleHookCRUDAndEventsRoundTrip(t *testing.T) {
	f := newFixture(t)
	c, _ := gitlab.New(f.host, f.org.RootTokens[0], gitlab.Options{RetryBase: time.Millisecond}, nil)
	root := f.org.Roots[0]
	ctx := context.Background()
	spec := Spec{GroupID: root.ID, URL: "https://ci.example.com/hook", Events: []string{"push_events", "user_add_to_group"},
		Token: "s3cret", EnableSSLVerification: true, Name: "ci", PushEventsBranchFilter: "main"}
	h, err := Create(ctx, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := Get(ctx, c, root.ID, h.ID)
	if err != nil || !found || got.Name != "ci" || got.PushEventsBranchFilter != "main" || !got.SSL {
		t.Fatalf("get: %+v %v %v", got, found, err)
	}
	// member_events covers three spec events; the prior choice is kept.
	if ev := got.Events(false, spec.Events); strings.Join(ev, ",") != "push_events,user_add_to_group" {
		t.Fatalf("events %v", ev)
	}
	if ev := got.Events(false, nil); strings.Join(ev, ",") != "push_events,user_add_to_group,user_remove_from_group,user_update_for_group" {
		t.Fatalf("events without prior %v", ev)
	}
	spec.Events = nil // all
	if _, err := Update(ctx, c, h.ID, spec); err != nil {
		t.Fatal(err)
	}
	got, _, _ = Get(ctx, c, root.ID, h.ID)
	if len(got.Events(false, nil)) != len(hookspec.GroupEvents) {
		t.Fatalf("empty events must mean all: %v", got.Events(false, nil))
	}
	if err := Delete(ctx, c, root.ID, h.ID); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := Get(ctx, c, root.ID, h.ID); found {
		t.Fatal("hook still there")
	}
	if err := Delete(ctx, c, root.ID, h.ID); err != nil {
		t.Fatalf("deleting a gone hook: %v", err)
	}
	// A system hook with a group token: a clear 403.
	_, err = Create(ctx, c, Spec{URL: "https://x.example.com/h"})
	var ae *gitlab.APIError
	if !errors.As(err, &ae) || ae.Status != 403 || !strings.Contains(err.Error(), "system hooks need an administrator's token") {
		t.Fatalf("system hook with a group token: %v", err)
	}
}

// TestFindByURL: the lookup both glsyncd hooks apply and the Terraform
// resources use finds the oldest hook at a URL (a trailing slash is the
// same URL), nil when there is none, and says what a 403 means.
func TestFindByURL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, _ := gitlab.New(f.host, f.org.RootTokens[0], gitlab.Options{RetryBase: time.Millisecond}, nil)
	root := f.org.Roots[0]
	url := "https://glsync.example.com/integration/hook/9"
	first, err := Create(ctx, c, Spec{GroupID: root.ID, URL: url + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(ctx, c, Spec{GroupID: root.ID, URL: url}); err != nil {
		t.Fatal(err)
	}
	got, err := FindByURL(ctx, c, root.ID, url)
	if err != nil || got == nil || got.ID != first.ID {
		t.Fatalf("FindByURL = %+v, %v; want hook %d", got, err, first.ID)
	}
	if got, err := FindByURL(ctx, c, root.ID, "https://elsewhere.example.com/h"); got != nil || err != nil {
		t.Fatalf("no hook there: %+v %v", got, err)
	}
	if _, err := FindByURL(ctx, c, 0, url); err == nil || !strings.Contains(err.Error(), "system hooks need an administrator's token") {
		t.Fatalf("system hooks with a group token: %v", err)
	}
}

// TestEventsKeepTheSpellingWritten: a hook's flags read back under the
// names the user wrote (GitLab's, the spec's or Ocean's), so the
// provider's events attribute does not show a perpetual difference.
func TestEventsKeepTheSpellingWritten(t *testing.T) {
	e := Existing{Flags: map[string]bool{"push_events": true, "job_events": true, "pipeline_events": true, "member_events": true}}
	for _, c := range []struct{ asked, want string }{
		// Flags on in GitLab but not asked for read back under the spec's names.
		{"job_events,pipelines_events", "job_events,pipelines_events,push_events,user_add_to_group,user_remove_from_group,user_update_for_group"},
		{"jobs_events,pipeline_events,user_add_to_group,push_events", "jobs_events,pipeline_events,push_events,user_add_to_group"},
	} {
		got := strings.Join(e.Events(false, strings.Split(c.asked, ",")), ",")
		if got != c.want {
			t.Errorf("Events(%s) = %s, want %s", c.asked, got, c.want)
		}
	}
}
