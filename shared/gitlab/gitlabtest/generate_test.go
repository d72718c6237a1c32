package gitlabtest

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"testing"
)

// TestGenerateSaysWhatItIsDoing: a large organisation is announced,
// reported by quarters while its projects and their activity are made,
// and summed up; a small one only announced and summed up.
func TestGenerateSaysWhatItIsDoing(t *testing.T) {
	for _, tc := range []struct {
		projects int
		activity bool
		want     []string
	}{
		{genProgressFrom, true, []string{
			"generating an organisation", `generating projects" done=2500 `, `generating projects" done=5000 `, `generating projects" done=7500 `,
			"generating activity", "generating activity", "generating activity", "organisation generated"}},
		{genProgressFrom + 1, false, []string{
			"generating an organisation", "done=2500 of=10001", "done=5000 of=10001", "done=7500 of=10001", "organisation generated"}},
		{50, true, []string{"generating an organisation", "organisation generated"}},
	} {
		var buf bytes.Buffer
		sim := New(Options{Seed: 1})
		org := sim.Generate(OrgSpec{Roots: 2, Projects: tc.projects, Seed: 1, Activity: tc.activity, Log: slog.New(slog.NewTextHandler(&buf, nil))})
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != len(tc.want) {
			t.Fatalf("%d projects: %d lines, want %d:\n%s", tc.projects, len(lines), len(tc.want), buf.String())
		}
		for i, w := range tc.want {
			if !strings.Contains(lines[i], w) {
				t.Fatalf("%d projects: line %d is %q, want it to contain %q", tc.projects, i+1, lines[i], w)
			}
		}
		last := lines[len(lines)-1]
		if !strings.Contains(last, "projects="+strconv.Itoa(tc.projects)) || !strings.Contains(last, "groups="+strconv.Itoa(org.GroupCount)) {
			t.Fatalf("summary %q does not say what was made", last)
		}
	}
}
