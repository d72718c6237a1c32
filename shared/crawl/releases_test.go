package crawl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/resync/minimum"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

const (
	releasesAdmin = "glpat-releasesreleases"
	releasesGroup = "glpat-releasesgroup000"
)

// releasesPatterns leave rel/xcluded out of the token mapping.
var releasesPatterns = []string{"rel/[!x]*", "rel/*/*", "other/*", "big/*"}

// releasesOrg is an organisation with every case where a group's release
// listing and its projects' own listings differ or run out: rel holds a
// project whose releases take two pages, one with none, one whose
// releases are disabled (the token may not read them), one whose releases
// are private, an archived one, one the globs leave out, and one whose
// releases tie on released_at and were not published in released_at
// order; rel/sub two projects, rel/solo one; other a project shared with
// rel; big two projects beside an archived one whose releases make the
// group's listing longer than its projects' own listings.
func releasesOrg(t *testing.T) (*gitlabtest.Server, string) {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{})
	rel := sim.AddGroup(nil, "rel")
	sub, solo := sim.AddGroup(rel, "sub"), sim.AddGroup(rel, "solo")
	other, big := sim.AddGroup(nil, "other"), sim.AddGroup(nil, "big")
	sim.AddToken(gitlabtest.Token{Value: releasesAdmin, Kind: gitlabtest.AdminToken, Name: "admin"})
	sim.AddToken(gitlabtest.Token{Value: releasesGroup, Kind: gitlabtest.GroupAccessToken, GroupID: rel.ID, AccessLevel: 10, Name: "rel-guest"})
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	at := 0
	publish := func(p *gitlabtest.Project, tags ...string) {
		for _, tag := range tags {
			sim.AddRelease(p.ID, tag)
			at++
			sim.SetReleasedAt(p.ID, tag, base.Add(time.Duration(at)*time.Hour))
		}
	}
	many := sim.AddProject(rel, "many")
	for i := range 150 {
		publish(many, fmt.Sprintf("v1.%d.0", i))
	}
	sim.AddProject(rel, "none")
	off := sim.AddProject(rel, "off")
	publish(off, "v1", "v2")
	sim.UpdateProject(off.ID, func(p *gitlabtest.Project) { p.ReleasesAccess = "disabled" })
	priv := sim.AddProject(rel, "priv")
	publish(priv, "v1")
	sim.UpdateProject(priv.ID, func(p *gitlabtest.Project) { p.ReleasesAccess = "private" })
	archived := sim.AddProject(rel, "archived")
	publish(archived, "v1")
	sim.UpdateProject(archived.ID, func(p *gitlabtest.Project) { p.Archived = true })
	publish(sim.AddProject(rel, "xcluded"), "v1")
	tied := sim.AddProject(rel, "tied")
	publish(tied, "v3", "v2", "v1")
	sim.SetReleasedAt(tied.ID, "v3", base.Add(10*time.Hour)) // many's v1.9.0 too
	sim.SetReleasedAt(tied.ID, "v2", base.Add(10*time.Hour))
	sim.SetReleasedAt(tied.ID, "v1", base.Add(-24*time.Hour))
	publish(sim.AddProject(sub, "s1"), "v1")
	sim.AddProject(sub, "s2")
	publish(sim.AddProject(solo, "lone"), "v1", "v2")
	shared := sim.AddProject(other, "shared")
	publish(shared, "v1")
	sim.UpdateProject(shared.ID, func(p *gitlabtest.Project) { p.SharedWith = []int64{rel.ID} })
	publish(sim.AddProject(big, "p1"), "v1")
	publish(sim.AddProject(big, "p2"), "v1")
	heavy := sim.AddProject(big, "heavy")
	for i := range 250 {
		publish(heavy, fmt.Sprintf("v%d", i))
	}
	sim.UpdateProject(heavy.ID, func(p *gitlabtest.Project) { p.Archived = true })
	ts := sim.Start(t)
	return sim, ts.URL
}

// oceanReleases is Ocean v2's reading, made here without glsync's
// crawler: the token's projects (active ones only, as
// includeOnlyActiveProjects, and those the globs select), and for each
// every page of GET /projects/:id/releases?per_page=100 until a short
// one, a 403 or 404 read as none, each release given __project. The
// objects are keyed by project path, each project's in the order GitLab
// listed them.
func oceanReleases(t *testing.T, sim *gitlabtest.Server, host, token string) map[string][]string {
	t.Helper()
	get := func(path string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, host+"/api/v4/"+path, nil)
		req.Header.Set("PRIVATE-TOKEN", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	src := source(t, host, token, releasesPatterns...)
	out := map[string][]string{}
	for _, p := range sim.Projects() {
		if p.Archived || !src.Entry.MatchProject(p.PathWithNamespace) {
			continue
		}
		code, body := get(fmt.Sprintf("projects/%d", p.ID))
		if code == http.StatusNotFound {
			continue // not the token's
		}
		var pr map[string]any
		if err := json.Unmarshal(body, &pr); err != nil {
			t.Fatal(err)
		}
		for page := 1; ; page++ {
			code, body := get(fmt.Sprintf("projects/%d/releases?per_page=100&page=%d", p.ID, page))
			if code == http.StatusForbidden || code == http.StatusNotFound {
				break
			}
			var batch []map[string]any
			if err := json.Unmarshal(body, &batch); err != nil {
				t.Fatalf("%s: %d %s", p.PathWithNamespace, code, body)
			}
			for _, r := range batch {
				r["__project"] = ProjectInfo(pr)
				b, _ := json.Marshal(r)
				out[p.PathWithNamespace] = append(out[p.PathWithNamespace], string(b))
			}
			if len(batch) < 100 {
				break
			}
		}
	}
	return out
}

// readReleases reads the release kind as glsync does (active projects
// only) and returns the objects by project, in order, with the requests.
func readReleases(t *testing.T, sim *gitlabtest.Server, host, token string) (map[string][]string, map[string]int) {
	t.Helper()
	sim.ResetRequests()
	s := source(t, host, token, releasesPatterns...)
	active := true
	out := map[string][]string{}
	_, err := s.ProjectChildren(context.Background(), selector.KindRelease, Options{Options: selector.Options{ActiveProjects: &active}}, func(p gitlab.Page) error {
		for _, r := range p.Items {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			path := r["__project"].(map[string]any)["path_with_namespace"].(string)
			out[path] = append(out[path], string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	counts, _ := sim.Requests()
	return out, counts
}

// TestOceanReleasesFromGroupListing checks that Ocean v2's releases read
// from the groups' listings are exactly, field for field and in each
// project's order, those Ocean's own reading (a listing per project)
// returns: releases beyond the first page, a project with none, one
// whose releases the token may not read (disabled: none, and no request),
// private ones (read), archived and glob-excluded projects' releases
// dropped, ties on released_at, a project shared into the group, and a
// group whose listing would cost more than its projects' (given up after
// one page). With a non-admin token on a self-managed instance every
// project is read on its own, with the same objects.
func TestOceanReleasesFromGroupListing(t *testing.T) {
	sim, host := releasesOrg(t)
	for _, tc := range []struct {
		name, token string
		group       int // group listing pages
		project     int // project listing pages
	}{
		// rel: one listing of 2 pages for many, none, priv and tied (the
		// 157 releases of its own projects); rel/sub: one page for s1
		// and s2; rel/solo's lone and other's shared alone in their
		// group; big: one page given up (3 announced for 2 projects),
		// then p1 and p2 on their own. off is never asked.
		{"admin", releasesAdmin, 2 + 1 + 1, 1 + 1 + 2},
		// Every project on its own: many's two pages, none, priv, tied,
		// s1, s2, lone and shared (the group token sees neither big's
		// projects nor, as Ocean does not, off's releases).
		{"group token", releasesGroup, 0, 2 + 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := oceanReleases(t, sim, host, tc.token)
			got, counts := readReleases(t, sim, host, tc.token)
			if len(want["rel/many"]) != 150 || len(want["rel/priv"]) != 1 || len(want["rel/off"]) != 0 || len(want["rel/none"]) != 0 {
				t.Fatalf("the oracle read %d, %d, %d and %d releases of many, priv, off and none", len(want["rel/many"]), len(want["rel/priv"]), len(want["rel/off"]), len(want["rel/none"]))
			}
			for _, p := range slices.Sorted(maps.Keys(want)) {
				if !slices.Equal(got[p], want[p]) {
					t.Errorf("%s: %d releases, want %d:\n%v\nwant\n%v", p, len(got[p]), len(want[p]), got[p], want[p])
				}
			}
			for p := range got {
				if _, ok := want[p]; !ok {
					t.Errorf("%s: %d releases Ocean does not read", p, len(got[p]))
				}
			}
			if g, pr := counts["GET /groups/:id/releases"], counts["GET /projects/:id/releases"]; g != tc.group || pr != tc.project {
				t.Errorf("%d group and %d project release requests, want %d and %d", g, pr, tc.group, tc.project)
			}
			if tc.token != releasesAdmin {
				return
			}
			// Against the fewest requests for the set (7: big read per
			// project from the start) and Ocean's own (12: off's 403
			// included): one more than the fewest, the page big's
			// listing was given up after.
			src := source(t, host, tc.token, releasesPatterns...)
			least, ocean := minimum.OceanReleases(sim, func(p gitlabtest.ProjectInfo) bool {
				return !p.Archived && src.Entry.MatchProject(p.PathWithNamespace)
			})
			if least != 7 || ocean != 12 || tc.group+tc.project != least+1 {
				t.Errorf("minimum %d, Ocean %d, glsync %d: want 7, 12 and 8", least, ocean, tc.group+tc.project)
			}
		})
	}
}
