package events

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
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

// The payloads are GitLab's own (see shared/gitlab/gitlabtest/payloads).
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "gitlab", "gitlabtest", "payloads", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// processor over an admin token with "**", against an instance that does
// not hold the fixtures' objects (ids 15, 73, 78...).
func processor(t *testing.T, patterns ...string) *Processor {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 3, Seed: 1})
	ts := sim.Start(t)
	c, err := gitlab.New(ts.URL, org.AdminToken, gitlab.Options{RetryBase: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Load("../../shared/mapping/all-kinds.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(patterns) == 0 {
		patterns = []string{"**"}
	}
	return &Processor{Sources: []*crawl.Source{{Entry: tokenmap.Entry{Token: org.AdminToken, Patterns: patterns}, Client: c}}, Mapping: m}
}

func TestFixtureRouting(t *testing.T) {
	cases := []struct {
		file, event string
		outcome     Outcome
		deletes     []string // identifiers deleted
	}{
		{"webhooks/push.json", "Push Hook", GitLabRefused, nil},
		{"webhooks/tag_push.json", "Tag Push Hook", GitLabRefused, nil},
		{"webhooks/merge_request.json", "Merge Request Hook", GitLabRefused, nil},
		{"webhooks/subgroup.json", "Subgroup Hook", GitLabRefused, nil},
		{"systemhooks/push.json", "System Hook", GitLabRefused, nil},
		{"systemhooks/repository_update.json", "System Hook", GitLabRefused, nil},
		{"systemhooks/merge_request.json", "System Hook", GitLabRefused, nil},
		{"systemhooks/project_create.json", "System Hook", GitLabRefused, nil},
		// The project and project-with-members kinds.
		{"systemhooks/project_destroy.json", "System Hook", Applied, []string{"jsmith/underscore", "jsmith/underscore"}},
		{"webhooks/project.json", "Project Hook", GitLabRefused, nil},
		{"webhooks/deployment.json", "Deployment Hook", GitLabRefused, nil},
		{"systemhooks/group_destroy.json", "System Hook", Applied, []string{"78"}},
		// A rename leaves the old identifier behind; the new one is fetched.
		{"systemhooks/project_rename.json", "System Hook", GitLabRefused, nil},
		{"systemhooks/user_add_to_group.json", "System Hook", GitLabRefused, nil},
		{"webhooks/issue.json", "Issue Hook", GitLabRefused, nil},
		{"webhooks/pipeline.json", "Pipeline Hook", GitLabRefused, nil},
		{"webhooks/job.json", "Job Hook", GitLabRefused, nil},
		{"webhooks/release.json", "Release Hook", GitLabRefused, nil},
		{"webhooks/member.json", "Member Hook", GitLabRefused, nil},
		{"webhooks/note_merge_request.json", "Note Hook", Unhandled, nil},
		{"systemhooks/user_create.json", "System Hook", Unhandled, nil},
	}
	p := processor(t)
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			res, err := p.Handle(context.Background(), &catalog.Event{Type: c.event, Body: fixture(t, c.file), ReceivedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != c.outcome {
				t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Detail, c.outcome)
			}
			var got []string
			for _, d := range res.Changes.Deletes {
				got = append(got, d.Identifier)
			}
			if strings.Join(got, ",") != strings.Join(c.deletes, ",") {
				t.Fatalf("deletes %v, want %v", got, c.deletes)
			}
			if c.outcome == GitLabRefused && (len(res.Changes.Deletes) > 0 || !strings.Contains(res.Detail, "404")) {
				t.Fatalf("a refusal must delete nothing and say why: %+v", res)
			}
		})
	}
}

func TestReleaseDeletion(t *testing.T) {
	p := processor(t)
	body := strings.Replace(string(fixture(t, "webhooks/release.json")), `"action": "create"`, `"action": "delete"`, 1)
	res, err := p.Handle(context.Background(), &catalog.Event{Type: "Release Hook", Body: []byte(body), ReceivedAt: time.Now()})
	if err != nil || res.Outcome != Applied || len(res.Changes.Deletes) != 1 || res.Changes.Deletes[0].Identifier != "exm-namespace/example-project@1.0.0" {
		t.Fatalf("%+v %v", res, err)
	}
}

// TestProjectDestroyedAfterDelayedDeletion: GitLab destroys a project
// under its "-deleted-<id>" path; the entities of its real path go, and a
// path that merely ends in digits is left as it is.
func TestProjectDestroyedAfterDelayedDeletion(t *testing.T) {
	p := processor(t)
	for _, c := range []struct{ path, want string }{
		{"flightjs/flight-deleted-7", "flightjs/flight"},
		{"flightjs/api-2024", "flightjs/api-2024"},
	} {
		body := strings.Replace(string(fixture(t, "webhooks/project.json")), `"event_name": "project_create"`, `"event_name": "project_destroy"`, 1)
		body = strings.Replace(body, `"path_with_namespace": "flightjs/flight"`, `"path_with_namespace": "`+c.path+`"`, 1)
		res, err := p.Handle(context.Background(), &catalog.Event{Type: "Project Hook", Body: []byte(body), ReceivedAt: time.Now()})
		if err != nil || res.Outcome != Applied || len(res.Changes.Deletes) != 2 {
			t.Fatalf("%s: %+v %v", c.path, res, err)
		}
		for _, d := range res.Changes.Deletes {
			if d.Identifier != c.want {
				t.Fatalf("%s: deleted %s, want %s", c.path, d.Identifier, c.want)
			}
		}
	}
}

func TestOutOfScopeAndMalformed(t *testing.T) {
	p := processor(t, "acme/**")
	res, err := p.Handle(context.Background(), &catalog.Event{Type: "Push Hook", Body: fixture(t, "webhooks/push.json")})
	if err != nil || res.Outcome != OutOfScope || !strings.Contains(res.Detail, "mike/diaspora") {
		t.Fatalf("%+v %v", res, err)
	}
	// A project that moves out of every glob is removed, from the project
	// and project-with-members kinds.
	res, err = p.Handle(context.Background(), &catalog.Event{Type: "System Hook", Body: fixture(t, "systemhooks/project_transfer.json")})
	if err != nil || res.Outcome != OutOfScope || len(res.Changes.Deletes) != 2 || res.Changes.Deletes[0].Identifier != "jsmith/overscore" ||
		res.Changes.Deletes[1].Key != (catalog.Key{Blueprint: "gitlabProjectMembers", Identifier: "jsmith/overscore"}) {
		t.Fatalf("transfer out of scope: %+v %v", res, err)
	}
	if _, err := p.Handle(context.Background(), &catalog.Event{Type: "Push Hook", Body: []byte(`{"object_kind":`)}); err == nil {
		t.Fatal("malformed payload must be an error")
	}
}

// TestProjectResourcesGetTheirOwnExtras checks that a project event
// enriches each resource's object with the extras its own selector asks
// for, as a resync does.
func TestProjectResourcesGetTheirOwnExtras(t *testing.T) {
	p := processor(t)
	m, err := mapping.Parse([]byte(`
resources:
  - kind: project
    selector: {query: 'true', includeLanguages: true}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"withLanguages"', properties: {languages: .__languages | keys}}}}
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"plain"', properties: {hasLanguages: has("__languages")}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	p.Mapping = m
	var id int64
	var path string
	_, err = p.Sources[0].Projects(context.Background(), func(pg gitlab.Page) error {
		for _, x := range pg.Items {
			if id == 0 && x["empty_repo"] != true {
				id, path = int64(x["id"].(float64)), x["path_with_namespace"].(string)
			}
		}
		return nil
	})
	if err != nil || id == 0 {
		t.Fatalf("no project with a repository: %v", err)
	}
	res, _, err := p.projectObj(context.Background(), id, path, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*catalog.Entity{}
	for _, e := range res.Changes.Upserts[selector.KindProject] {
		got[e.Blueprint] = e
	}
	if w := got["withLanguages"]; w == nil || len(w.Properties["languages"].([]any)) == 0 {
		t.Fatalf("withLanguages: %+v", w)
	}
	if pl := got["plain"]; pl == nil || pl.Properties["hasLanguages"] != false {
		t.Fatalf("plain: %+v", pl)
	}
}

// TestPushWithTruncatedCommits checks a push whose payload lists fewer
// commits than it made (GitLab lists 20 at most): the changed files come
// from the repository trees before and after the push.
func TestPushWithTruncatedCommits(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 5, Seed: 2})
	ts := sim.Start(t)
	c, err := gitlab.New(ts.URL, org.AdminToken, gitlab.Options{RetryBase: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Parse([]byte(`
resources:
  - kind: file
    selector: {query: 'true', files: {path: 'config/*.json'}}
    port: {entity: {mappings: {identifier: .file.path, blueprint: '"configFile"', properties: {owner: .file.content.owner}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := &Processor{Sources: []*crawl.Source{{Entry: tokenmap.Entry{Token: org.AdminToken, Patterns: []string{"**"}}, Client: c}}, Mapping: m}
	var proj gitlabtest.ProjectInfo
	for _, x := range sim.Projects() {
		if !x.EmptyRepo {
			proj = x
			break
		}
	}
	sim.AddHook(gitlabtest.Hook{GroupID: org.Roots[0].ID, URL: "http://127.0.0.1:1/hook", Events: map[string]bool{"push_events": true}})
	ctx := context.Background()
	truncated := func(ds []gitlabtest.Delivery) *catalog.Event {
		t.Helper()
		if len(ds) == 0 {
			t.Fatal("no delivery")
		}
		var body map[string]any
		if err := json.Unmarshal(ds[0].Body, &body); err != nil {
			t.Fatal(err)
		}
		body["commits"], body["total_commits_count"] = []any{}, 25
		b, _ := json.Marshal(body)
		return &catalog.Event{Type: "Push Hook", Body: b}
	}
	sim.PushFile(ctx, proj.ID, "config/a.json", `{"owner": "x"}`)
	res, err := p.Handle(ctx, truncated(sim.PushFile(ctx, proj.ID, "config/b.json", `{"owner": "y"}`)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, e := range res.Changes.Upserts[selector.KindFile] {
		got[e.Identifier] = e.Properties["owner"]
	}
	if res.Outcome != Applied || got["config/a.json"] != "x" || got["config/b.json"] != "y" || len(res.Changes.Deletes) != 0 {
		t.Fatalf("outcome %s, upserts %v, deletes %v", res.Outcome, got, res.Changes.Deletes)
	}
	res, err = p.Handle(ctx, truncated(sim.PushFile(ctx, proj.ID, "config/a.json", "")))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes.Deletes) != 1 || res.Changes.Deletes[0].Identifier != "config/a.json" {
		t.Fatalf("deletes %v", res.Changes.Deletes)
	}
}
