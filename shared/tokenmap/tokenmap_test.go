package tokenmap

import (
	"strings"
	"testing"
)

func TestMatchProject(t *testing.T) {
	e := Entry{Token: "glpat-QXbeg-Ev9xtu5_5FsaAQ", Patterns: []string{"**/DevopsTeam/*Service", "**/RnDTeam/*Service"}}
	cases := []struct {
		path string
		want bool
	}{
		{"acme/DevopsTeam/PaymentService", true},
		{"acme/platform/DevopsTeam/AuthService", true},
		{"DevopsTeam/BillingService", true}, // ** spans zero segments
		{"acme/RnDTeam/SearchService", true},
		{"acme/DevopsTeam/tools/LintService", false}, // * stays in one segment
		{"acme/DevopsTeam/Frontend", false},
		{"acme/MarketingTeam/AdService", false},
	}
	for _, c := range cases {
		if got := e.MatchProject(c.path); got != c.want {
			t.Errorf("MatchProject(%q) = %v, want %v", c.path, got, c.want)
		}
	}
}

func TestMatchProjectNestedAndBraces(t *testing.T) {
	e := Entry{Token: "t", Patterns: []string{"acme/{platform,data}/**"}}
	for path, want := range map[string]bool{
		"acme/platform/a/b/c/deep": true,
		"acme/data/x":              true,
		"acme/web/x":               false,
		"other/platform/x":         false,
	} {
		if got := e.MatchProject(path); got != want {
			t.Errorf("MatchProject(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestMatchGroup(t *testing.T) {
	e := Entry{Token: "t", Patterns: []string{"**/DevopsTeam/*Service", "acme/platform/**"}}
	cases := []struct {
		path string
		want bool
	}{
		{"acme/DevopsTeam", true},          // holds acme/DevopsTeam/*Service
		{"acme/x/y/DevopsTeam", true},      // ** spans several groups
		{"DevopsTeam", true},               // ** spans zero groups
		{"acme/platform", true},            // ** matches zero segments below it
		{"acme/platform/infra/deep", true}, // matched by acme/platform/**
		{"acme", false},                    // holds no selected project directly
		{"acme/DevopsTeam/sub", false},     // *Service projects are not inside it
		{"acme/web", false},
	}
	for _, c := range cases {
		if got := e.MatchGroup(c.path); got != c.want {
			t.Errorf("MatchGroup(%q) = %v, want %v", c.path, got, c.want)
		}
	}
	if !(Entry{Patterns: []string{"**"}}).MatchGroup("any/group") {
		t.Error("** must keep every group")
	}
	if (Entry{Patterns: []string{"acme/{a,b}/*"}}).MatchGroup("acme/c") {
		t.Error("acme/{a,b}/* must not keep acme/c")
	}
	if !(Entry{Patterns: []string{"acme/{a,b}/*"}}).MatchGroup("acme/b") {
		t.Error("acme/{a,b}/* must keep acme/b")
	}
}

func TestMask(t *testing.T) {
	cases := map[string]string{
		"glpat-QXbeg-Ev9xtu5_5FsaAQ": "glpat-QX…",
		"glpat-abc":                  "glpat-…",
		"plainsecrettokenvalue":      "pl…",
		"short":                      "…",
		"":                           "…",
	}
	for in, want := range cases {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseJSONKeepsOrder(t *testing.T) {
	m, err := ParseJSON("tokenMapping", []byte(`{"glpat-QXbeg-Ev9xtu5_5FsaAQ": ["**/DevopsTeam/*Service", "**/RnDTeam/*Service"],"glpat-xF7Ae-vXu5ts5_QbEgAQ9": ["**/MarketingTeam/*Service"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].Token != "glpat-QXbeg-Ev9xtu5_5FsaAQ" || m[1].Token != "glpat-xF7Ae-vXu5ts5_QbEgAQ9" {
		t.Fatalf("order not kept: %+v", m)
	}
	if len(m[0].Patterns) != 2 || m[1].Patterns[0] != "**/MarketingTeam/*Service" {
		t.Fatalf("patterns wrong: %+v", m)
	}
}

func TestParseJSONErrors(t *testing.T) {
	const tok = "glpat-QXbeg-Ev9xtu5_5FsaAQ"
	cases := []struct {
		name, in, want string
	}{
		{"malformed", `{"` + tok + `": ["**"]`, "tokenMapping: malformed JSON: unexpected end of input"},
		{"not object", `["**"]`, "tokenMapping: must be a JSON object"},
		{"not array", `{"` + tok + `": "**"}`, "tokenMapping: token glpat-QX…: value must be a JSON array of glob strings"},
		{"empty list", `{"` + tok + `": []}`, "tokenMapping: token glpat-QX…: the pattern list is empty"},
		{"bad glob", `{"` + tok + `": ["acme/[a-"]}`, `tokenMapping: token glpat-QX…: pattern "acme/[a-": invalid glob`},
		{"empty pattern", `{"` + tok + `": [""]}`, `tokenMapping: token glpat-QX…: pattern "": empty pattern`},
		{"no tokens", `{}`, "tokenMapping: at least one token is required"},
		{"duplicate", `{"` + tok + `": ["**"], "` + tok + `": ["a/**"]}`, "tokenMapping: token glpat-QX…: token is listed more than once"},
		{"trailing", `{"` + tok + `": ["**"]} x`, "tokenMapping: malformed JSON: trailing data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseJSON("tokenMapping", []byte(c.in))
			if err == nil {
				t.Fatalf("want error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), tok) {
				t.Fatalf("error leaks the token: %q", err)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	m := Mapping{{Token: "glpat-Zq8vR2mT4xYw9KpL3nB7", Patterns: []string{"/globex/**", "acme/", "acme//x", "**/DevopsTeam/*Service", "**"}}}
	w := m.Warnings()
	if len(w) != 3 || !strings.Contains(w[0], `"/globex/**" never matches: it starts with a slash; GitLab paths do not (write globex/**)`) ||
		strings.Contains(strings.Join(w, " "), "Zq8vR2mT4x") {
		t.Fatalf("%q", w)
	}
}
