// Package shared_test checks the floor plan of the module: which packages
// may import which (see README's Layout). It reads `go list -deps -json`
// once, so it costs about a second.
package shared_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/glsync/terraform-provider-glsync"

type listed struct {
	ImportPath string
	Module     *struct{ Path string }
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
	DepsErrors []*struct{ Err string }
}

// packages are the module's packages (not their tests), by import path
// relative to the module ("shared/catalog"), with their dependencies in
// the module, direct or not, relative too; imports are the direct ones.
func packages(t *testing.T) (pkgs, imports map[string][]string) {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-deps", "-json", "./...")
	cmd.Dir = ".." // the module's root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs, imports = map[string][]string{}, map[string][]string{}
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list: %v", err)
		}
		if p.Module == nil || p.Module.Path != module {
			continue
		}
		if p.Error != nil {
			t.Errorf("%s: %s", p.ImportPath, p.Error.Err)
		}
		for _, e := range p.DepsErrors {
			t.Errorf("%s: %s", p.ImportPath, e.Err) // an import cycle among them
		}
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		pkgs[rel], imports[rel] = inModule(p.Deps), inModule(p.Imports)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages of %s: not run in the module?", len(pkgs), module)
	}
	return pkgs, imports
}

// inModule are the paths of the module's packages, relative to it.
func inModule(paths []string) []string {
	var in []string
	for _, p := range paths {
		if rel, ok := strings.CutPrefix(p, module+"/"); ok {
			in = append(in, rel)
		}
	}
	return in
}

// under reports whether pkg is dir or inside it.
func under(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

// floors are the module's storeys, lowest first (docs/architecture.md):
// a package imports only packages on its own floor or below, so reading
// the list from the top down is reading from the wiring down to the
// ground. Same-floor imports are allowed (Go already forbids circles);
// a new package must be given a floor here.
var floors = [][]string{
	// 0, the ground: domain types and helpers that import nothing of glsync.
	{"shared/catalog", "shared/sealed", "shared/retry", "shared/redact", "shared/suggest", "shared/origin", "shared/whsig", "shared/buildinfo",
		"shared/port/porttest", "shared/stores/pgstore/pgtest"},
	// 1, vocabulary: what the settings may say (tokens and their globs,
	// kinds and selector options, hook events), the simulator, and the
	// stores' shared row scanner.
	{"shared/tokenmap", "shared/selector", "shared/hookspec", "shared/gitlab/gitlabtest",
		"shared/stores/internal/rowscan"},
	// 2, the outside: GitLab's and Port's APIs, the stores, the admin API's contract.
	{"shared/gitlab", "shared/port", "shared/stores/sqlitestore", "shared/stores/pgstore", "shared/stores/storetest",
		"shared/adminapi", "shared/resync/minimum"},
	// 3, the data path's two steps: crawl (read GitLab) and map (jq).
	{"shared/mapping", "shared/crawl"},
	// 4, settings: the configuration validates mappings and hook overrides.
	{"shared/config"},
	// 5, the pipelines: a resync, the hooks, where entities go.
	{"shared/resync", "shared/hooks", "shared/stores", "shared/portsink"},
	// 6, the daemon's parts and the provider.
	{"daemon/metrics", "daemon/events", "daemon/actions", "daemon/webhook", "daemon/console", "daemon/deploy", "provider"},
	// 7, the daemon's wiring.
	{"daemon/service"},
	// 8, the commands.
	{"daemon/cmd/glsyncd", "daemon/cmd/benchtable", "", "shared"},
}

// TestFloors checks that every package has a floor and that no import
// runs from a lower floor to a higher one.
func TestFloors(t *testing.T) {
	_, imports := packages(t)
	floor := map[string]int{}
	for i, pkgs := range floors {
		for _, p := range pkgs {
			floor[p] = i
		}
	}
	for pkg, deps := range imports {
		rel := pkg
		if rel == module {
			rel = ""
		}
		f, ok := floor[rel]
		if !ok {
			t.Errorf("package %q has no floor: add it to floors (docs/architecture.md)", rel)
			continue
		}
		for _, d := range deps {
			if df, ok := floor[d]; ok && df > f {
				t.Errorf("%s (floor %d) imports %s (floor %d): an import runs up a floor", rel, f, d, df)
			}
		}
	}
}

func TestLayering(t *testing.T) {
	pkgs, imports := packages(t)
	for _, want := range []string{"shared/catalog", "shared/sealed", "shared/retry", "shared/stores", "shared/stores/sqlitestore", "shared/stores/pgstore", "shared/portsink"} {
		if _, ok := pkgs[want]; !ok {
			t.Errorf("package %s is missing: update this test with the floor plan", want)
		}
	}
	// The daemon's service reaches the stores through the factory and the
	// catalog interfaces only.
	for _, d := range imports["daemon/service"] {
		if under(d, "shared/stores") && d != "shared/stores" || d == "shared/sealed" {
			t.Errorf("daemon/service imports %s: it opens the store through shared/stores", d)
		}
	}
	for pkg, deps := range pkgs {
		for _, d := range deps {
			switch {
			// The domain types are the ground floor.
			case pkg == "shared/catalog":
				t.Errorf("shared/catalog imports %s: the domain types import nothing of glsync", d)
			// The crypto is a leaf beside them: the store wrapper that uses
			// it lives with the stores (shared/stores).
			case pkg == "shared/sealed":
				t.Errorf("shared/sealed imports %s: the secrets' crypto imports nothing of glsync", d)
			// The one backoff policy is a leaf too: stores and daemon use it.
			case pkg == "shared/retry":
				t.Errorf("shared/retry imports %s: the backoff policy imports nothing of glsync", d)
			// The core knows nothing of the daemon or the provider.
			case under(pkg, "shared") && (under(d, "daemon") || under(d, "provider")):
				t.Errorf("%s imports %s: nothing under shared/ imports daemon/ or provider/", pkg, d)
			// The data path's two steps stand side by side: the crawler
			// reads GitLab with the selector's options and knows no jq
			// mapping, and the mapping knows no crawler.
			case under(pkg, "shared/crawl") && under(d, "shared/mapping") || under(pkg, "shared/mapping") && under(d, "shared/crawl"):
				t.Errorf("%s imports %s: crawl and mapping do not import each other (they share shared/selector)", pkg, d)
			// Stores know no source: the factory (shared/stores) alone reads
			// the configuration.
			case under(pkg, "shared/stores") && pkg != "shared/stores" &&
				slices.ContainsFunc([]string{"shared/crawl", "shared/mapping", "shared/config", "shared/gitlab", "shared/selector"}, func(src string) bool { return under(d, src) }):
				t.Errorf("%s imports %s: a store knows no source, mapping or setting", pkg, d)
			}
		}
		// No import runs back up: a package inside another one's directory
		// depends on nothing outside that directory which depends on it
		// (as catalog/portsink → mapping → catalog did).
		for dir := pkg; strings.Contains(dir, "/"); {
			dir = dir[:strings.LastIndex(dir, "/")]
			if _, ok := pkgs[dir]; !ok {
				continue
			}
			for _, d := range deps {
				if !under(d, dir) && slices.Contains(pkgs[d], dir) {
					t.Errorf("%s imports %s, which imports %s: an import runs back up", pkg, d, dir)
				}
			}
		}
	}
}

// TestReadmeLayout checks that README's Layout names every package, so
// that `ls` and README tell a newcomer the same floor plan.
func TestReadmeLayout(t *testing.T) {
	pkgs, _ := packages(t)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, layout, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README has no ## Layout section")
	}
	layout, _, _ = strings.Cut(layout, "\n## ")
	listed := map[string]bool{}
	for _, line := range strings.Split(layout, "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			listed[strings.TrimSuffix(f[0], "/")] = true
		}
	}
	for pkg := range pkgs {
		if pkg == module || pkg == "shared" || listed[pkg] {
			continue
		}
		t.Errorf("README's Layout does not name package %s", pkg)
	}
}

// TestPackageDocs checks that every package says what it owns in its
// doc comment (the module's test-only root package shared aside).
func TestPackageDocs(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Doc}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, doc, _ := strings.Cut(line, "\t")
		if path != module+"/shared" && strings.TrimSpace(doc) == "" {
			t.Errorf("package %s has no doc comment saying what it owns", path)
		}
	}
}

// TestArchitectureFloors checks that docs/architecture.md's table of
// floors names the packages floors gives each floor, so the page a
// newcomer reads is the plan this test enforces.
func TestArchitectureFloors(t *testing.T) {
	doc, err := os.ReadFile("../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(cells[1]), "%d", &n); err != nil || n < 0 || n >= len(floors) {
			continue
		}
		seen++
		var named []string
		for i, part := range strings.Split(cells[2], "`") {
			switch {
			case i%2 == 0:
			case part == "main.go":
				named = append(named, "")
			case strings.HasPrefix(part, "daemon/") || part == "provider":
				named = append(named, part)
			default:
				named = append(named, "shared/"+part)
			}
		}
		want := slices.DeleteFunc(slices.Clone(floors[n]), func(p string) bool { return p == "shared" })
		slices.Sort(named)
		slices.Sort(want)
		if !slices.Equal(named, want) {
			t.Errorf("docs/architecture.md floor %d names %q; floors has %q", n, named, want)
		}
	}
	if seen != len(floors) {
		t.Errorf("docs/architecture.md has %d floor rows; floors has %d", seen, len(floors))
	}
}
