package events

import (
	"context"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// A committer of project A pushes a port.yml that declares project B's
// service entity and a group entity: neither is written (B's stays as the
// project kind wrote it), A's own service entity and a new entity are.
// Pushing port.yml again without them deletes neither. With gitopsScope
// any (Ocean's behaviour) the claims go through.
func TestSpecFileCannotTakeAnotherProjectsEntities(t *testing.T) {
	ctx := context.Background()
	s := newPushSetup(t, mapping.OceanV1, "resources:"+projectKind)
	store, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	s.p.Entities = store
	var b gitlabtest.ProjectInfo
	for _, x := range s.sim.Projects() {
		if x.ID != s.proj.ID {
			b = x
			break
		}
	}
	run, err := store.BeginRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// As the project kind stores them: without a project (crawl.ObjectProject).
	victim := &catalog.Entity{Blueprint: "service", Identifier: b.PathWithNamespace, Title: "B's service", Properties: map[string]any{}, Relations: map[string]any{}}
	own := &catalog.Entity{Blueprint: "service", Identifier: s.proj.PathWithNamespace, Title: "A's service", Properties: map[string]any{}, Relations: map[string]any{}}
	group := &catalog.Entity{Blueprint: "gitlabGroup", Identifier: "acme", Title: "acme", Properties: map[string]any{}, Relations: map[string]any{}}
	for kind, e := range map[string]*catalog.Entity{"project": victim, selector.KindGroup: group} {
		if _, err := store.Upsert(ctx, run, kind, []*catalog.Entity{e}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Upsert(ctx, run, "project", []*catalog.Entity{own}); err != nil {
		t.Fatal(err)
	}
	spec := "- identifier: " + b.PathWithNamespace + "\n  blueprint: service\n  title: Taken\n" +
		"- identifier: acme\n  blueprint: gitlabGroup\n  title: Taken\n" +
		"- identifier: " + s.proj.PathWithNamespace + "\n  blueprint: service\n  properties: {tier: gold}\n" +
		"- identifier: new-thing\n  blueprint: service\n  title: New\n"
	res, _, _ := s.handle(t, s.event(t, s.sim.PushFile(ctx, s.proj.ID, "port.yml", spec), nil))
	written := map[string]bool{}
	for _, e := range res.Changes.Upserts[mapping.GitOpsKind] {
		written[e.Blueprint+"/"+e.Identifier] = true
	}
	if len(written) != 2 || !written["service/"+s.proj.PathWithNamespace] || !written["service/new-thing"] || len(res.Refused) != 2 {
		t.Fatalf("written %v, refused %v", written, res.Refused)
	}
	for _, r := range res.Refused {
		if r.Project != s.proj.ID {
			t.Fatalf("refusal names claimant %d, want %d", r.Project, s.proj.ID)
		}
	}
	// Apply, then the committer drops the entries: only what A's spec
	// file produced may go.
	ev := &catalog.Event{Type: "Push Hook", Object: "project:a", Body: []byte("{}")}
	if _, err := store.Enqueue(ctx, ev); err != nil {
		t.Fatal(err)
	}
	claimed, err := store.Claim(ctx, 1, 0, 60e9)
	if err != nil || len(claimed) != 1 {
		t.Fatal(err)
	}
	if err := store.Complete(ctx, claimed[0], res.Changes); err != nil {
		t.Fatal(err)
	}
	res, _, _ = s.handle(t, s.event(t, s.sim.PushFile(ctx, s.proj.ID, "port.yml", "identifier: other\nblueprint: service\n"), nil))
	deleted := map[string]bool{}
	for _, d := range res.Changes.Deletes {
		deleted[d.Identifier] = true
	}
	if deleted[b.PathWithNamespace] || deleted["acme"] || !deleted["new-thing"] {
		t.Fatalf("deletes %v: want new-thing alone (and A's service, which the project kind keeps writing, is A's)", res.Changes.Deletes)
	}

	// gitopsScope: any trusts every committer, as Ocean does.
	s.p.Mapping.GitOpsAnyScope = true
	res, _, _ = s.handle(t, s.event(t, s.sim.PushFile(ctx, s.proj.ID, "port.yml", spec), nil))
	if len(res.Refused) != 0 || len(res.Changes.Upserts[mapping.GitOpsKind]) != 4 {
		t.Fatalf("gitopsScope any: upserts %d, refused %v", len(res.Changes.Upserts[mapping.GitOpsKind]), res.Refused)
	}
}
