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

// GroupEvents are the group webhook event types glsync handles, in the
// order the spec lists them.
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
}

// SystemEvents are the system hook event types glsync handles.
var SystemEvents = []string{
	"push_events",
	"merge_requests_events",
	"repository_update_events",
}

// IsGroupEvent reports whether name is a supported group webhook event.
func IsGroupEvent(name string) bool {
	for _, e := range GroupEvents {
		if e == name {
			return true
		}
	}
	return false
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
					return &Error{Setting: setting, Token: masked, Group: g.FullPath, Rule: fmt.Sprintf("unsupported event %q; supported events: %s", ev, strings.Join(GroupEvents, ", "))}
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
