package tokenmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
)

// Seeds are the tokenMapping values the repository already uses: the
// JSON string of the spec (README.md, tokenmap_test.go, config_test.go,
// the Helm chart's test) and the malformed ones the tests reject.
const (
	seedTokA = "glpat-QXbeg-Ev9xtu5_5FsaAQ"
	seedTokB = "glpat-xF7Ae-vXu5ts5_QbEgAQ9"
)

var seedMappings = []string{
	`{"glpat-QXbeg-Ev9xtu5_5FsaAQ": ["**/DevopsTeam/*Service", "**/RnDTeam/*Service"],"glpat-xF7Ae-vXu5ts5_QbEgAQ9": ["**/MarketingTeam/*Service"]}`,
	`{"` + seedTokA + `": ["**"]}`,
	`{"` + seedTokA + `": ["a/**"]}`,
	`{"glpat-oh1YXc54pR4eofx6hYy5": ["**"]}`,
	`{"` + seedTokA + `": ["acme/{platform,data}/**"]}`,
	`{"` + seedTokA + `": ["**/DevopsTeam/*Service", "acme/platform/**"]}`,
	`{"` + seedTokA + `": ["**"]`,
	`["**"]`,
	`{"` + seedTokA + `": "**"}`,
	`{"` + seedTokA + `": []}`,
	`{"` + seedTokA + `": ["acme/[a-"]}`,
	`{"` + seedTokA + `": [""]}`,
	`{}`,
	`{"` + seedTokA + `": ["**"], "` + seedTokA + `": ["a/**"]}`,
	`{"` + seedTokA + `": ["**"]} x`,
}

// FuzzParseJSON feeds tokenMapping's JSON form to ParseJSON. It must not
// panic; a mapping it accepts is valid and round-trips (tokens, order and
// patterns); an error is an *Error that names tokens only masked.
func FuzzParseJSON(f *testing.F) {
	for _, s := range seedMappings {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			t.Skip("input larger than 64 KB")
		}
		m, err := ParseJSON("tokenMapping", data)
		if err != nil {
			checkParseError(t, data, err)
			return
		}
		if len(m) == 0 {
			t.Fatal("ParseJSON accepted a mapping with no token")
		}
		if verr := m.Validate("tokenMapping"); verr != nil {
			t.Fatalf("ParseJSON accepted a mapping Validate refuses: %v", verr)
		}
		for _, e := range m {
			for _, p := range e.Patterns {
				if !doublestar.ValidatePattern(p) {
					t.Fatalf("accepted an invalid glob %q", p)
				}
				// Every pattern must be usable against any path.
				e.MatchProject(p)
				e.MatchGroup(p)
			}
		}
		// Round trip: write the mapping back in the same JSON form and
		// parse it again.
		again, err := ParseJSON("tokenMapping", encodeMapping(t, m))
		if err != nil {
			t.Fatalf("re-encoded mapping does not parse: %v", err)
		}
		if len(again) != len(m) {
			t.Fatalf("round trip: %d entries, want %d", len(again), len(m))
		}
		for i := range m {
			if again[i].Token != m[i].Token {
				t.Fatalf("round trip: entry %d token changed (order not kept)", i)
			}
			if strings.Join(again[i].Patterns, "\x00") != strings.Join(m[i].Patterns, "\x00") || len(again[i].Patterns) != len(m[i].Patterns) {
				t.Fatalf("round trip: entry %d patterns %q, want %q", i, again[i].Patterns, m[i].Patterns)
			}
		}
	})
}

// encodeMapping writes m as {"TOKEN": ["glob", ...], ...}, in order.
func encodeMapping(t *testing.T, m Mapping) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(e.Token)
		if err != nil {
			t.Fatal(err)
		}
		v, err := json.Marshal(e.Patterns)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// checkParseError checks a ParseJSON error: an *Error whose token, when
// named, is the mask of a key of the input, and whose setting and rule
// never hold a secret-looking key of the input (patterns are the user's
// own text and are quoted as they are).
func checkParseError(t *testing.T, data []byte, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T (%v) is not a *tokenmap.Error", err, err)
	}
	keys := topLevelKeys(data)
	if e.Token != "" {
		masked := false
		for _, k := range keys {
			if e.Token == Mask(k) {
				masked = true
				break
			}
		}
		if !masked {
			t.Fatalf("error names token %q, which is not the mask of any key of the input", e.Token)
		}
	}
	// The message without the pattern (the user's own text, quoted as it
	// is) must not hold a secret-looking key. Such a key is made of token
	// characters only, so it cannot straddle the message's separators.
	c := *e
	c.Pattern, c.quotePattern = "", false
	for _, k := range keys {
		if secretLike(k) && strings.Contains(c.Error(), k) {
			t.Fatalf("error leaks a token of the input: %q", err)
		}
	}
}

// topLevelKeys are the object keys at the top level of data, as far as
// it is well formed.
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

// secretLike reports whether s looks like an access token: 8 or more
// characters past a known prefix, token characters only, letters and
// digits both. Shorter or wordier keys may occur in messages by chance
// ("tokenMapping", "pattern").
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
	return letters > 0 && digits > 0 && len(Mask(s)) < len(s)
}

// FuzzMask: a masked token keeps at most its known prefix and two more
// bytes, and never holds the whole token, except for "tokens" made only
// of the mask's own text (a known prefix, then bytes of "…": "\x80" is
// masked as "…", which holds it).
func FuzzMask(f *testing.F) {
	for _, s := range []string{seedTokA, seedTokB, "glpat-oh1YXc54pR4eofx6hYy5", "glpat-other-token-value", "glpat-abc", "plainsecrettokenvalue", "short", "", "admintok", "s3cret", "\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		m := Mask(token)
		if !strings.HasSuffix(m, "…") {
			t.Fatalf("Mask(%q) = %q does not end with …", token, m)
		}
		shown := strings.TrimSuffix(m, "…")
		if !strings.HasPrefix(token, shown) {
			t.Fatalf("Mask(%q) = %q shows what is not the token's start", token, m)
		}
		prefix := ""
		for _, p := range []string{"glpat-", "gldt-", "glrt-", "gloas-", "glsoat-", "glft-", "glcbt-", "glimt-", "glptt-", "glagent-", "gloa-"} {
			if strings.HasPrefix(token, p) {
				prefix = p
				break
			}
		}
		if len(shown) > len(prefix)+2 {
			t.Fatalf("Mask(%q) = %q shows more than the prefix and two bytes", token, m)
		}
		if token != "" && strings.Contains(m, token) && !strings.Contains("…", token[len(prefix):]) {
			t.Fatalf("Mask(%q) = %q holds the whole token", token, m)
		}
		if (Entry{Token: token}).Masked() != m {
			t.Fatal("Entry.Masked differs from Mask")
		}
	})
}

// FuzzMatch matches paths against tokenMapping globs. It must not panic
// (patterns are matched unvalidated, as loaded). For a valid pattern:
// MatchProject is doublestar's match; a path selected as a project is
// kept as a group too; the group directly holding a selected project is
// kept (README.md, with the exceptions below); "**" keeps everything; and
// a tokenMapping holding the pattern parses and matches the same.
func FuzzMatch(f *testing.F) {
	// The patterns and paths of tokenmap_test.go and README.md.
	for _, c := range []struct{ pattern, path string }{
		{"**/DevopsTeam/*Service", "acme/DevopsTeam/PaymentService"},
		{"**/DevopsTeam/*Service", "acme/platform/DevopsTeam/AuthService"},
		{"**/DevopsTeam/*Service", "DevopsTeam/BillingService"},
		{"**/RnDTeam/*Service", "acme/RnDTeam/SearchService"},
		{"**/DevopsTeam/*Service", "acme/DevopsTeam/tools/LintService"},
		{"**/MarketingTeam/*Service", "acme/MarketingTeam/AdService"},
		{"acme/{platform,data}/**", "acme/platform/a/b/c/deep"},
		{"acme/{platform,data}/**", "other/platform/x"},
		{"acme/platform/**", "acme/platform/infra/deep"},
		{"**/DevopsTeam/*Service", "acme/DevopsTeam"},
		{"**/DevopsTeam/*Service", "acme/x/y/DevopsTeam"},
		{"acme/{a,b}/*", "acme/c"},
		{"acme/{a,b}/*", "acme/b"},
		{"**", "any/group"},
		{"a/**", "a"},
		{"acme/[a-", "acme/b"},
		{"acme/[x", "acme/x"},
		{"ac**/**a*****/**", "ac/a0"}, // ends in "/**": see below
		{"ac***/*", "ac/0"},           // three stars: see below
	} {
		f.Add(c.pattern, c.path)
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		if len(pattern) > 4096 || len(path) > 4096 {
			t.Skip("input too long")
		}
		e := Entry{Token: seedTokA, Patterns: []string{pattern}}
		project := e.MatchProject(path)
		group := e.MatchGroup(path)
		parentPattern(pattern)
		if !doublestar.ValidatePattern(pattern) {
			return
		}
		if project != doublestar.MatchUnvalidated(pattern, path) {
			t.Fatalf("MatchProject(%q) with %q = %v, doublestar says otherwise", path, pattern, project)
		}
		if project && !group {
			t.Fatalf("pattern %q selects project %q but not the same path as a group", pattern, path)
		}
		// README.md: a group is kept when it can directly hold a selected
		// project. Left out: a pattern with a "/" inside braces or escaped,
		// matched conservatively as one segment (see splitPattern), and one
		// ending in "/**", which means "everything below" ("acme/platform/**"
		// keeps acme/platform, not acme, though doublestar also lets it
		// select a project at acme/platform; see TestMatchGroup). Also left
		// out: three stars in a row, which doublestar matches
		// inconsistently ("a***" does not match "a", "a***/*" matches
		// "a/0"), and a pattern ending in "/", which matches nothing but
		// for a doublestar quirk ("ac/*0**/" matches "ac/0"; Warnings flags
		// such patterns), and braces with an empty alternative ("ac*{}/b"
		// matches "ac/b", yet "ac*{}" does not match "ac"). Paths are
		// GitLab's: no empty segment.
		segs := splitPattern(pattern)
		wellFormed := path != "" && !strings.HasPrefix(path, "/") && !strings.HasSuffix(path, "/") && !strings.Contains(path, "//")
		if i := strings.LastIndex(path, "/"); project && wellFormed && i >= 0 && len(segs) == strings.Count(pattern, "/")+1 &&
			segs[len(segs)-1] != "**" && !strings.Contains(pattern, "***") && !strings.HasSuffix(pattern, "/") && !emptyAlternative(pattern) {
			if !e.MatchGroup(path[:i]) {
				t.Fatalf("pattern %q selects project %q but not its group %q", pattern, path, path[:i])
			}
		}
		all := Entry{Patterns: []string{"**"}}
		if !all.MatchProject(path) || !all.MatchGroup(path) {
			t.Fatalf("** does not select %q", path)
		}
		// A mapping holding the pattern parses and matches the same (JSON
		// carries UTF-8 only).
		if !utf8.ValidString(pattern) {
			return
		}
		data := encodeMapping(t, Mapping{e})
		m, err := ParseJSON("tokenMapping", data)
		if strings.TrimSpace(pattern) == "" {
			if err == nil {
				t.Fatalf("blank pattern %q accepted", pattern)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid pattern %q refused: %v", pattern, err)
		}
		if m[0].MatchProject(path) != project || m[0].MatchGroup(path) != group {
			t.Fatalf("parsed pattern %q matches %q differently", pattern, path)
		}
	})
}

// emptyAlternative reports braces with an empty alternative ("{}", "{,a}",
// "{a,}", "{a,,b}") and character classes that are negated or hold a "/"
// ("[!0]", "[/]" match a "/"), and wildcards inside braces, which
// doublestar matches inconsistently across a "/".
func emptyAlternative(p string) bool {
	for _, s := range []string{"{}", "{,", ",}", ",,"} {
		if strings.Contains(p, s) {
			return true
		}
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '{' {
			// Wildcards inside braces: "ac*{*}/b" matches "ac/b", yet
			// "ac*{*}" does not match "ac".
			if end := strings.IndexByte(p[i:], '}'); end > 0 && strings.ContainsAny(p[i:i+end], "*?[{") && strings.ContainsAny(p[i+1:i+end], "*?[") {
				return true
			}
			continue
		}
		if p[i] != '[' {
			continue
		}
		end := strings.IndexByte(p[i:], ']')
		if end < 0 {
			break
		}
		if class := p[i+1 : i+end]; strings.ContainsAny(class, "/!^\\") {
			return true
		}
	}
	return false
}
