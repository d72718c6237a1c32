package redact

import (
	"regexp"
	"strings"
)

// urlIn finds URLs inside free text; Go's errors quote them
// (`Get "https://…": dial tcp …`), so quotes end one.
var urlIn = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)

// Text is a free-text message (an error from GitLab's client, a Port
// answer) as it may be stored and shown: each URL without its user info
// and secret-looking query values (see URL), and each word carrying a
// GitLab token prefix masked (see Token). Other words are kept, so the
// message still says what went wrong.
func Text(msg string) string {
	msg = urlIn.ReplaceAllStringFunc(msg, func(u string) string {
		// Punctuation that closes the sentence or parenthesis around a
		// URL ("(from http://host:8080)") is not part of it: left on,
		// it makes the URL unparsable and the whole of it, and the
		// punctuation, would be replaced by its length.
		core := strings.TrimRight(u, ").,;:]")
		return URL(core) + u[len(core):]
	})
	words := strings.FieldsFunc(msg, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '"' || r == '\'' || r == '=' || r == ',' || r == ';'
	})
	for _, w := range words {
		if strings.Contains(w, "://") {
			continue // redacted above
		}
		for _, p := range knownPrefixes {
			if i := strings.Index(w, p); i >= 0 {
				msg = strings.ReplaceAll(msg, w[i:], Token(w[i:]))
				break
			}
		}
	}
	return msg
}
