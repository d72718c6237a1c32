package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// envConstants are the values of this package's Env* constants, read
// from config.go's source: the variables the config reads.
func envConstants(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "config.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && strings.HasPrefix(name.Name, "Env") && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					vars[v] = true
				}
			}
		}
	}
	if len(vars) < 40 {
		t.Fatalf("found %d Env constants in config.go; the parse is wrong", len(vars))
	}
	return vars
}

// oceanTableRow is one row of README's "Coming from Ocean" table.
type oceanTableRow struct {
	vars, keys []string // backquoted names of the first and third columns
	read       bool     // the third column names settings, not "not read"
}

// oceanTable parses README's "Coming from Ocean" table.
func oceanTable(t *testing.T) []oceanTableRow {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Coming from Ocean\n")
	if !ok {
		t.Fatal(`README.md has no "## Coming from Ocean" section`)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	code := regexp.MustCompile("`([^`]+)`")
	var rows []oceanTableRow
	for _, line := range strings.Split(sec, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, " | ")
		if len(cells) < 4 {
			t.Fatalf("row with %d columns: %s", len(cells), line)
		}
		r := oceanTableRow{read: strings.TrimSpace(cells[2]) != "not read"}
		for _, m := range code.FindAllStringSubmatch(cells[0], -1) {
			r.vars = append(r.vars, m[1])
		}
		for _, m := range code.FindAllStringSubmatch(cells[2], -1) {
			r.keys = append(r.keys, m[1])
		}
		rows = append(rows, r)
	}
	if len(rows) < 10 {
		t.Fatalf("the table has %d rows; the parse is wrong", len(rows))
	}
	return rows
}

// TestREADMEComingFromOcean keeps README's "Coming from Ocean" table true
// to this package: a variable said to be read is one the config reads,
// under a file key that exists; one said not to be read is not; and every
// OCEAN__ variable the config reads is in the table, except glsync's own
// names in Ocean's style (not Ocean's settings).
func TestREADMEComingFromOcean(t *testing.T) {
	known := envConstants(t)
	keys := fileKeys()
	inTable := map[string]bool{}
	for _, r := range oceanTable(t) {
		for _, v := range r.vars {
			inTable[v] = true
			if r.read != known[v] {
				t.Errorf("README says %s is %s, but the config %s it", v, map[bool]string{true: "read", false: "not read"}[r.read], map[bool]string{true: "reads", false: "does not read"}[known[v]])
			}
		}
		for _, k := range r.keys {
			if !slices.Contains(keys, k) {
				t.Errorf("README names %q as the setting for %v; the config file has no such key", k, r.vars)
			}
		}
		if r.read && len(r.keys) == 0 {
			t.Errorf("README says %v is read but names no setting", r.vars)
		}
	}
	glsyncOwn := map[string]bool{EnvResyncIntervalAlt: true, EnvGitLabRateLimit: true}
	for v := range known {
		if strings.HasPrefix(v, "OCEAN__") && !inTable[v] && !glsyncOwn[v] {
			t.Errorf("the config reads %s, but README's Coming from Ocean table does not say so", v)
		}
	}
}
