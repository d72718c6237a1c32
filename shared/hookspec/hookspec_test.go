package hookspec

import (
	"slices"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

const tokA = "glpat-QXbeg-Ev9xtu5_5FsaAQ"
const tokB = "glpat-xF7Ae-vXu5ts5_QbEgAQ9"

// TestEventFlags: each accepted name turns on the GitLab flag that
// delivers it.
func TestEventFlags(t *testing.T) {
	for name, flag := range map[string]string{"jobs_events": "job_events", "job_events": "job_events", "user_add_to_group": "member_events",
		"member_events": "member_events", "pipelines_events": "pipeline_events", "merge-requests_events": "merge_requests_events", "project_events": "project_events"} {
		if got := Flag(name); got != flag {
			t.Errorf("Flag(%q) = %q, want %q", name, got, flag)
		}
	}
	if IsGroupEvent("repository_update_events") || IsGroupEvent("pipeline_evnts") {
		t.Fatal("a system-only or unknown name accepted for group hooks")
	}
}

// TestOneTableOfEventNames: every name the spec, GitLab and Ocean use is
// in the table, each turns on the flag GitLab delivers it with, and the
// lists the daemon and the provider read come from the table.
func TestOneTableOfEventNames(t *testing.T) {
	for _, n := range GroupEvents { // the spec's list
		if !IsGroupEvent(n) {
			t.Errorf("spec name %q not accepted", n)
		}
	}
	for _, f := range GitLabGroupFlags {
		if Flag(f) != f {
			t.Errorf("GitLab flag %q maps to %q", f, Flag(f))
		}
	}
	for _, n := range GroupEventNames {
		if !slices.Contains(GitLabGroupFlags, n.Flag) || n.Source == "" {
			t.Errorf("%+v: flag not a GitLab group flag, or no source", n)
		}
	}
	if got := GroupEventSpellings(); len(got) != len(GroupEventNames) || !slices.Contains(got, "job_events") || !slices.Contains(got, "jobs_events") || !slices.Contains(got, "pipelines_events") {
		t.Fatalf("GroupEventSpellings = %v", got)
	}
	for _, n := range SystemEvents {
		if !IsSystemEvent(n) {
			t.Errorf("system event %q not accepted", n)
		}
	}
	if IsSystemEvent("issues_events") || Flag("merge-requests_events") != "merge_requests_events" || Flag("repository_update_events") != "repository_update_events" {
		t.Fatal("system table wrong")
	}
}

// TestUnknownEventListsSpellingsByFlag: the error names the wrong event
// and lists each flag once, with its other spellings next to it.
func TestUnknownEventListsSpellingsByFlag(t *testing.T) {
	msg := UnknownEventError("pipeline_evnts", false)
	for _, want := range []string{`unsupported event "pipeline_evnts"`, "pipeline_events (also pipelines_events)", "job_events (also jobs_events)",
		"member_events (also user_add_to_group, user_remove_from_group, user_update_for_group)", "merge_requests_events (also merge-requests_events)", "; note_events;"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s\nwant it to contain %q", msg, want)
		}
	}
	if strings.Count(msg, "member_events") != 1 {
		t.Errorf("member_events listed more than once: %s", msg)
	}
	sys := UnknownEventError("issues_events", true)
	if !strings.Contains(sys, "merge_requests_events (also merge-requests_events); repository_update_events") || strings.Contains(sys, "note_events") {
		t.Errorf("system message: %s", sys)
	}
}

func TestOverrideMappingRules(t *testing.T) {
	tokens := tokenmap.Mapping{{Token: tokA, Patterns: []string{"**"}}}
	cases := []struct {
		name, in, want string
	}{
		{"ok", `{"` + tokA + `": {"groups": {"path/to/my-first-group": {"events": ["push_events", "merge_requests_events"]}, "path/to/my-other-group": {"events": []}}}}`, ""},
		{"token not in mapping", `{"` + tokB + `": {"groups": {"a": {"events": []}}}}`, "hooks: token glpat-xF…: token is not in tokenMapping"},
		{"missing groups", `{"` + tokA + `": {"a": {"events": []}}}`, `hooks: token glpat-QX…: the "groups" key is required for each token`},
		{"missing events", `{"` + tokA + `": {"groups": {"a": {}}}}`, `hooks: token glpat-QX…: group "a": the "events" key is required`},
		{"unsupported event", `{"` + tokA + `": {"groups": {"a": {"events": ["pipeline_evnts"]}}}}`, `group "a": unsupported event "pipeline_evnts"; accepted events, by the GitLab flag they turn on: push_events; issues_events`},
		{"duplicate", `{"` + tokA + `": {"groups": {"a/b": {"events": []}, "a/b/": {"events": []}}}}`, `group "a/b": group is listed more than once`},
		{"hierarchical", `{"` + tokA + `": {"groups": {"a/b/c": {"events": []}, "a/b": {"events": []}}}}`, `groups "a/b" and "a/b/c" are hierarchical`},
		{"siblings are fine", `{"` + tokA + `": {"groups": {"a/b": {"events": []}, "a/bc": {"events": []}}}}`, ""},
		{"malformed", `{"` + tokA + `": `, "hooks: malformed JSON"},
		// The names the spec documents, GitLab's flag names (the
		// Terraform providers'), the names Ocean's code validates, and the
		// spec's own example (its unbalanced quote closed).
		{"spec names", `{"` + tokA + `": {"groups": {"a": {"events": ["jobs_events", "user_add_to_group", "user_remove_from_group", "user_update_for_group", "confidential_issues_events"]}}}}`, ""},
		{"GitLab's names", `{"` + tokA + `": {"groups": {"a": {"events": ["job_events", "member_events", "project_events", "deployment_events", "note_events", "emoji_events"]}}}}`, ""},
		{"Ocean's names", `{"` + tokA + `": {"groups": {"a": {"events": ["push_events", "merge_requests_events", "issues_events", "job_events", "pipeline_events", "releases_events", "tag_push_events", "subgroup_events", "confidential_issues_events", "member_events"]}}}}`, ""},
		{"the spec's example", `{"` + tokA + `": {"groups": {"path/to/my-first-group": {"events": ["push_events", "merge_requests_events"]}, "path/to/my-other-group": {"events": ["pipelines_events"]}}}}`, ""},
		{"Ocean's spec.yaml example", `{"` + tokA + `": {"groups": {"a": {"events": ["merge-requests_events"]}}}}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseOverrideJSON("hooks", []byte(c.in))
			if err == nil {
				err = m.Validate("hooks", tokens)
			}
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), tokA) || strings.Contains(err.Error(), tokB) {
				t.Fatalf("error leaks a token: %v", err)
			}
		})
	}
}

func TestParseKeepsOrderAndEventsOrAll(t *testing.T) {
	m, err := ParseOverrideJSON("hooks", []byte(`{"`+tokA+`": {"groups": {"z": {"events": []}, "a": {"events": ["push_events"]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	g := m[0].Groups
	if g[0].FullPath != "z" || g[1].FullPath != "a" {
		t.Fatalf("order not kept: %+v", g)
	}
	if len(g[0].EventsOrAll()) != len(GroupEvents) || g[1].EventsOrAll()[0] != "push_events" {
		t.Fatalf("EventsOrAll wrong: %v %v", g[0].EventsOrAll(), g[1].EventsOrAll())
	}
}

// A project hook accepts the group table's spellings of the flags it has
// and refuses the group-only events, so one name means one flag on both.
func TestProjectEvents(t *testing.T) {
	for _, n := range []string{"jobs_events", "job_events", "pipelines_events", "resource_deploy_token_events", "merge-requests_events"} {
		if !IsProjectEvent(n) || Flag(n) == "" {
			t.Errorf("%s: not a project event", n)
		}
	}
	for _, n := range []string{"subgroup_events", "user_add_to_group", "member_events", "project_events", "repository_update_events"} {
		if IsProjectEvent(n) {
			t.Errorf("%s: a project hook has no such flag", n)
		}
	}
	want := []string{"push_events", "issues_events", "jobs_events", "merge_requests_events", "pipeline_events", "releases_events", "tag_push_events", "confidential_issues_events", "deployment_events"}
	if !slices.Equal(ProjectEvents, want) {
		t.Errorf("ProjectEvents = %v, want %v", ProjectEvents, want)
	}
}
