package events

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// TestProjectEventHonoursActiveProjects: a project event maps the
// project-with-members kind only when a resync's listing with the same
// selector would list the project. An archived project, under
// includeOnlyActiveProjects: true, is left out of the listing, so its
// event writes no entity and deletes the one the catalog may hold, as the
// resync's stale deletion would; once active again, the event writes it.
func TestProjectEventHonoursActiveProjects(t *testing.T) {
	ctx := context.Background()
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 6, Seed: 3})
	ts := sim.Start(t)
	c, err := gitlab.New(ts.URL, org.AdminToken, gitlab.Options{RetryBase: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Parse([]byte(`
resources:
  - kind: project-with-members
    selector: {query: 'true', includeOnlyActiveProjects: true}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"projectMembers"', properties: {members: .__members | length}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	src := &crawl.Source{Entry: tokenmap.Entry{Token: org.AdminToken, Patterns: []string{"**"}}, Client: c}
	p := &Processor{Sources: []*crawl.Source{src}, Mapping: m}
	var x gitlabtest.ProjectInfo
	for _, pr := range sim.Projects() {
		if !pr.Archived {
			x = pr
			break
		}
	}
	if x.ID == 0 {
		t.Fatal("no active project")
	}
	key := catalog.Key{Blueprint: "projectMembers", Identifier: x.PathWithNamespace}
	// listed reports whether a resync's listing of the kind, with the
	// resource's selector, gives the project.
	r := m.ResourcesFor(selector.KindProjectWithMembers)[0]
	listed := func() bool {
		t.Helper()
		found := false
		if _, err := src.List(ctx, selector.KindProjectWithMembers, crawl.FromSelector(r), func(pg gitlab.Page) error {
			for _, o := range pg.Items {
				if int64(o["id"].(float64)) == x.ID {
					found = true
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return found
	}
	event := func() Result {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"event_name": "project_update", "project_id": x.ID, "path_with_namespace": x.PathWithNamespace,
			"path": x.Path, "name": x.Name})
		res, err := p.Handle(ctx, &catalog.Event{Type: "System Hook", Body: body, ReceivedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	upserted := func(res Result) bool {
		for _, e := range res.Changes.Upserts[selector.KindProjectWithMembers] {
			if e.Key() == key {
				return true
			}
		}
		return false
	}
	deleted := func(res Result) bool {
		for _, d := range res.Changes.Deletes {
			if d.Key == key {
				return true
			}
		}
		return false
	}

	if !listed() {
		t.Fatalf("the active project %s is not listed", x.PathWithNamespace)
	}
	if res := event(); res.Outcome != Applied || !upserted(res) || deleted(res) {
		t.Fatalf("active project: want its entity written, got %+v", res)
	}

	sim.UpdateProject(x.ID, func(p *gitlabtest.Project) { p.Archived = true })
	if listed() {
		t.Fatalf("the archived project %s is listed under includeOnlyActiveProjects", x.PathWithNamespace)
	}
	if res := event(); res.Outcome != Applied || upserted(res) || !deleted(res) {
		t.Fatalf("archived project: want no entity written and %v deleted, as a resync would, got %+v", key, res)
	}

	sim.UpdateProject(x.ID, func(p *gitlabtest.Project) { p.Archived = false })
	if res := event(); res.Outcome != Applied || !upserted(res) || deleted(res) {
		t.Fatalf("unarchived project: want its entity written again, got %+v", res)
	}
}
