package redact

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	const tok = "glpat-Zq8vR2mT4xYw9KpL3nB7"
	for _, c := range []struct{ in, want string }{
		{tok, "glpat-Zq…"},
		{"Zq8vR2mT4xYw9KpL3nB7", "Zq…"},
		{"12", "12"},
		{"yes", "yes"},
		{"0 */2 * * *", "0 */2 * * *"},
		{"https://gitlab.example.com", "https://gitlab.example.com"},
		{"https://oauth2:" + tok + "@gitlab.example.com/api", "https://redacted@gitlab.example.com/api"},
		{"postgres://glsync:hunter2hunter2@db:5432/glsync?sslmode=require", "postgres://redacted@db:5432/glsync?sslmode=require"},
		{"https://gitlab.example.com/?private_token=" + tok, "https://gitlab.example.com/?private_token=glpat-Zq%E2%80%A6"},
		{strings.Repeat("a", 100), "a 100-character value"},
	} {
		if got := Value(c.in); got != c.want {
			t.Errorf("Value(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Quote("12x"); got != `"12x"` {
		t.Errorf("Quote of a plain value: %s", got)
	}
	if got := Quote(tok); got != "glpat-Zq…" {
		t.Errorf("Quote of a token: %s", got)
	}
	msg := "expected exactly 5 fields, found 1: [" + tok + "]"
	if got := Within(msg, tok); strings.Contains(got, "Zq8vR2") {
		t.Errorf("Within: %s", got)
	}
}
