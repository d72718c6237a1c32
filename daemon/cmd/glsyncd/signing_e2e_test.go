package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/whsig"
)

// TestSignedDeliveriesEndToEnd runs glsyncd with webhookSigning against
// the simulator as GitLab 19: the hook it creates carries a signing
// token, GitLab's signed delivery is accepted and its project lands in the
// catalog, /status lists the hook as signed; a delivery signed with
// another key is refused (401, counted as signature_mismatch), and so is
// the same hook's unsigned delivery carrying only X-Gitlab-Token.
func TestSignedDeliveriesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon in a child process")
	}
	sim := gitlabtest.New(gitlabtest.Options{Seed: 23})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 20, Seed: 23})
	ts := sim.Start(t)
	hookAddr, adminAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	const admin = "t0ken-for-admin-never-logged-8Kq2vX7mZp"
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nappHost: http://%s\nadminToken: %s\nwebhookSigning: true\ntokenMapping:\n  %s: ['**']\n",
		ts.URL, hookAddr, admin, org.RootTokens[0])), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startChild(t, "run", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--listen", hookAddr, "--admin-listen", adminAddr)
	waitFor(t, 20*time.Second, "signed hook created", func() bool { h := sim.Hooks(); return len(h) == 1 && h[0].SigningToken != "" })
	waitFor(t, 20*time.Second, "start-up resync", func() bool { return metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 1`) })
	hook := sim.Hooks()[0]
	if !whsig.ValidGitLabToken(hook.SigningToken) || hook.SigningToken != hooks.SigningToken(hook.Token, hooks.GroupScope(hook.GroupID)) {
		t.Fatalf("signing token not derived from the hook's secret")
	}
	waitFor(t, 10*time.Second, "/status lists the hook as signed", func() bool {
		req, _ := http.NewRequest(http.MethodGet, "http://"+adminAddr+"/status", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st struct {
			HookReconcile struct {
				Signed []string `json:"signed"`
			} `json:"hook_reconcile"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&st)
		return slices.Contains(st.HookReconcile.Signed, hooks.GroupScope(hook.GroupID))
	})

	team := sim.Group(org.Roots[0].FullPath + "/DevopsTeam")
	p := sim.AddProject(team, "SignedService")
	ds := sim.Push(context.Background(), p.ID)
	if len(ds) != 1 || ds[0].Status != http.StatusAccepted || ds[0].Header.Get(whsig.HeaderSignature) == "" {
		t.Fatalf("signed push: %v", ds)
	}
	waitFor(t, 10*time.Second, "signed event applied", func() bool {
		return metric(t, adminAddr, `glsync_events_processed_total{event="Push Hook",outcome="applied"} 1`)
	})
	if !strings.Contains(listCatalog(t, dir), team.FullPath+"/SignedService") {
		t.Fatal("the signed event's project is not in the catalog")
	}

	// GitLab signing with another key: refused, counted, nothing queued.
	sim.EditHook(hook.ID, func(h *gitlabtest.Hook) { h.SigningToken = whsig.NewToken() })
	if ds := sim.Push(context.Background(), p.ID); len(ds) != 1 || ds[0].Status != http.StatusUnauthorized {
		t.Fatalf("wrong signature: %v", ds)
	}
	waitFor(t, 5*time.Second, "refusal counted", func() bool {
		return metric(t, adminAddr, `glsync_webhook_events_rejected_total{reason="signature_mismatch"} 1`)
	})
	// The same hook unsigned (its X-Gitlab-Token only): refused too.
	sim.EditHook(hook.ID, func(h *gitlabtest.Hook) { h.SigningToken = "" })
	if ds := sim.Push(context.Background(), p.ID); len(ds) != 1 || ds[0].Status != http.StatusUnauthorized {
		t.Fatalf("unsigned delivery of a signing hook: %v", ds)
	}
	waitFor(t, 5*time.Second, "refusal counted", func() bool {
		return metric(t, adminAddr, `glsync_webhook_events_rejected_total{reason="signature_missing"} 1`)
	})
	if out := d.out.String(); strings.Contains(out, hook.Token) || strings.Contains(out, hook.SigningToken) {
		t.Fatal("a hook secret appears in the daemon's output")
	}
}

// TestHooksApplyReportsAnIgnoredSigningToken: with webhookSigning and a
// GitLab whose feature flag is off, `hooks apply` creates the hooks, says
// on an `unsigned:` line per hook that GitLab ignored the token, and exits
// 1; once GitLab signs, `hooks plan` shows the update that adds it and
// `hooks apply` gives it, exit 0.
func TestHooksApplyReportsAnIgnoredSigningToken(t *testing.T) {
	s, org, url := sim(t)
	s.SetSigningSupport(gitlabtest.SigningFlagOff)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nappHost: https://glsync.example.com\nwebhookSigning: true\ntokenMapping:\n  %s: ['**']\n", url, org.RootTokens[0])), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	r := runCLI(t, nil, "hooks", "apply", "--config", cfg, "--data-dir", data)
	if r.code != 1 || !strings.Contains(r.stdout, "unsigned: hook of group "+org.Roots[0].FullPath) || !strings.Contains(r.stdout, "signing_token_present: false") || len(s.Hooks()) != 1 {
		t.Fatalf("hooks apply, flag off: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	s.SetSigningSupport(gitlabtest.SigningOn)
	if r := runCLI(t, nil, "hooks", "plan", "--config", cfg, "--data-dir", data); r.code != 0 || !strings.Contains(r.stdout, "no signing token (webhookSigning is on)") {
		t.Fatalf("hooks plan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, nil, "hooks", "apply", "--config", cfg, "--data-dir", data); r.code != 0 || s.Hooks()[0].SigningToken == "" {
		t.Fatalf("hooks apply, flag on: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	assertNoToken(t, org, r)
}
