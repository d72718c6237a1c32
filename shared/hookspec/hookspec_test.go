package hookspec

import (
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

const tokA = "glpat-QXbeg-Ev9xtu5_5FsaAQ"
const tokB = "glpat-xF7Ae-vXu5ts5_QbEgAQ9"

func TestOverrideMappingRules(t *testing.T) {
	tokens := tokenmap.Mapping{{Token: tokA, Patterns: []string{"**"}}}
	cases := []struct {
		name, in, want string
	}{
		{"ok", `{"` + tokA + `": {"groups": {"path/to/my-first-group": {"events": ["push_events", "merge_requests_events"]}, "path/to/my-other-group": {"events": []}}}}`, ""},
		{"token not in mapping", `{"` + tokB + `": {"groups": {"a": {"events": []}}}}`, "hooks: token glpat-xF…: token is not in tokenMapping"},
		{"missing groups", `{"` + tokA + `": {"a": {"events": []}}}`, `hooks: token glpat-QX…: the "groups" key is required for each token`},
		{"missing events", `{"` + tokA + `": {"groups": {"a": {}}}}`, `hooks: token glpat-QX…: group "a": the "events" key is required`},
		{"unsupported event", `{"` + tokA + `": {"groups": {"a": {"events": ["pipelines_events"]}}}}`, `group "a": unsupported event "pipelines_events"; supported events: push_events, issues_events`},
		{"duplicate", `{"` + tokA + `": {"groups": {"a/b": {"events": []}, "a/b/": {"events": []}}}}`, `group "a/b": group is listed more than once`},
		{"hierarchical", `{"` + tokA + `": {"groups": {"a/b/c": {"events": []}, "a/b": {"events": []}}}}`, `groups "a/b" and "a/b/c" are hierarchical`},
		{"siblings are fine", `{"` + tokA + `": {"groups": {"a/b": {"events": []}, "a/bc": {"events": []}}}}`, ""},
		{"malformed", `{"` + tokA + `": `, "hooks: malformed JSON"},
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
