package events

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// A personal project's hook (Source "project") covers that project and
// nothing else: a deletion it delivers about another project deletes
// nothing (even when that project is gone), one about its own project,
// gone from GitLab, deletes it.
func TestPersonalProjectHookCoversItsProjectOnly(t *testing.T) {
	ctx := context.Background()
	w := newTwoGroups(t)
	ns := w.sim.AddUser(0, "alice", "Alice Liddell")
	notes := w.sim.AddProject(ns, "notes")
	w.sim.AddToken(gitlabtest.Token{Value: "glpat-alice", Kind: gitlabtest.PersonalToken, UserID: ns.OwnerID})
	host := strings.TrimSuffix(w.p.Sources[0].Client.API.BaseURL().String(), "/api/v4/")
	c, err := gitlab.New(host, "glpat-alice", gitlab.Options{RetryBase: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.p.Sources = append(w.p.Sources, &crawl.Source{Entry: tokenmap.Entry{Token: "glpat-alice", Patterns: []string{"**"}}, Client: c})
	var info gitlabtest.ProjectInfo
	for _, x := range w.sim.Projects() {
		if x.ID == notes.ID {
			info = x
		}
	}
	scope := strconv.FormatInt(notes.ID, 10)

	other := w.destroyBody(t, w.b)
	w.sim.RemoveProject(w.b.ID) // gone for real: only the hook's coverage stops the deletion
	res, err := w.p.Handle(ctx, &catalog.Event{Type: "Project Hook", Source: "project", Scope: scope, Body: other, ReceivedAt: time.Now()})
	if err != nil || res.Outcome != NotDeleted || len(res.Changes.Deletes) != 0 {
		t.Fatalf("another project's destruction through alice's hook: %+v %v", res, err)
	}
	body := w.destroyBody(t, info)
	w.sim.RemoveProject(notes.ID)
	res, err = w.p.Handle(ctx, &catalog.Event{Type: "Project Hook", Source: "project", Scope: scope, Body: body, ReceivedAt: time.Now()})
	if err != nil || res.Outcome != Applied || len(res.Changes.Deletes) == 0 {
		t.Fatalf("alice/notes destroyed, through its own hook: %+v %v", res, err)
	}
}
