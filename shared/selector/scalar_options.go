package selector

import (
	"errors"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"
)

// scalarOption is a selector option whose value is one scalar type: its
// key, whether null leaves the default (else null is read, and refused,
// like any other value), and how its node is read into the options and
// checked. Parse reads them in scalarOptions' order, before the options
// that are lists and objects, and stops at the first refusal.
type scalarOption struct {
	key      string
	nullable bool
	read     func(o *Options, n *yaml.Node) error
}

// boolOption reads a Bool; null is refused.
func boolOption(key string, field func(*Options) *bool) scalarOption {
	return scalarOption{key, false, func(o *Options, n *yaml.Node) error {
		var b Bool
		err := decode(n, &b)
		*field(o) = bool(b)
		return err
	}}
}

// activeOption reads an optional Bool: null leaves it unset (nil).
func activeOption(key string, field func(*Options) **bool) scalarOption {
	return scalarOption{key, true, func(o *Options, n *yaml.Node) error {
		var b Bool
		err := decode(n, &b)
		*field(o) = (*bool)(&b)
		return err
	}}
}

// stringOption reads a String; null leaves the default.
func stringOption(key string, field func(*Options) *string) scalarOption {
	return scalarOption{key, true, func(o *Options, n *yaml.Node) error {
		var s String
		err := decode(n, &s)
		*field(o) = string(s)
		return err
	}}
}

// daysOption reads a Number of days from 0 to 36500; zero says what 0
// means, if anything.
func daysOption(key, zero string, field func(*Options) *float64) scalarOption {
	return scalarOption{key, true, func(o *Options, n *yaml.Node) error {
		var f Number
		err := decode(n, &f)
		if err == nil && (f < 0 || f > 36500) {
			err = fmt.Errorf("must be a number of days from 0%s to 36500, got %v", zero, float64(f))
		}
		*field(o) = float64(f)
		return err
	}}
}

// oneOf reads a String that must be one of allowed; refusal words the
// error for the value got.
func oneOf(n *yaml.Node, allowed []string, refusal func(string) error) (string, error) {
	var s String
	err := decode(n, &s)
	if err == nil && !slices.Contains(allowed, string(s)) {
		err = refusal(string(s))
	}
	return string(s), err
}

// scalarOptions are the scalar options of every kind, in the order they
// are read (Parse has already refused those the kind does not accept).
var scalarOptions = []scalarOption{
	{"states", false, func(o *Options, n *yaml.Node) error {
		var list Strings
		err := decode(n, &list)
		if err == nil && len(list) == 0 {
			err = errors.New("must be a non-empty list of opened, closed, locked, merged")
		}
		for _, st := range list {
			if err == nil && !slices.Contains([]string{"opened", "closed", "locked", "merged"}, st) {
				err = fmt.Errorf("unknown state %q; use opened, closed, locked or merged", st)
			}
		}
		o.States = list
		return err
	}},
	{"state", true, func(o *Options, n *yaml.Node) error {
		st, err := oneOf(n, []string{"opened", "closed", "all"}, func(st string) error {
			return fmt.Errorf("unknown state %q; use opened or closed, or leave it out for every state", st)
		})
		if st == "all" {
			st = ""
		}
		o.State = st
		return err
	}},
	daysOption("updatedAfter", "", func(o *Options) *float64 { return &o.UpdatedAfterDays }),
	boolOption("updatedAfterAppliesToOpened", func(o *Options) *bool { return &o.UpdatedAfterOpened }),
	daysOption("createdAfter", " (no limit)", func(o *Options) *float64 { return &o.CreatedAfterDays }),
	{"limitPerProject", false, func(o *Options, n *yaml.Node) error {
		var i Int
		err := decode(n, &i)
		if err == nil && (i < 1 || i > 100000) {
			err = fmt.Errorf("must be a whole number from 1 to 100000, got %d", i)
		}
		o.LimitPerProject = int(i)
		o.JobsPerPipeline = 0 // glsync's newest-jobs listing
		return err
	}},
	{"labels", true, func(o *Options, n *yaml.Node) error {
		var l labelList
		err := decode(n, &l)
		o.Labels = l
		return err
	}},
	{"issueType", true, func(o *Options, n *yaml.Node) (err error) {
		o.IssueType, err = oneOf(n, []string{"issue", "incident", "test_case", "task"}, func(t string) error {
			return fmt.Errorf("must be issue, incident, test_case or task, got %q", t)
		})
		return err
	}},
	boolOption("nonArchived", func(o *Options) *bool { return &o.NonArchived }),
	boolOption("includeLabels", func(o *Options) *bool { return &o.IncludeLabels }),
	boolOption("includeBotMembers", func(o *Options) *bool { return &o.IncludeBotMembers }),
	boolOption("includeInheritedMembers", func(o *Options) *bool { return &o.IncludeInheritedMembers }),
	boolOption("includeVerboseMemberObject", func(o *Options) *bool { return &o.VerboseMembers }),
	boolOption("defaultBranchOnly", func(o *Options) *bool { return &o.DefaultBranchOnly }),
	boolOption("includeLanguages", func(o *Options) *bool { return &o.IncludeLanguages }),
	activeOption("includeOnlyActiveProjects", func(o *Options) **bool { return &o.ActiveProjects }),
	activeOption("includeOnlyActiveGroups", func(o *Options) **bool { return &o.ActiveGroups }),
	stringOption("regex", func(o *Options) *string { return &o.Regex }),
	stringOption("search", func(o *Options) *string { return &o.Search }),
}
