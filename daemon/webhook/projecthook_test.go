package webhook

import (
	"context"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
)

// TestProjectHookDeliveries: a personal project's hook delivers to
// /integration/project/hook/{project_id}, verified against that
// project's secret (stored or derived from webhookSecret) and queued as a
// "project" event naming the project; another project's secret, a group's
// or none is refused; Ocean's static route finds an adopted project
// hook by its secret.
func TestProjectHookDeliveries(t *testing.T) {
	store := &countingSecrets{secrets: map[string]string{hooks.ProjectScope(5001): "s3cret-5001", hooks.GroupScope(7): "s3cret-group-7"}}
	q := &budgetQueue{}
	rc := NewReceiver(q, store, ReceiverOptions{Master: "master-secret",
		Scopes: func(context.Context) []string { return []string{hooks.GroupScope(7), hooks.ProjectScope(5001)} }})
	body := `{"object_kind":"push","project_id":5001}`
	post := func(path, token string) int {
		return postDelivery(t, rc, path, token, strings.NewReader(body), int64(len(body))).Code
	}
	if c := post("/integration/project/hook/5001", "s3cret-5001"); c != 202 {
		t.Fatalf("stored secret: %d", c)
	}
	if c := post("/integration/project/hook/5001", hooks.DeriveSecret("master-secret", hooks.ProjectScope(5001))); c != 202 {
		t.Fatalf("derived secret: %d", c)
	}
	for _, tc := range []struct{ path, token string }{
		{"/integration/project/hook/5002", "s3cret-5001"},
		{"/integration/project/hook/5001", "s3cret-group-7"},
		{"/integration/project/hook/5001", ""},
		{"/integration/hook/5001", "s3cret-5001"},
	} {
		if c := post(tc.path, tc.token); c != 401 {
			t.Errorf("%s with %q: %d, want 401", tc.path, tc.token, c)
		}
	}
	if c := post("/integration/project/hook/x", "s3cret-5001"); c != 404 {
		t.Fatalf("bad id: %d", c)
	}
	if c := post(hooks.OceanWebhookPath, "s3cret-5001"); c != 202 {
		t.Fatalf("Ocean's route: %d", c)
	}
	if len(q.evs) != 3 {
		t.Fatalf("queued %d", len(q.evs))
	}
	for _, ev := range q.evs {
		if ev.Source != "project" || ev.Scope != "5001" {
			t.Fatalf("event %+v", catalog.Event{Source: ev.Source, Scope: ev.Scope, Type: ev.Type})
		}
	}
}
