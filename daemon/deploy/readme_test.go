package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// readmeSection is README.md's text from the heading line to the next
// heading of the same or a higher level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	level := heading[:strings.Index(heading, " ")+1]
	for _, h := range []string{"\n## ", "\n" + level} {
		sec, _, _ = strings.Cut(sec, h)
	}
	return sec
}

// hasValue reports whether values.yaml defines path (dotted; "x.*" is
// any key under x).
func hasValue(values map[string]any, path string) bool {
	var cur any = values
	for _, p := range strings.Split(strings.TrimSuffix(path, ".*"), ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[p]; !ok {
			return false
		}
	}
	return true
}

// TestREADMEChartValues: every chart value README's tables name (the
// Deployment section's list of values, and the Helm values of the
// "Coming from Ocean" table that glsync reads, except those left to
// extraEnv) is one the chart defines, so an Ocean user following them
// sets a value the chart uses.
func TestREADMEChartValues(t *testing.T) {
	b, err := os.ReadFile("helm/glsync/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile("`([^`]+)`")
	cellValues := func(sec string, col int, keep func(cells []string) bool) []string {
		var out []string
		for _, line := range strings.Split(sec, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "| `") {
				continue
			}
			cells := strings.Split(line, " | ")
			if col < len(cells) && keep(cells) {
				for _, m := range code.FindAllStringSubmatch(cells[col], -1) {
					out = append(out, m[1])
				}
			}
		}
		return out
	}
	deployment := cellValues(readmeSection(t, "### Deployment"), 0, func([]string) bool { return true })
	ocean := cellValues(readmeSection(t, "## Coming from Ocean"), 1, func(c []string) bool {
		return strings.TrimSpace(c[2]) != "not read" && !strings.Contains(c[1], "extraEnv")
	})
	if len(deployment) < 15 || len(ocean) < 10 {
		t.Fatalf("found %d and %d values; the parse is wrong", len(deployment), len(ocean))
	}
	for _, v := range append(deployment, ocean...) {
		if !hasValue(values, v) {
			t.Errorf("README names the chart value %s, which values.yaml does not define", v)
		}
	}
}
