package events

import (
	"context"
	"encoding/json"
	"strconv"
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

// twoGroups is a simulated GitLab with two root groups, each with its own
// group token (in tokenMapping order) and a group hook, and a processor
// over both tokens with the every-kind mapping.
type twoGroups struct {
	sim  *gitlabtest.Server
	org  gitlabtest.Org
	p    *Processor
	a, b gitlabtest.ProjectInfo // a project of each root group
}

func newTwoGroups(t *testing.T, globs ...[]string) *twoGroups {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 6, Seed: 4})
	ts := sim.Start(t)
	m, err := mapping.Load("../../shared/mapping/all-kinds.yml")
	if err != nil {
		t.Fatal(err)
	}
	w := &twoGroups{sim: sim, org: org, p: &Processor{Mapping: m}}
	for i, tok := range org.RootTokens[:2] {
		c, err := gitlab.New(ts.URL, tok, gitlab.Options{RetryBase: time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		patterns := []string{"**"}
		if i < len(globs) {
			patterns = globs[i]
		}
		w.p.Sources = append(w.p.Sources, &crawl.Source{Entry: tokenmap.Entry{Token: tok, Patterns: patterns}, Client: c})
	}
	for _, x := range sim.Projects() {
		switch {
		case w.a.ID == 0 && x.NamespaceID != 0 && under(x.PathWithNamespace, org.Roots[0].FullPath):
			w.a = x
		case w.b.ID == 0 && under(x.PathWithNamespace, org.Roots[1].FullPath):
			w.b = x
		}
	}
	if w.a.ID == 0 || w.b.ID == 0 {
		t.Fatal("no project in each root group")
	}
	for _, g := range org.Roots[:2] {
		sim.AddHook(gitlabtest.Hook{GroupID: g.ID, URL: "http://127.0.0.1:1/hook", Events: map[string]bool{"project_events": true, "subgroup_events": true}})
	}
	return w
}

func under(path, root string) bool { return len(path) > len(root) && path[:len(root)+1] == root+"/" }

// destroyBody is the project_destroy GitLab sends for project x (real
// payload shape: the simulator's webhooks/project.json).
func (w *twoGroups) destroyBody(t *testing.T, x gitlabtest.ProjectInfo) []byte {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(fixture(t, "webhooks/project.json"), &body); err != nil {
		t.Fatal(err)
	}
	body["event_name"], body["project_id"], body["path_with_namespace"], body["path"], body["name"] = "project_destroy", x.ID, x.PathWithNamespace, x.Path, x.Name
	b, _ := json.Marshal(body)
	return b
}

// With group A's hook secret, an attacker sends project_destroy naming
// project B of group B, which is alive: nothing is deleted. A real
// destruction is deleted only when delivered by a hook that covers it.
func TestForgedProjectDestroyDeletesNothing(t *testing.T) {
	ctx := context.Background()
	w := newTwoGroups(t)
	hookA := strconv.FormatInt(w.org.Roots[0].ID, 10)
	for _, ev := range []*catalog.Event{
		{Type: "Project Hook", Source: "group", Scope: hookA, Body: w.destroyBody(t, w.b)}, // B alive, not A's
		{Type: "Project Hook", Source: "group", Scope: hookA, Body: w.destroyBody(t, w.a)}, // A's, alive
		{Type: "System Hook", Source: "system", Body: w.destroyBody(t, w.b)},               // system hook, alive
	} {
		ev.ReceivedAt = time.Now()
		res, err := w.p.Handle(ctx, ev)
		if err != nil || res.Outcome != NotDeleted || len(res.Changes.Deletes) != 0 {
			t.Fatalf("forged destroy (%s %s): %+v %v", ev.Source, ev.Scope, res, err)
		}
	}

	// B is destroyed for real, but the delivery comes through A's hook.
	ds := w.sim.DestroyProject(ctx, w.b.ID)
	var real []byte
	for _, d := range ds {
		if d.Event == "Project Hook" {
			real = d.Body
		}
	}
	res, err := w.p.Handle(ctx, &catalog.Event{Type: "Project Hook", Source: "group", Scope: hookA, Body: real, ReceivedAt: time.Now()})
	if err != nil || res.Outcome != NotDeleted || len(res.Changes.Deletes) != 0 {
		t.Fatalf("B's destruction through A's hook: %+v %v", res, err)
	}
	hookB := strconv.FormatInt(w.org.Roots[1].ID, 10)
	res, err = w.p.Handle(ctx, &catalog.Event{Type: "Project Hook", Source: "group", Scope: hookB, Body: real, ReceivedAt: time.Now()})
	if err != nil || res.Outcome != Applied || len(res.Changes.Deletes) == 0 {
		t.Fatalf("B's destruction through B's hook: %+v %v", res, err)
	}
}

// A forged subgroup_create names a path token A's globs select, with the
// id of a group token A can read but whose path its globs do not select:
// the group is not written, although token B's globs ("**") would select
// its path (only the globs of the token that read it count).
func TestForgedSubgroupEventUsesTheReadingTokensGlobs(t *testing.T) {
	ctx := context.Background()
	w := newTwoGroups(t)
	rootA := w.org.Roots[0].FullPath
	var secret gitlabtest.Group
	for _, g := range w.sim.Groups() {
		if under(g.FullPath, rootA) {
			secret = g
			break
		}
	}
	if secret.ID == 0 {
		t.Fatal("no subgroup under A")
	}
	w.p.Sources[0].Entry.Patterns = []string{rootA + "/nothing-here/**"}
	var body map[string]any
	if err := json.Unmarshal(fixture(t, "webhooks/subgroup.json"), &body); err != nil {
		t.Fatal(err)
	}
	body["event_name"], body["group_id"], body["full_path"] = "subgroup_create", secret.ID, rootA+"/nothing-here/x"
	b, _ := json.Marshal(body)
	res, err := w.p.Handle(ctx, &catalog.Event{Type: "Subgroup Hook", Source: "system", Body: b, ReceivedAt: time.Now()})
	if err != nil || len(res.Changes.Upserts[selector.KindGroup]) != 0 || res.Outcome != OutOfScope {
		t.Fatalf("forged subgroup event: %+v %v", res, err)
	}
}
