package hookspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// seedOverrides are the tokenGroupHooksOverrideMapping values the
// repository already uses: hookspec_test.go's (the spec's example, Ocean's
// names, GitLab's names, the rejected ones) and config_test.go's.
var seedOverrides = []string{
	`{"` + tokA + `": {"groups": {"path/to/my-first-group": {"events": ["push_events", "merge_requests_events"]}, "path/to/my-other-group": {"events": []}}}}`,
	`{"` + tokB + `": {"groups": {"a": {"events": []}}}}`,
	`{"` + tokA + `": {"a": {"events": []}}}`,
	`{"` + tokA + `": {"groups": {"a": {}}}}`,
	`{"` + tokA + `": {"groups": {"a": {"events": ["pipeline_evnts"]}}}}`,
	`{"` + tokA + `": {"groups": {"a/b": {"events": []}, "a/b/": {"events": []}}}}`,
	`{"` + tokA + `": {"groups": {"a/b/c": {"events": []}, "a/b": {"events": []}}}}`,
	`{"` + tokA + `": {"groups": {"a/b": {"events": []}, "a/bc": {"events": []}}}}`,
	`{"` + tokA + `": `,
	`{"` + tokA + `": {"groups": {"a": {"events": ["jobs_events", "user_add_to_group", "user_remove_from_group", "user_update_for_group", "confidential_issues_events"]}}}}`,
	`{"` + tokA + `": {"groups": {"a": {"events": ["job_events", "member_events", "project_events", "deployment_events", "note_events", "emoji_events"]}}}}`,
	`{"` + tokA + `": {"groups": {"a": {"events": ["push_events", "merge_requests_events", "issues_events", "job_events", "pipeline_events", "releases_events", "tag_push_events", "subgroup_events", "confidential_issues_events", "member_events"]}}}}`,
	`{"` + tokA + `": {"groups": {"path/to/my-first-group": {"events": ["push_events", "merge_requests_events"]}, "path/to/my-other-group": {"events": ["pipelines_events"]}}}}`,
	`{"` + tokA + `": {"groups": {"a": {"events": ["merge-requests_events"]}}}}`,
	`{"` + tokA + `": {"groups": {"z": {"events": []}, "a": {"events": ["push_events"]}}}}`,
	`{"` + tokA + `": {"groups": {"acme": {"events": ["push_events"]}}}}`,
	`{"glpat-other-token-value": {"groups": {"acme": {"events": []}}}}`,
	`{"` + tokA + `": {"groups": {"acme": {}}}}`,
}

// FuzzOverrideMapping parses and validates tokenGroupHooksOverrideMapping
// as config.Load does. It must not panic; errors are *Error values that
// name tokens only masked and never hold a token of the input; an
// accepted mapping keeps the input's tokens, in order, and holds no
// duplicated or nested groups and only supported events.
func FuzzOverrideMapping(f *testing.F) {
	for _, s := range seedOverrides {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, listInput bool) {
		if len(data) > 64<<10 {
			t.Skip("input larger than 64 KB")
		}
		const setting = "tokenGroupHooksOverrideMapping"
		keys := topLevelKeys(data)
		// tokenMapping holds the spec's token, and with listInput every
		// token of the input too, so Validate gets past the token rule.
		tokens := tokenmap.Mapping{{Token: tokA, Patterns: []string{"**"}}}
		if listInput {
			for _, k := range keys {
				if _, ok := tokens.Lookup(k); !ok {
					tokens = append(tokens, tokenmap.Entry{Token: k, Patterns: []string{"**"}})
				}
			}
		}
		m, err := ParseOverrideJSON(setting, data)
		if err == nil {
			if len(m) > len(keys) {
				t.Fatalf("parsed %d tokens from %d keys", len(m), len(keys))
			}
			for i, th := range m {
				if th.Token != keys[i] {
					t.Fatalf("token %d is not the input's key %d (order not kept)", i, i)
				}
				for _, g := range th.Groups {
					if len(g.EventsOrAll()) == 0 {
						t.Fatal("EventsOrAll is empty")
					}
				}
			}
			err = m.Validate(setting, tokens)
			if err == nil {
				checkValid(t, m, tokens)
			}
		}
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T (%v) is not a *hookspec.Error", err, err)
		}
		if e.Token != "" {
			masked := false
			for _, k := range keys {
				if e.Token == tokenmap.Mask(k) {
					masked = true
					break
				}
			}
			if !masked {
				t.Fatalf("error names token %q, which is not the mask of any key of the input", e.Token)
			}
		}
		// A token may show in the message only where the user wrote it
		// somewhere else too (as a group path, a key, an event name).
		others := otherStrings(data)
		for _, k := range keys {
			if !secretLike(k) || !strings.Contains(err.Error(), k) {
				continue
			}
			found := false
			for _, o := range others {
				if strings.Contains(o, k) || strings.Contains(strconv.Quote(o), k) {
					found = true
					break
				}
			}
			if !found {
				t.Fatalf("error leaks a token of the input: %q", err)
			}
		}
	})
}

// checkValid checks an accepted mapping against the spec's rules.
func checkValid(t *testing.T, m OverrideMapping, tokens tokenmap.Mapping) {
	t.Helper()
	seen := map[string]bool{}
	var paths []string
	for _, th := range m {
		if _, ok := tokens.Lookup(th.Token); !ok {
			t.Fatalf("accepted a token not in tokenMapping")
		}
		for _, g := range th.Groups {
			p := strings.Trim(g.FullPath, "/")
			if p == "" {
				t.Fatalf("accepted an empty group path %q", g.FullPath)
			}
			if seen[p] {
				t.Fatalf("accepted group %q twice", p)
			}
			seen[p] = true
			paths = append(paths, p)
			for _, ev := range g.Events {
				if !IsGroupEvent(ev) || Flag(ev) == "" {
					t.Fatalf("accepted unsupported event %q", ev)
				}
			}
			for _, ev := range g.EventsOrAll() {
				if Flag(ev) == "" {
					t.Fatalf("event %q has no GitLab flag", ev)
				}
			}
		}
	}
	for _, a := range paths {
		for _, b := range paths {
			if strings.HasPrefix(b, a+"/") {
				t.Fatalf("accepted nested groups %q and %q", a, b)
			}
		}
	}
}

// topLevelKeys are the object keys at the top level of data, in order,
// as far as it is well formed.
func topLevelKeys(data []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		k, ok := tok.(string)
		if !ok {
			return keys
		}
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys
		}
	}
	return keys
}

// otherStrings are the strings of data other than its top-level keys:
// what the user wrote as group paths, keys and event names.
func otherStrings(data []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []string
	var stack []bool // per open container: is it an object
	key := false     // the next string is an object key
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, true)
				key = true
			case '[':
				stack = append(stack, false)
			default:
				stack = stack[:len(stack)-1]
			}
			if v == '}' || v == ']' {
				key = len(stack) > 0 && stack[len(stack)-1]
			}
			continue
		case string:
			if !(key && len(stack) == 1) {
				out = append(out, v)
			}
		}
		if len(stack) > 0 && stack[len(stack)-1] {
			key = !key
		}
	}
}

// secretLike reports whether s looks like an access token (see
// tokenmap's fuzz test): 8 or more token characters, letters and digits
// both, longer than its mask. Other keys may occur in messages by chance.
func secretLike(s string) bool {
	if len(s) < 8 {
		return false
	}
	letters, digits := 0, 0
	for _, r := range s {
		switch {
		case r < unicode.MaxASCII && unicode.IsLetter(r):
			letters++
		case r < unicode.MaxASCII && unicode.IsDigit(r):
			digits++
		case r == '-' || r == '_' || r == '.':
		default:
			return false
		}
	}
	return letters > 0 && digits > 0 && len(tokenmap.Mask(s)) < len(s)
}
