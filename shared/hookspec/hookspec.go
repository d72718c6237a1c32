// Package hookspec describes the GitLab hooks glsync can listen on: the
// supported event names and the tokenGroupHooksOverrideMapping setting with
// the validation rules the integration we replace documents.
package hookspec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// GroupEvents are the group webhook event types glsync subscribes to: the
// spec's list, in its order and spelling, then the project and deployment
// events Ocean v2 also handles.
var GroupEvents = []string{
	"push_events",
	"issues_events",
	"jobs_events",
	"merge_requests_events",
	"pipeline_events",
	"releases_events",
	"tag_push_events",
	"subgroup_events",
	"confidential_issues_events",
	"user_remove_from_group",
	"user_update_for_group",
	"user_add_to_group",
	"project_events",
	"deployment_events",
}

// SystemEvents are the system hook event types glsync handles.
var SystemEvents = []string{
	"push_events",
	"merge_requests_events",
	"repository_update_events",
}

// EventName is one accepted spelling of a hook event and the GitLab hook
// flag it turns on. Users copy names from GitLab's API, from Ocean's docs
// and from the spec, so each of them is accepted rather than one "right"
// spelling that the other sources contradict.
type EventName struct {
	// Name is the spelling accepted in settings and in `events`.
	Name string
	// Flag is the GitLab hook flag that delivers the event.
	Flag string
	// Source says where the spelling comes from ("GitLab", "spec",
	// "Ocean"), for error messages and docs.
	Source string
}

// GroupEventNames is the one table of group hook event names, read by the
// daemon's configuration checks, glsyncd validate, the admin API and the
// Terraform provider, so that none of them accepts a name another refuses.
// It holds GitLab's flag names (the hooks API's and the Terraform
// providers'), the spec's names (the three membership events share
// member_events), the names Ocean's code validates
// (gitlab/gitlab_integration/gitlab_service.py, all_events_in_webhook) and
// the misspellings Ocean's documented examples use.
var GroupEventNames = func() []EventName {
	aliases := map[string][]EventName{
		"job_events":            {{"jobs_events", "job_events", "spec"}},
		"member_events":         {{"user_add_to_group", "member_events", "spec"}, {"user_remove_from_group", "member_events", "spec"}, {"user_update_for_group", "member_events", "spec"}},
		"pipeline_events":       {{"pipelines_events", "pipeline_events", "Ocean"}},            // Ocean's docs example, the spec's example
		"merge_requests_events": {{"merge-requests_events", "merge_requests_events", "Ocean"}}, // Ocean's spec.yaml example
	}
	var out []EventName
	for _, f := range GitLabGroupFlags {
		out = append(out, EventName{f, f, "GitLab"})
		out = append(out, aliases[f]...)
	}
	return out
}()

// SystemEventNames is the table of system hook event names: GitLab's
// system hook flags (https://docs.gitlab.com/api/system_hooks/) and the
// spelling Ocean's examples use for merge requests.
var SystemEventNames = []EventName{
	{"push_events", "push_events", "GitLab"},
	{"tag_push_events", "tag_push_events", "GitLab"},
	{"merge_requests_events", "merge_requests_events", "GitLab"},
	{"merge-requests_events", "merge_requests_events", "Ocean"},
	{"repository_update_events", "repository_update_events", "GitLab"},
}

// GitLabProjectFlags are the event flags a project hook takes, as
// GitLab's project hooks API names them: a group hook's without the
// group-only subgroup, member and project events, plus
// resource_deploy_token_events. (repository_update_events, which GitLab
// also returns, is not set through the API.)
var GitLabProjectFlags = []string{
	"push_events", "issues_events", "confidential_issues_events", "merge_requests_events",
	"tag_push_events", "note_events", "confidential_note_events", "job_events",
	"pipeline_events", "wiki_page_events", "deployment_events", "releases_events",
	"feature_flag_events", "emoji_events", "resource_access_token_events", "resource_deploy_token_events",
	"milestone_events", "vulnerability_events",
}

// ProjectEventNames is the table of project hook event names: the group
// table's names of the flags a project hook has (so a name accepted on a
// group hook means the same on a project hook), and GitLab's name for the
// project-only flag.
var ProjectEventNames = func() []EventName {
	var out []EventName
	for _, f := range GitLabProjectFlags {
		n := len(out)
		for _, e := range GroupEventNames {
			if e.Flag == f {
				out = append(out, e)
			}
		}
		if len(out) == n {
			out = append(out, EventName{f, f, "GitLab"})
		}
	}
	return out
}()

// ProjectEvents are the spec's events a project hook can deliver: the
// GroupEvents whose flag a project hook has, in their order ("events":
// [] on a project hook means these).
var ProjectEvents = func() []string {
	var out []string
	for _, e := range GroupEvents {
		if projectFlag[e] != "" {
			out = append(out, e)
		}
	}
	return out
}()

var groupFlag, systemFlag, projectFlag = flagIndex(GroupEventNames), flagIndex(SystemEventNames), flagIndex(ProjectEventNames)

func flagIndex(names []EventName) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n.Name] = n.Flag
	}
	return m
}

// GitLabGroupFlags are the event flags of a GitLab group hook, as the
// hooks API names them.
var GitLabGroupFlags = []string{
	"push_events", "issues_events", "confidential_issues_events", "merge_requests_events",
	"tag_push_events", "note_events", "confidential_note_events", "job_events",
	"pipeline_events", "wiki_page_events", "deployment_events", "releases_events",
	"subgroup_events", "member_events", "feature_flag_events", "emoji_events",
	"resource_access_token_events", "milestone_events", "project_events", "vulnerability_events",
}

// Flag returns the GitLab hook flag that delivers event name, a group or
// a system hook event ("" for a name glsync does not know).
func Flag(name string) string {
	if f := groupFlag[name]; f != "" {
		return f
	}
	if f := projectFlag[name]; f != "" {
		return f
	}
	return systemFlag[name]
}

// IsProjectEvent reports whether name is an accepted project hook event.
func IsProjectEvent(name string) bool { return projectFlag[name] != "" }

// AcceptedProjectEvents is AcceptedGroupEvents for project hooks.
func AcceptedProjectEvents() string { return accepted(ProjectEventNames) }

// UnknownProjectEventError is UnknownEventError for a project hook.
func UnknownProjectEventError(name string) string {
	return fmt.Sprintf("unsupported event %q; %s", name, AcceptedProjectEvents())
}

// IsGroupEvent reports whether name is an accepted group webhook event.
func IsGroupEvent(name string) bool { return groupFlag[name] != "" }

// IsSystemEvent reports whether name is an accepted system hook event.
func IsSystemEvent(name string) bool { return systemFlag[name] != "" }

// GroupEventSpellings lists every accepted group event name (for
// validators that need the whole list).
func GroupEventSpellings() []string { return spellings(GroupEventNames) }

// SystemEventSpellings lists every accepted system hook event name.
func SystemEventSpellings() []string { return spellings(SystemEventNames) }

func spellings(names []EventName) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n.Name
	}
	return out
}

// AcceptedGroupEvents describes the accepted group event names grouped by
// the flag they turn on, for error messages: a user who wrote a near miss
// sees every spelling of the event they meant next to each other.
func AcceptedGroupEvents() string { return accepted(GroupEventNames) }

// AcceptedSystemEvents is AcceptedGroupEvents for system hooks.
func AcceptedSystemEvents() string { return accepted(SystemEventNames) }

func accepted(names []EventName) string {
	var order []string
	other := map[string][]string{}
	for _, n := range names {
		if _, seen := other[n.Flag]; !seen {
			order = append(order, n.Flag)
			other[n.Flag] = nil
		}
		if n.Name != n.Flag {
			other[n.Flag] = append(other[n.Flag], n.Name)
		}
	}
	parts := make([]string, len(order))
	for i, f := range order {
		parts[i] = f
		if len(other[f]) > 0 {
			parts[i] += " (also " + strings.Join(other[f], ", ") + ")"
		}
	}
	return "accepted events, by the GitLab flag they turn on: " + strings.Join(parts, "; ")
}

// UnknownEventError is the message for an event name not in the table.
func UnknownEventError(name string, system bool) string {
	if system {
		return fmt.Sprintf("unsupported event %q; %s", name, AcceptedSystemEvents())
	}
	return fmt.Sprintf("unsupported event %q; %s", name, AcceptedGroupEvents())
}

// GroupHook is the hook wanted on one group.
type GroupHook struct {
	// FullPath is the group's full path in GitLab.
	FullPath string
	// Events is the list of event types; empty means all GroupEvents.
	Events []string
}

// TokenGroupHooks is the override for one token.
type TokenGroupHooks struct {
	Token  string
	Groups []GroupHook
}

// OverrideMapping is tokenGroupHooksOverrideMapping, tokens in the order the
// user wrote them.
type OverrideMapping []TokenGroupHooks

// Error is a validation error for the override mapping.
type Error struct {
	Setting string
	Token   string // masked
	Group   string
	Rule    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Setting)
	if e.Token != "" {
		fmt.Fprintf(&b, ": token %s", e.Token)
	}
	if e.Group != "" {
		fmt.Fprintf(&b, ": group %q", e.Group)
	}
	b.WriteString(": ")
	b.WriteString(e.Rule)
	return b.String()
}

// ParseOverrideJSON parses the JSON form of tokenGroupHooksOverrideMapping:
// {"TOKEN": {"groups": {"path/to/group": {"events": [...]}}}}. Key order is
// kept. Structural rules (a "groups" key per token, an "events" key per
// group) are checked here; Validate checks the rest.
func ParseOverrideJSON(setting string, data []byte) (OverrideMapping, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &Error{Setting: setting, Rule: "malformed JSON: must be an object like {\"TOKEN\": {\"groups\": {\"group/path\": {\"events\": []}}}}"}
	}
	var out OverrideMapping
	for _, token := range orderedKeys(data) {
		masked := tokenmap.Mask(token)
		var tokenObj map[string]json.RawMessage
		if err := json.Unmarshal(raw[token], &tokenObj); err != nil {
			return nil, &Error{Setting: setting, Token: masked, Rule: "value must be an object with a \"groups\" key"}
		}
		groupsRaw, ok := tokenObj["groups"]
		if !ok {
			return nil, &Error{Setting: setting, Token: masked, Rule: "the \"groups\" key is required for each token"}
		}
		for k := range tokenObj {
			if k != "groups" {
				return nil, &Error{Setting: setting, Token: masked, Rule: fmt.Sprintf("unknown key %q (only \"groups\" is allowed)", k)}
			}
		}
		var groups map[string]json.RawMessage
		if err := json.Unmarshal(groupsRaw, &groups); err != nil {
			return nil, &Error{Setting: setting, Token: masked, Rule: "\"groups\" must be an object of group full path to {\"events\": [...]}"}
		}
		th := TokenGroupHooks{Token: token}
		for _, path := range orderedKeys(groupsRaw) {
			var g map[string]json.RawMessage
			if err := json.Unmarshal(groups[path], &g); err != nil {
				return nil, &Error{Setting: setting, Token: masked, Group: path, Rule: "value must be an object with an \"events\" key"}
			}
			evRaw, ok := g["events"]
			if !ok {
				return nil, &Error{Setting: setting, Token: masked, Group: path, Rule: "the \"events\" key is required (use [] for all events)"}
			}
			var events []string
			if err := json.Unmarshal(evRaw, &events); err != nil || events == nil && string(bytes.TrimSpace(evRaw)) == "null" {
				return nil, &Error{Setting: setting, Token: masked, Group: path, Rule: "\"events\" must be a list of event names (use [] for all events)"}
			}
			th.Groups = append(th.Groups, GroupHook{FullPath: path, Events: events})
		}
		out = append(out, th)
	}
	return out, nil
}

// orderedKeys returns the keys of a JSON object in document order. The
// input has already been unmarshalled successfully.
func orderedKeys(data []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return keys
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys
		}
	}
	return keys
}

// Validate applies the spec's rules: every token must be in tokenMapping,
// every event must be supported, and no two groups (across all tokens) may
// be identical or one inside the other.
func (m OverrideMapping) Validate(setting string, tokens tokenmap.Mapping) error {
	type owner struct{ token, path string }
	var all []owner
	for _, th := range m {
		masked := tokenmap.Mask(th.Token)
		if _, ok := tokens.Lookup(th.Token); !ok {
			return &Error{Setting: setting, Token: masked, Rule: "token is not in tokenMapping; every token here must also be listed in tokenMapping"}
		}
		for _, g := range th.Groups {
			p := strings.Trim(g.FullPath, "/")
			if p == "" {
				return &Error{Setting: setting, Token: masked, Rule: "a group full path must not be empty"}
			}
			for _, ev := range g.Events {
				if !IsGroupEvent(ev) {
					return &Error{Setting: setting, Token: masked, Group: g.FullPath, Rule: UnknownEventError(ev, false)}
				}
			}
			all = append(all, owner{th.Token, p})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].path < all[j].path })
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			a, b := all[i].path, all[j].path
			switch {
			case a == b:
				return &Error{Setting: setting, Group: a, Rule: "group is listed more than once; each group may have one hook"}
			case strings.HasPrefix(b, a+"/"):
				return &Error{Setting: setting, Rule: fmt.Sprintf("groups %q and %q are hierarchical (one contains the other); list only non-nested groups", a, b)}
			}
		}
	}
	return nil
}

// EventsOrAll returns the events of a hook, or all group events when the
// list is empty, as the spec defines "events": [].
func (g GroupHook) EventsOrAll() []string {
	if len(g.Events) == 0 {
		return append([]string(nil), GroupEvents...)
	}
	return g.Events
}
