package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// TestTokenMappingThroughTheAdminAPIResyncsAtOnce: a token mapping
// created through the admin API (as glsync_token_mapping does) no longer
// waits for the next scheduled resync (none is scheduled here, and no
// webhook fires): its PUT asks for a resync, and the projects its globs
// select are in the catalog when that resync, followed by its id, is
// done. Narrowing the globs, or deleting the mapping, does the same the
// other way: what they no longer select leaves the catalog.
func TestTokenMappingThroughTheAdminAPIResyncsAtOnce(t *testing.T) {
	h := newHarness(t)
	h.cfg.TokenMapping = h.cfg.TokenMapping[:1] // only root 0 in the config file
	h.cfg.ScheduledResyncInterval, h.cfg.ResyncCron = 0, ""
	h.start()
	h.ready()
	eventually(t, 5*time.Second, "start-up resync finished", func() bool { return h.svc.LastResync() != nil && h.svc.resyncFree() })
	root1 := h.org.Roots[1].FullPath + "/"
	// The projects of root 1 in the catalog, but those root 0's token
	// also sees (shared with its groups): those stay whatever root 1's
	// mapping says.
	shared := map[string]bool{}
	under := func(prefix string) (n int) {
		ents, err := h.svc.Store().List(context.Background(), catalog.Filter{Blueprint: "service"})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Identifier, prefix) && !shared[e.Identifier] {
				n++
			}
		}
		return n
	}
	ents, _ := h.svc.Store().List(context.Background(), catalog.Filter{Blueprint: "service"})
	for _, e := range ents {
		if strings.HasPrefix(e.Identifier, root1) {
			shared[e.Identifier] = true
		}
	}
	api := adminapi.NewClient("http://"+h.svc.AdminAddr(), adminToken)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := api.PutTokenMapping(ctx, "root1", adminapi.TokenMappingInput{Token: h.org.RootTokens[1], Patterns: []string{"**"}})
	if err != nil || got.ResyncID == "" {
		t.Fatalf("put: %+v %v", got, err)
	}
	done, err := api.WaitResync(ctx, got.ResyncID, 20*time.Millisecond)
	if err != nil || done.Result == nil || !done.Result.OK {
		t.Fatalf("the resync the mapping asked for: %+v %v", done, err)
	}
	all := under(root1)
	if all == 0 {
		t.Fatalf("no project of root 1 in the catalog after the mapping's resync")
	}
	team := under(root1 + "DevopsTeam/")
	if team == 0 || team == all {
		t.Fatalf("root 1: %d projects, %d in DevopsTeam: the test needs some in and some out", all, team)
	}

	// Narrower globs: the projects outside them leave at once.
	got, err = api.PutTokenMapping(ctx, "root1", adminapi.TokenMappingInput{Token: h.org.RootTokens[1], Patterns: []string{"**/DevopsTeam/**"}})
	if err != nil || got.ResyncID == "" {
		t.Fatalf("update: %+v %v", got, err)
	}
	if done, err := api.WaitResync(ctx, got.ResyncID, 20*time.Millisecond); err != nil || !done.Result.OK {
		t.Fatalf("the resync the update asked for: %+v %v", done, err)
	}
	if n, in := under(root1), under(root1+"DevopsTeam/"); n != in || in != team {
		t.Fatalf("after narrowing: %d projects of root 1, %d in DevopsTeam (want %d, all in DevopsTeam)", n, in, team)
	}
	// Deleted: what only its token selected leaves at once too.
	del, err := api.DeleteTokenMapping(ctx, "root1")
	if err != nil || del.ResyncID == "" {
		t.Fatalf("delete: %+v %v", del, err)
	}
	if done, err := api.WaitResync(ctx, del.ResyncID, 20*time.Millisecond); err != nil || !done.Result.OK {
		t.Fatalf("the resync the deletion asked for: %+v %v", done, err)
	}
	if n := under(root1); n != 0 {
		t.Fatalf("after the mapping's deletion: %d projects of root 1 remain, want 0", n)
	}
	if !strings.Contains(h.logs.String(), "token mapping root1 stored through the admin API") {
		t.Fatal("the log does not say why the resync ran")
	}
}
