// Package redact keeps secrets out of messages: every error path that
// shows a value a user gave (a setting, a URL) passes it through here, so
// a token typed into the wrong setting, or into a URL's user info, is
// never echoed whole.
package redact

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// knownPrefixes are GitLab token prefixes, kept in masked output because
// they tell the user which kind of token is meant without revealing it.
var knownPrefixes = []string{"glpat-", "gldt-", "glrt-", "gloas-", "glsoat-", "glft-", "glcbt-", "glimt-", "glptt-", "glagent-", "gloa-"}

// Token returns a token shortened to its type prefix and two characters,
// e.g. "glpat-QX…". Short tokens are masked entirely.
func Token(token string) string {
	prefix := ""
	rest := token
	for _, p := range knownPrefixes {
		if strings.HasPrefix(token, p) {
			prefix, rest = p, token[len(p):]
			break
		}
	}
	if len(rest) < 8 {
		return prefix + "…"
	}
	return prefix + rest[:2] + "…"
}

// Prefix is the token's GitLab type prefix ("glpat-"), or "" when it has
// none: all of a token that may be shown where even Token's two
// characters are too many (the daemon's console).
func Prefix(token string) string {
	for _, p := range knownPrefixes {
		if strings.HasPrefix(token, p) {
			return p
		}
	}
	return ""
}

// LooksSecret reports whether v could be a credential: it carries a
// GitLab token prefix, or it is one long word of letters and digits (as
// tokens, passwords and keys are) rather than a number, a word or a URL.
func LooksSecret(v string) bool {
	for _, p := range knownPrefixes {
		if strings.Contains(v, p) {
			return true
		}
	}
	if len(v) < 16 || strings.ContainsAny(v, " \t\n/:") {
		return false
	}
	var letters, digits int
	for _, r := range v {
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.IsDigit(r):
			digits++
		}
	}
	return letters > 0 && digits > 0
}

// URL returns u with any user info (user:password@, token@) replaced by
// "redacted@" and secret-looking query values masked.
func URL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || p.Host == "" {
		return Value(u)
	}
	if p.User != nil {
		p.User = url.User("redacted")
	}
	if p.RawQuery != "" {
		q := p.Query()
		for k, vs := range q {
			for i, v := range vs {
				if LooksSecret(v) {
					vs[i] = Token(v)
				}
			}
			q[k] = vs
		}
		p.RawQuery = q.Encode()
	}
	return p.String()
}

// Value is v as it may be shown: a secret-looking value masked, a URL
// without its user info, a long value by its length only.
func Value(v string) string {
	switch {
	case strings.Contains(v, "://"):
		if p, err := url.Parse(strings.TrimSpace(v)); err == nil && p.Host != "" {
			return URL(v)
		}
		return fmt.Sprintf("a %d-character value", len(v))
	case LooksSecret(v):
		return Token(v)
	case len(v) > 64:
		return fmt.Sprintf("a %d-character value", len(v))
	}
	return v
}

// Quote is Value in quotes, for "got %s" in messages; a masked or
// summarised value is not quoted, so it does not pass for the input.
func Quote(v string) string {
	r := Value(v)
	if r != v && !strings.Contains(v, "://") {
		return r
	}
	return strconv.Quote(r)
}

// Within returns msg with v, and each space-separated part of v, replaced
// by its redacted form: for messages from libraries that quote the input
// back (a cron parser, a file system error).
func Within(msg, v string) string {
	if v == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, v, Value(v))
	for _, part := range strings.Fields(v) {
		if part != v && Value(part) != part {
			msg = strings.ReplaceAll(msg, part, Value(part))
		}
	}
	return msg
}
