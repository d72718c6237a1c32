package service

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/hooks"
)

// TestSigningRecordedForTheReplicas: with webhookSigning, the
// reconciliation records in the catalog which hooks GitLab says sign
// (hook_signing), which every replica's receiver reads; this one then
// refuses a hook's unsigned delivery that carries the right
// X-Gitlab-Token.
func TestSigningRecordedForTheReplicas(t *testing.T) {
	h := newHarness(t)
	h.cfg.WebhookSigning = true
	h.start()
	h.ready()
	hook := h.sim.Hooks()[0]
	if hook.SigningToken != hooks.SigningToken(hook.Token, hooks.GroupScope(hook.GroupID)) {
		t.Fatal("the hook's signing token is not derived from its secret")
	}
	var record map[string]bool
	eventually(t, 10*time.Second, "hook_signing recorded", func() bool {
		b, found, err := h.svc.Store().Setting(context.Background(), hookSigningKey)
		return err == nil && found && json.Unmarshal(b, &record) == nil && record[hooks.GroupScope(hook.GroupID)]
	})
	req, _ := http.NewRequest(http.MethodPost, h.cfg.AppHost+hooks.GroupHookPath+strconv.FormatInt(hook.GroupID, 10),
		strings.NewReader(`{"object_kind":"push","project":{"id":1,"path_with_namespace":"x/y"}}`))
	req.Header.Set("X-Gitlab-Event", "Push Hook")
	req.Header.Set("X-Gitlab-Token", hook.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned delivery of a signing hook: %d", resp.StatusCode)
	}
}
