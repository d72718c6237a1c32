package crawl

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// personalOrg is an organisation plus alice, who owns alice/notes (with a
// merge request and an issue) and is a Developer in the first root group.
func personalOrg(t *testing.T) (*gitlabtest.Server, gitlabtest.Org, string, int64) {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 20, Seed: 3})
	ns := sim.AddUser(0, "alice", "Alice Liddell")
	p := sim.AddProject(ns, "notes")
	sim.AddMergeRequest(p.ID, "Personal change")
	sim.AddIssue(p.ID, "Personal issue", false)
	sim.AddToken(gitlabtest.Token{Value: "glpat-alice", Kind: gitlabtest.PersonalToken, UserID: ns.OwnerID, GroupID: org.Roots[0].ID, AccessLevel: 30})
	ts := sim.Start(t)
	return sim, org, ts.URL, p.ID
}

func mrProjects(t *testing.T, s *Source, kind string) []string {
	t.Helper()
	var out []string
	_, err := s.List(context.Background(), kind, MergeRequestOptions{}, func(p gitlab.Page) error {
		for _, o := range p.Items {
			refs, _ := o["references"].(map[string]any)
			full, _ := refs["full"].(string)
			out = append(out, full[:strings.IndexAny(full, "!#")])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPersonalProjectsOfAPersonalToken: with Ocean v2's gitlabToken form
// (one personal access token, every path), the user's personal project is
// synced like a group's: the project, its merge requests and issues (which
// a non-admin lists per root group, so the personal project is listed on
// its own), and events about it are covered by the token; globs apply to
// its full path username/project.
func TestPersonalProjectsOfAPersonalToken(t *testing.T) {
	_, org, host, _ := personalOrg(t)
	s := source(t, host, "glpat-alice", "**")
	_, projects := collect(t, s, selector.KindProject, "path_with_namespace")
	if !slices.Contains(projects, "alice/notes") || !slices.ContainsFunc(projects, func(p string) bool { return strings.HasPrefix(p, org.Roots[0].FullPath+"/") }) {
		t.Fatalf("projects: %v", projects)
	}
	if got := mrProjects(t, s, selector.KindMergeRequest); !slices.Contains(got, "alice/notes") {
		t.Fatalf("merge requests' projects: %v", got)
	}
	if got := mrProjects(t, s, selector.KindIssue); !slices.Contains(got, "alice/notes") {
		t.Fatalf("issues' projects: %v", got)
	}
	for path, want := range map[string]bool{"alice/notes": true, "alice/other": false, "bob/notes": false, org.Roots[0].FullPath + "/x": true, org.Roots[1].FullPath + "/x": false} {
		if got, err := s.Covers(context.Background(), path); err != nil || got != want {
			t.Errorf("Covers(%s) = %v, %v; want %v", path, got, err, want)
		}
	}

	only := source(t, host, "glpat-alice", org.Roots[0].FullPath+"/**")
	if _, projects := collect(t, only, selector.KindProject, "path_with_namespace"); slices.Contains(projects, "alice/notes") {
		t.Fatal("a glob not matching alice/notes selects it")
	}
	if got := mrProjects(t, only, selector.KindMergeRequest); slices.Contains(got, "alice/notes") {
		t.Fatal("a glob not matching alice/notes selects its merge requests")
	}
	mine := source(t, host, "glpat-alice", "alice/*")
	if _, projects := collect(t, mine, selector.KindProject, "path_with_namespace"); len(projects) != 1 || projects[0] != "alice/notes" {
		t.Fatalf("alice/* selects %v", projects)
	}
}

// TestPersonalProjectsOfAnAdmin: an admin token syncs every user's
// personal projects (its listings are instance-wide), while its own
// personal projects, none here, are the only ones it would put hooks on.
func TestPersonalProjectsOfAnAdmin(t *testing.T) {
	_, org, host, _ := personalOrg(t)
	s := source(t, host, org.AdminToken, "**")
	if _, projects := collect(t, s, selector.KindProject, "path_with_namespace"); !slices.Contains(projects, "alice/notes") {
		t.Fatalf("admin projects miss alice/notes")
	}
	if got := mrProjects(t, s, selector.KindMergeRequest); !slices.Contains(got, "alice/notes") {
		t.Fatalf("admin merge requests' projects: %v", got)
	}
	if ps, err := s.PersonalProjects(context.Background()); err != nil || len(ps) != 0 {
		t.Fatalf("admin's own personal projects: %v %v", ps, err)
	}
}

// TestPersonalProjectFilesWithGroupSearch: the group search (the default
// file strategy) covers root groups, which hold no personal project; the
// personal project is searched on its own, so its files are synced too.
func TestPersonalProjectFilesWithGroupSearch(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{AdvancedSearch: true})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 3, Seed: 5})
	ns := sim.AddUser(0, "alice", "Alice Liddell")
	p := sim.AddProject(ns, "notes")
	sim.SetFile(p.ID, "port.yml", "name: notes\n")
	group := sim.Projects()[0]
	sim.SetFile(group.ID, "port.yml", "name: group\n")
	sim.AddToken(gitlabtest.Token{Value: "glpat-alice", Kind: gitlabtest.PersonalToken, UserID: ns.OwnerID, GroupID: org.Roots[0].ID, AccessLevel: 30})
	ts := sim.Start(t)
	s := source(t, ts.URL, "glpat-alice", "**")
	var repos []string
	_, err := s.List(context.Background(), selector.KindFile, Options{Options: selector.Options{Files: FileOptions{Path: "port.yml", Strategy: "groupSearch"}}}, func(pg gitlab.Page) error {
		for _, o := range pg.Items {
			repos = append(repos, o["repo"].(map[string]any)["path_with_namespace"].(string))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(repos, "alice/notes") || !slices.Contains(repos, group.PathWithNamespace) {
		t.Fatalf("files found in %v", repos)
	}
	if c, _ := sim.Requests(); c["GET /groups/:id/search"] == 0 || c["GET /projects/:id/search"] != 1 {
		t.Fatalf("searches: %v", c)
	}
}
