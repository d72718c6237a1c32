package hooks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
)

// A project's hooks go through the same calls as a group's: created,
// found by URL, listed only under their project, read with the project
// hook's event names, deleted; a Developer's 403 says what role project
// hooks need.
func TestProjectOwnerHooks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, _ := gitlab.New(f.host, f.org.RootTokens[0], gitlab.Options{RetryBase: time.Millisecond}, nil)
	var pid int64
	for _, p := range f.sim.Projects() {
		if strings.HasPrefix(p.PathWithNamespace, f.org.Roots[0].FullPath+"/") && len(p.SharedWith) == 0 {
			pid = p.ID
			break
		}
	}
	o := ProjectOwner(pid)
	h, err := CreateRawOf(ctx, c, o, map[string]any{"url": "https://p.example.com/h", "job_events": true, "resource_deploy_token_events": true})
	if err != nil || h.ProjectID != pid || h.GroupID != 0 {
		t.Fatalf("create: %+v %v", h, err)
	}
	if ev := h.EventsOf(hookspec.ProjectEvents, []string{"jobs_events"}); strings.Join(ev, ",") != "jobs_events,push_events" {
		t.Fatalf("events %v", ev)
	}
	if got, err := FindByURLOf(ctx, c, o, "https://p.example.com/h/"); err != nil || got == nil || got.ID != h.ID {
		t.Fatalf("find: %+v %v", got, err)
	}
	if got, err := FindByURLOf(ctx, c, GroupOwner(f.org.Roots[0].ID), "https://p.example.com/h"); err != nil || got != nil {
		t.Fatalf("a project's hook found on its group: %+v %v", got, err)
	}
	if list, err := List(ctx, c, o); err != nil || len(list) != 1 || !list[0].Flags["resource_deploy_token_events"] {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := DeleteOf(ctx, c, o, h.ID); err != nil {
		t.Fatal(err)
	}
	if _, found, err := GetOf(ctx, c, o, h.ID); found || err != nil {
		t.Fatalf("after delete: %v %v", found, err)
	}
	f.sim.AddToken(gitlabtest.Token{Value: "glpat-developer-0000000001", Kind: gitlabtest.GroupAccessToken, GroupID: f.org.Roots[0].ID, AccessLevel: 30})
	dev, _ := gitlab.New(f.host, "glpat-developer-0000000001", gitlab.Options{RetryBase: time.Millisecond}, nil)
	if _, err := List(ctx, dev, o); err == nil || !strings.Contains(err.Error(), "project hooks need the Maintainer role on the project") {
		t.Fatalf("developer: %v", err)
	}
}
