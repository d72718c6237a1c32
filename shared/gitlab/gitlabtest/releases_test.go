package gitlabtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReleaseListingsAsGitLab checks GET /groups/:id/releases and
// GET /projects/:id/releases against GitLab's finders and policies: the
// group's own projects only (not a subgroup's, not a project shared with
// it), whatever their releases_access_level, released_at then id
// descending (ascending with sort=asc) over offset pages; simple=true's
// six fields; the project listing's 403 when releases are disabled, its
// order and its parameter checks.
func TestReleaseListingsAsGitLab(t *testing.T) {
	s := New(Options{})
	acme := s.AddGroup(nil, "acme")
	team := s.AddGroup(acme, "team")
	globex := s.AddGroup(nil, "globex")
	a, b, off, priv := s.AddProject(acme, "a"), s.AddProject(acme, "b"), s.AddProject(acme, "off"), s.AddProject(acme, "priv")
	sub, shared := s.AddProject(team, "sub"), s.AddProject(globex, "shared")
	s.UpdateProject(off.ID, func(p *Project) { p.ReleasesAccess = "disabled" })
	s.UpdateProject(priv.ID, func(p *Project) { p.ReleasesAccess = "private" })
	s.UpdateProject(shared.ID, func(p *Project) { p.SharedWith = []int64{acme.ID} })
	admin := s.AddToken(Token{Value: "glpat-admin", Kind: AdminToken}).Value
	member := s.AddToken(Token{Value: "glpat-acme", Kind: GroupAccessToken, GroupID: acme.ID, AccessLevel: 10}).Value
	minimal := s.AddToken(Token{Value: "glpat-minimal", Kind: GroupAccessToken, GroupID: acme.ID, AccessLevel: 5}).Value
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// a: 150 releases, a day apart, so the group listing takes two pages.
	for i := range 150 {
		tag := fmt.Sprintf("v0.%d", i)
		s.AddRelease(a.ID, tag)
		s.SetReleasedAt(a.ID, tag, base.Add(time.Duration(i)*24*time.Hour))
	}
	// b: a historical release added last, and two released at the same
	// time as one of a's (the tie goes to the higher id first).
	s.AddRelease(b.ID, "v2")
	s.AddRelease(b.ID, "v3")
	s.AddRelease(b.ID, "v1")
	s.SetReleasedAt(b.ID, "v1", base.Add(-time.Hour))
	s.SetReleasedAt(b.ID, "v2", base.Add(10*24*time.Hour))
	s.SetReleasedAt(b.ID, "v3", base.Add(10*24*time.Hour))
	for _, p := range []*Project{off, priv, sub, shared} {
		s.AddRelease(p.ID, "v9")
		s.SetReleasedAt(p.ID, "v9", base.Add(5*24*time.Hour+time.Minute))
	}
	ts := s.Start(t)
	api := ts.URL + "/api/v4"

	type rel struct {
		Tag   string `json:"tag_name"`
		Links struct {
			Self string `json:"self"`
		} `json:"_links"`
	}
	list := func(url, token string) ([]rel, []map[string]any) {
		t.Helper()
		var out []rel
		var raw []map[string]any
		for page := 1; ; page++ {
			resp, body := get(t, fmt.Sprintf("%s&page=%d", url, page), token)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", url, resp.StatusCode, body)
			}
			var items []rel
			if err := json.Unmarshal(body, &items); err != nil {
				t.Fatal(err)
			}
			var m []map[string]any
			_ = json.Unmarshal(body, &m)
			out, raw = append(out, items...), append(raw, m...)
			if resp.Header.Get("X-Next-Page") == "" {
				if page == 1 && resp.Header.Get("X-Total") != fmt.Sprint(len(out)) {
					t.Errorf("%s: X-Total %q for %d", url, resp.Header.Get("X-Total"), len(out))
				}
				return out, raw
			}
		}
	}
	// The expected group order: every release of acme's own projects,
	// released_at desc then id desc.
	var want []string
	for _, r := range s.Releases() {
		p := s.projects[r.ProjectID]
		if p.NamespaceID == acme.ID {
			want = append(want, p.Path+"@"+r.TagName)
		}
	}
	if len(want) != 155 {
		t.Fatalf("%d releases in acme's own projects, want 155", len(want))
	}
	name := func(r rel) string {
		i := strings.Index(r.Links.Self, "/-/releases/")
		return r.Links.Self[strings.LastIndex(r.Links.Self[:i], "/")+1:i] + "@" + r.Tag
	}
	for _, tok := range []string{admin, member} {
		got, _ := list(fmt.Sprintf("%s/groups/%d/releases?per_page=100", api, acme.ID), tok)
		var names []string
		for _, r := range got {
			names = append(names, name(r))
		}
		if !slices.Equal(names, want) {
			t.Errorf("group listing:\n%v\nwant\n%v", names, want)
		}
		if i, j := slices.Index(names, "b@v3"), slices.Index(names, "b@v2"); i < 0 || i+1 != j || names[j+1] != "a@v0.10" {
			t.Errorf("ties on released_at: b@v3 at %d, b@v2 at %d, want both right before a@v0.10 (released together), higher id first", i, j)
		}
	}
	asc, _ := list(fmt.Sprintf("%s/groups/%d/releases?per_page=100&sort=asc", api, acme.ID), admin)
	if len(asc) != len(want) || name(asc[0]) != want[len(want)-1] || name(asc[len(asc)-1]) != want[0] {
		t.Errorf("sort=asc: %d releases from %s to %s", len(asc), name(asc[0]), name(asc[len(asc)-1]))
	}
	_, simple := list(fmt.Sprintf("%s/groups/%d/releases?per_page=100&simple=true", api, acme.ID), admin)
	for k := range simple[0] {
		if !slices.Contains([]string{"name", "tag_name", "description", "created_at", "released_at", "upcoming_release"}, k) {
			t.Errorf("simple=true: field %q", k)
		}
	}
	if len(simple[0]) != 6 {
		t.Errorf("simple=true: %d fields, want 6", len(simple[0]))
	}
	for url, code := range map[string]int{
		fmt.Sprintf("%s/groups/%d/releases?sort=up", api, acme.ID):            400,
		fmt.Sprintf("%s/projects/%d/releases?order_by=id", api, a.ID):         400,
		fmt.Sprintf("%s/projects/%d/releases?sort=up", api, a.ID):             400,
		fmt.Sprintf("%s/projects/%d/releases", api, off.ID):                   403,
		fmt.Sprintf("%s/groups/%d/releases", api, globex.ID):                  404,
		fmt.Sprintf("%s/projects/%d/releases/v9", api, off.ID):                403,
		fmt.Sprintf("%s/projects/%d/releases?order_by=created_at", api, a.ID): 200,
	} {
		if resp, body := get(t, url, member); resp.StatusCode != code {
			t.Errorf("%s: %d %s, want %d", url, resp.StatusCode, body, code)
		}
	}
	if resp, _ := get(t, fmt.Sprintf("%s/groups/%d/releases", api, acme.ID), minimal); resp.StatusCode != 403 {
		t.Errorf("a Minimal Access token's group listing: %d, want 403", resp.StatusCode)
	}
	// Each project's own listing is its part of the group listing, in
	// the same order; private releases are read by a member.
	for _, p := range []*Project{a, b, priv} {
		got, _ := list(fmt.Sprintf("%s/projects/%d/releases?per_page=100", api, p.ID), member)
		var names, part []string
		for _, r := range got {
			names = append(names, name(r))
		}
		for _, n := range want {
			if strings.HasPrefix(n, p.Path+"@") {
				part = append(part, n)
			}
		}
		if !slices.Equal(names, part) {
			t.Errorf("project %s:\n%v\nwant\n%v", p.Path, names, part)
		}
	}
}
