// Package tokenmap holds the tokenMapping setting: which GitLab access token
// may be used for which group and project paths.
//
// Patterns are doublestar globs ("**" spans any number of path segments,
// "*" stays within one, "{a,b}" alternates) matched against a project's
// path_with_namespace and a group's full_path, the way the integration we
// replace matches them.
package tokenmap

import (
	"github.com/glsync/terraform-provider-glsync/shared/redact"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Entry is one token with the path patterns it is allowed to sync.
type Entry struct {
	// Token is the GitLab access token. It is never printed: use Masked.
	Token string
	// Patterns are doublestar globs, in the order the user wrote them.
	Patterns []string
}

// Masked returns the token in a form safe for logs and errors.
func (e Entry) Masked() string { return Mask(e.Token) }

// MatchProject reports whether a project path (path_with_namespace) is selected.
func (e Entry) MatchProject(pathWithNamespace string) bool {
	for _, p := range e.Patterns {
		if doublestar.MatchUnvalidated(p, pathWithNamespace) {
			return true
		}
	}
	return false
}

// MatchGroup reports whether a group (by full_path) is in scope: a pattern
// matches the group itself, or the group could directly hold a project the
// pattern selects (the pattern without its last segment matches it). So
// "**/DevopsTeam/*Service" keeps every DevopsTeam group, whose services
// relate to it, but not the rest of the organisation, and "acme/platform/**"
// keeps acme/platform and everything below it.
func (e Entry) MatchGroup(fullPath string) bool {
	for _, p := range e.Patterns {
		if doublestar.MatchUnvalidated(p, fullPath) {
			return true
		}
		if dir, ok := parentPattern(p); ok && doublestar.MatchUnvalidated(dir, fullPath) {
			return true
		}
		// "**" also stands for no segment at all: "ac*/**/*" selects the
		// project ac/0, so its group ac must be kept, though doublestar does
		// not match "ac*/**" against "ac" (found by FuzzMatch).
		if dir, ok := parentPattern(p); ok {
			for strings.HasSuffix(dir, "/**") {
				dir = strings.TrimSuffix(dir, "/**")
				if doublestar.MatchUnvalidated(dir, fullPath) {
					return true
				}
			}
		}
	}
	return false
}

// parentPattern drops the last segment of a pattern.
func parentPattern(p string) (string, bool) {
	segs := splitPattern(p)
	if len(segs) < 2 {
		return "", false
	}
	return strings.Join(segs[:len(segs)-1], "/"), true
}

// splitPattern splits a pattern on "/" outside braces, so "{a/b,c}" stays
// one segment (it is then matched conservatively as a whole).
func splitPattern(p string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			}
		case '/':
			if depth == 0 {
				out = append(out, p[start:i])
				start = i + 1
			}
		}
	}
	return append(out, p[start:])
}

// Mapping is the whole tokenMapping setting. Order matters: when two tokens
// can see the same project, the one listed first owns it.
type Mapping []Entry

// Lookup returns the entry for a token.
func (m Mapping) Lookup(token string) (Entry, bool) {
	for _, e := range m {
		if e.Token == token {
			return e, true
		}
	}
	return Entry{}, false
}

// Error is a tokenMapping validation error. Its message names the setting,
// the token (masked) and the offending pattern, never the whole token.
type Error struct {
	Setting string // e.g. "tokenMapping"
	Token   string // masked
	Pattern string
	Rule    string

	quotePattern bool // print the pattern even when it is empty
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Setting)
	if e.Token != "" {
		fmt.Fprintf(&b, ": token %s", e.Token)
	}
	if e.Pattern != "" || e.quotePattern {
		fmt.Fprintf(&b, ": pattern %q", e.Pattern)
	}
	b.WriteString(": ")
	b.WriteString(e.Rule)
	return b.String()
}

// Validate checks every entry: a non-empty token, at least one pattern,
// each a valid non-empty glob, no token listed twice.
func (m Mapping) Validate(setting string) error {
	if len(m) == 0 {
		return &Error{Setting: setting, Rule: "at least one token is required"}
	}
	seen := map[string]bool{}
	for _, e := range m {
		if strings.TrimSpace(e.Token) == "" {
			return &Error{Setting: setting, Rule: "a token must not be empty"}
		}
		if seen[e.Token] {
			return &Error{Setting: setting, Token: e.Masked(), Rule: "token is listed more than once"}
		}
		seen[e.Token] = true
		if len(e.Patterns) == 0 {
			return &Error{Setting: setting, Token: e.Masked(), Rule: "the pattern list is empty; give at least one glob, for example \"**\""}
		}
		for _, p := range e.Patterns {
			if strings.TrimSpace(p) == "" {
				return &Error{Setting: setting, Token: e.Masked(), Pattern: p, Rule: "empty pattern", quotePattern: true}
			}
			if !doublestar.ValidatePattern(p) {
				return &Error{Setting: setting, Token: e.Masked(), Pattern: p, Rule: "invalid glob (check brackets, braces and escapes)"}
			}
		}
	}
	return nil
}

// Warnings name the patterns that can never match a GitLab path: GitLab
// full paths have no leading or trailing slash, no empty segment and no
// spaces, so "/globex/**" selects nothing (the resync would then sync
// nothing, silently).
func (m Mapping) Warnings() []string {
	var out []string
	for _, e := range m {
		for _, p := range e.Patterns {
			var why string
			switch {
			case strings.HasPrefix(p, "/"):
				why = "starts with a slash; GitLab paths do not (write " + strings.TrimLeft(p, "/") + ")"
			case strings.HasSuffix(p, "/") && p != "/":
				why = "ends with a slash; GitLab paths do not (write " + p + "**, or " + strings.TrimRight(p, "/") + ")"
			case strings.Contains(p, "//"):
				why = "has an empty path segment (//)"
			case strings.ContainsAny(p, " \t"):
				why = "has a space; GitLab paths have none"
			}
			if why != "" {
				out = append(out, fmt.Sprintf("tokenMapping: token %s: pattern %q never matches: it %s", e.Masked(), p, why))
			}
		}
	}
	return out
}

// ParseJSON parses the JSON form used in environment variables and Helm
// values: {"TOKEN": ["glob", ...], ...}. Key order is kept. The result is
// validated.
func ParseJSON(setting string, data []byte) (Mapping, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, &Error{Setting: setting, Rule: "malformed JSON: " + jsonReason(err)}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &Error{Setting: setting, Rule: `must be a JSON object like {"glpat-…": ["**/MyGroup/**"]}`}
	}
	var m Mapping
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, &Error{Setting: setting, Rule: "malformed JSON: " + jsonReason(err)}
		}
		token, _ := kt.(string)
		var patterns []string
		if err := dec.Decode(&patterns); err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				return nil, &Error{Setting: setting, Token: Mask(token), Rule: "malformed JSON: " + jsonReason(err)}
			}
			return nil, &Error{Setting: setting, Token: Mask(token), Rule: "value must be a JSON array of glob strings: " + jsonReason(err)}
		}
		m = append(m, Entry{Token: token, Patterns: patterns})
	}
	if _, err := dec.Token(); err != nil {
		return nil, &Error{Setting: setting, Rule: "malformed JSON: " + jsonReason(err)}
	}
	if dec.More() {
		return nil, &Error{Setting: setting, Rule: "malformed JSON: trailing data after the object"}
	}
	if err := m.Validate(setting); err != nil {
		return nil, err
	}
	return m, nil
}

// jsonReason describes a JSON error without quoting input, which may hold a
// token.
func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("expected %s, found %s", te.Type, te.Value)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of input"
	}
	return "invalid value"
}

// Mask returns a token shortened to its type prefix and two characters,
// e.g. "glpat-QX…" (see redact.Token).
func Mask(token string) string { return redact.Token(token) }
