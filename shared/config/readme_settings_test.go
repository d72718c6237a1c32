package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// settingsRow is one row of a settings table: a file key, the variables
// named beside it, and its default as written.
type settingsRow struct {
	key  string
	vars []string
	def  string
}

// settingsHeader opens each of README's settings tables (Configuration,
// Writing to Port, Port actions).
const settingsHeader = "| file key | environment | default | meaning |"

// readmeSettingsRows parses every settings table of README.md.
func readmeSettingsRows(t *testing.T) []settingsRow {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile("`([^`]+)`")
	variable := regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)
	var rows []settingsRow
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case line == settingsHeader:
			in = true
			continue
		case !strings.HasPrefix(line, "|"):
			in = false
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
		if len(cells) != 6 {
			t.Fatalf("settings row with %d columns: %s", len(cells)-2, line)
		}
		keys := code.FindAllStringSubmatch(cells[1], -1)
		if len(keys) != 1 {
			t.Errorf("settings row naming %d keys (one a row): %s", len(keys), line)
			continue
		}
		r := settingsRow{key: keys[0][1], def: strings.ReplaceAll(strings.TrimSpace(cells[3]), "\x00", `\|`)}
		for _, m := range code.FindAllStringSubmatch(cells[2], -1) {
			if variable.MatchString(m[1]) {
				r.vars = append(r.vars, m[1])
			}
		}
		slices.Sort(r.vars)
		rows = append(rows, r)
	}
	if len(rows) < 40 {
		t.Fatalf("README's settings tables have %d rows; the parse is wrong", len(rows))
	}
	return rows
}

// tableRow is the row the settings table gives key.
func tableRow(s setting) settingsRow {
	vars := slices.Concat(s.env, s.also)
	slices.Sort(vars)
	return settingsRow{key: s.key, vars: vars, def: s.def}
}

// TestREADMESettingsTable keeps README's settings tables true to the
// settings table: every setting has a row, with its variables and its
// default as the table states them, and README has no row for a setting
// the table lacks. A missing row is printed from the table, to paste.
func TestREADMESettingsTable(t *testing.T) {
	want := map[string]settingsRow{}
	for _, s := range settings {
		want[s.key] = tableRow(s)
	}
	seen := map[string]bool{}
	for _, r := range readmeSettingsRows(t) {
		w, ok := want[r.key]
		if !ok {
			t.Errorf("README has a row for %s, which is not a setting", r.key)
			continue
		}
		seen[r.key] = true
		if !slices.Equal(r.vars, w.vars) {
			t.Errorf("README gives %s the variables %v; the settings table has %v", r.key, r.vars, w.vars)
		}
		if r.def != w.def {
			t.Errorf("README gives %s the default %q; the settings table has %q", r.key, r.def, w.def)
		}
	}
	for _, s := range settings {
		if !seen[s.key] {
			vars := make([]string, 0, len(s.env))
			for _, v := range s.env {
				vars = append(vars, "`"+v+"`")
			}
			t.Errorf("README has no row for %s; add one to a settings table:\n| `%s` | %s | %s | %s |", s.key, s.key, strings.Join(vars, ", "), s.def, s.doc)
		}
	}
}
