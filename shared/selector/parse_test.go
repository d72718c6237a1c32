package selector

import (
	"reflect"
	"testing"
)

// TestParseScalarOptions: each scalar option is read with its type's
// coercion and its own rule, and a refusal names the field and the rule.
func TestParseScalarOptions(t *testing.T) {
	for _, tc := range []struct {
		kind  string
		raw   map[string]any
		check func(Options) bool
		err   string
	}{
		{KindMergeRequest, map[string]any{"states": "merged"}, func(o Options) bool { return reflect.DeepEqual(o.States, []string{"merged"}) }, ""},
		{KindMergeRequest, map[string]any{"states": []any{}}, nil, "selector.states: must be a non-empty list of opened, closed, locked, merged"},
		{KindMergeRequest, map[string]any{"states": []any{"open"}}, nil, `selector.states: unknown state "open"; use opened, closed, locked or merged`},
		{KindMergeRequest, map[string]any{"states": nil}, nil, "selector.states: must be a list of strings, got null"},
		{KindMergeRequest, map[string]any{"updatedAfter": "30"}, func(o Options) bool { return o.UpdatedAfterDays == 30 }, ""},
		{KindMergeRequest, map[string]any{"updatedAfter": nil}, func(o Options) bool { return o.UpdatedAfterDays == 90 }, ""},
		{KindMergeRequest, map[string]any{"updatedAfter": -1}, nil, "selector.updatedAfter: must be a number of days from 0 to 36500, got -1"},
		{KindMergeRequest, map[string]any{"updatedAfterAppliesToOpened": "yes"}, func(o Options) bool { return o.UpdatedAfterOpened }, ""},
		{KindMergeRequest, map[string]any{"updatedAfterAppliesToOpened": nil}, nil, "selector.updatedAfterAppliesToOpened: must be true or false, got null"},
		{KindPipeline, map[string]any{"createdAfter": 40000}, nil, "selector.createdAfter: must be a number of days from 0 (no limit) to 36500, got 40000"},
		{KindJob, map[string]any{"limitPerProject": "5"}, func(o Options) bool { return o.LimitPerProject == 5 && o.JobsPerPipeline == 0 }, ""},
		{KindJob, map[string]any{"limitPerProject": 0}, nil, "selector.limitPerProject: must be a whole number from 1 to 100000, got 0"},
		{KindIssue, map[string]any{"state": "all"}, func(o Options) bool { return o.State == "" }, ""},
		{KindIssue, map[string]any{"state": "open"}, nil, `selector.state: unknown state "open"; use opened or closed, or leave it out for every state`},
		{KindIssue, map[string]any{"labels": "bug,ui"}, func(o Options) bool { return reflect.DeepEqual(o.Labels, []string{"bug", "ui"}) }, ""},
		{KindIssue, map[string]any{"labels": []any{"bug", 1}}, func(o Options) bool { return reflect.DeepEqual(o.Labels, []string{"bug", "1"}) }, ""},
		{KindIssue, map[string]any{"issueType": "bug"}, nil, `selector.issueType: must be issue, incident, test_case or task, got "bug"`},
		{KindIssue, map[string]any{"nonArchived": "off"}, func(o Options) bool { return !o.NonArchived }, ""},
		{KindGroup, map[string]any{"includeOnlyActiveGroups": "f"}, func(o Options) bool { return o.ActiveGroups != nil && !*o.ActiveGroups }, ""},
		{KindGroup, map[string]any{"includeOnlyActiveGroups": nil}, func(o Options) bool { return o.ActiveGroups == nil }, ""},
		{KindBranch, map[string]any{"regex": "^(a", "search": "main"}, nil, "selector.regex: invalid regular expression: error parsing regexp: missing closing ): `^(a`"},
		{KindBranch, map[string]any{"search": 12, "defaultBranchOnly": 0}, func(o Options) bool { return o.Search == "12" && !o.DefaultBranchOnly }, ""},
		{KindBranch, map[string]any{"serach": "x"}, nil, `selector.serach: unknown option for kind branch "serach"; did you mean "search"?`},
	} {
		o, err := Parse(tc.kind, OceanV2, tc.raw, func(string) {})
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("%s %v: error %v, want %q", tc.kind, tc.raw, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s %v: %v", tc.kind, tc.raw, err)
		case tc.check != nil && !tc.check(o):
			t.Errorf("%s %v: parsed %+v", tc.kind, tc.raw, o)
		}
	}
}

// TestDefaultsPerGeneration: options left out take the defaults of the
// generation the configuration comes from.
func TestDefaultsPerGeneration(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		v1, v2 func(Options) bool
	}{
		{KindMergeRequest, func(o Options) bool { return len(o.States) == 4 && o.UpdatedAfterDays == 14 },
			func(o Options) bool {
				return reflect.DeepEqual(o.States, []string{"opened"}) && o.UpdatedAfterDays == 90
			}},
		{KindIssue, func(o Options) bool { return !o.NonArchived }, func(o Options) bool { return o.NonArchived }},
		{KindPipeline, func(o Options) bool { return o.CreatedAfterDays == 14 }, func(o Options) bool { return o.CreatedAfterDays == 0 }},
		{KindJob, func(o Options) bool { return o.JobsPerPipeline == 0 }, func(o Options) bool { return o.JobsPerPipeline == 100 }},
		{KindBranch, func(o Options) bool { return o.DefaultBranchOnly }, func(o Options) bool { return o.DefaultBranchOnly }},
		{KindSkill, func(o Options) bool { return len(o.SkillPaths) == len(DefaultSkillPaths) }, func(o Options) bool { return len(o.SkillPaths) == len(DefaultSkillPaths) }},
		{KindPlugin, func(o Options) bool { return reflect.DeepEqual(o.Providers, PluginProviders) }, func(o Options) bool { return reflect.DeepEqual(o.Providers, PluginProviders) }},
	} {
		for gen, check := range map[Generation]func(Options) bool{OceanV1: tc.v1, OceanV2: tc.v2} {
			o, err := Parse(tc.kind, gen, map[string]any{}, func(string) {})
			if err != nil || o.Generation != gen || !check(o) {
				t.Errorf("%s %s: %+v, %v", tc.kind, gen, o, err)
			}
		}
	}
}
