package crawl

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

func source(t *testing.T, host, token string, patterns ...string) *Source {
	t.Helper()
	c, err := gitlab.New(host, token, gitlab.Options{RetryBase: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Source{Entry: tokenmap.Entry{Token: token, Patterns: patterns}, Client: c}
}

func collect(t *testing.T, s *Source, kind string, field string) (Counts, []string) {
	t.Helper()
	var out []string
	c, err := s.List(context.Background(), kind, MergeRequestOptions{}, func(p gitlab.Page) error {
		for _, o := range p.Items {
			out = append(out, o[field].(string))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, out
}

func TestMemberTokenSeesItsSubtreeAndShares(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 150, Seed: 9})
	ts := sim.Start(t)
	s := source(t, ts.URL, org.RootTokens[0], "**")
	c, paths := collect(t, s, selector.KindProject, "path_with_namespace")
	own, shared := 0, 0
	for _, p := range paths {
		if strings.HasPrefix(p, org.Roots[0].FullPath+"/") {
			own++
		} else {
			shared++
		}
	}
	if own != org.ProjectsPer[org.Roots[0].FullPath] || shared == 0 || c.Selected != len(paths) {
		t.Fatalf("own %d (want %d), shared %d, counts %+v", own, org.ProjectsPer[org.Roots[0].FullPath], shared, c)
	}
	counts, _ := sim.Requests()
	if counts["GET /user"] != 1 {
		t.Fatalf("identification requests: %v", counts)
	}
	_, groups := collect(t, s, selector.KindGroup, "full_path")
	for _, g := range groups {
		if g != org.Roots[0].FullPath && !strings.HasPrefix(g, org.Roots[0].FullPath+"/") {
			t.Fatalf("group %s outside the token's subtree", g)
		}
	}
}

func TestAdminTokenSeesEverythingGlobsDecide(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 3, Projects: 200, Seed: 9})
	ts := sim.Start(t)
	s := source(t, ts.URL, org.AdminToken, "**/DevopsTeam/*Service")
	c, paths := collect(t, s, selector.KindProject, "path_with_namespace")
	if c.Fetched != 200 || len(paths) == 0 || len(paths) >= 200 {
		t.Fatalf("counts %+v, %d selected", c, len(paths))
	}
	for _, p := range paths {
		if !strings.Contains(p, "/DevopsTeam/") || !strings.HasSuffix(p, "Service") {
			t.Fatalf("%s does not match the glob", p)
		}
	}
	_, groups := collect(t, s, selector.KindGroup, "full_path")
	for _, g := range groups {
		if !strings.HasSuffix(g, "/DevopsTeam") {
			t.Fatalf("group %s is not a DevopsTeam group", g)
		}
	}
}

func TestPendingDeletionSkipped(t *testing.T) {
	if !PendingDeletion(map[string]any{"marked_for_deletion_on": "2026-01-01"}) || PendingDeletion(map[string]any{"marked_for_deletion_on": nil}) {
		t.Fatal("pendingDeletion wrong")
	}
}
