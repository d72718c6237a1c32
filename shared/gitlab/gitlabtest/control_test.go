package gitlabtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestControlAPI: each event of the control API changes the instance as
// GitLab's API then shows it, and is delivered, with GitLab's headers, to
// the group hooks of the project's ancestors and the system hooks that
// enable it, never to another root's hook; the answer names each hook.
func TestControlAPI(t *testing.T) {
	s, org, api := setup(t, 40)
	base := strings.TrimSuffix(api, "/api/v4")
	ctx := context.Background()
	root, other := org.Roots[0], org.Roots[1]
	rcv, got := receiver(t)
	rcvOther, gotOther := receiver(t)
	all := map[string]bool{}
	for _, e := range groupHookEvents {
		all[e] = true
	}
	s.AddHook(Hook{GroupID: root.ID, URL: rcv.URL + "/integration/hook/" + fmt.Sprint(root.ID), Token: "sekret", Events: all})
	s.AddHook(Hook{GroupID: other.ID, URL: rcvOther.URL + "/integration/hook/" + fmt.Sprint(other.ID), Events: all})
	s.AddHook(Hook{URL: rcv.URL + "/integration/system/hook", Events: map[string]bool{"push_events": true, "merge_requests_events": true}})

	var proj, archived ProjectInfo
	for _, p := range s.Projects() {
		if strings.HasPrefix(p.PathWithNamespace, root.FullPath+"/") && !p.EmptyRepo {
			if p.Archived && archived.ID == 0 {
				archived = p
			} else if !p.Archived && proj.ID == 0 && p.NamespaceID != root.ID {
				proj = p
			}
		}
	}
	if proj.ID == 0 {
		t.Fatal("no project in a subgroup of the first root")
	}
	admin := org.AdminToken
	send := func(kind string, ev ControlEvent) ControlResult {
		t.Helper()
		res, err := SendEvent(ctx, base, admin, kind, ev)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	apiJSON := func(path string) map[string]any {
		t.Helper()
		resp, b := get(t, api+"/"+path, admin)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return m
	}
	// wantDeliveries checks the answer and what the receiver got since n.
	wantDeliveries := func(res ControlResult, n int, want ...string) {
		t.Helper()
		if len(res.Deliveries) != len(want) {
			t.Fatalf("%s: %d deliveries, want %v: %+v", res.Kind, len(res.Deliveries), want, res.Deliveries)
		}
		c := got()[n:]
		for i, d := range res.Deliveries {
			event, hook, _ := strings.Cut(want[i], "@")
			if d.Event != event || d.Hook != hook || d.Status != http.StatusAccepted || d.Error != "" {
				t.Fatalf("%s: delivery %d is %+v, want %s to %s", res.Kind, i, d, event, hook)
			}
			h := c[i].header
			if h.Get("X-Gitlab-Event") != event || h.Get("X-Gitlab-Event-UUID") != d.UUID || h.Get("Idempotency-Key") != d.UUID || h.Get("User-Agent") == "" {
				t.Fatalf("%s: delivery %d headers %v", res.Kind, i, h)
			}
			if hook != "system" && h.Get("X-Gitlab-Token") != "sekret" {
				t.Fatalf("%s: the group hook's secret token is not sent", res.Kind)
			}
		}
	}
	groupAt, system := "@group "+root.FullPath, "@system"

	// Only the simulator's admin token may use it; a refusal changes nothing.
	mrsBefore := len(s.MergeRequests())
	for _, tok := range []string{"", org.RootTokens[0], "glpat-unknown"} {
		_, err := SendEvent(ctx, base, tok, "merge-request", ControlEvent{Project: proj.PathWithNamespace})
		if err == nil || !strings.Contains(err.Error(), "admin token") {
			t.Fatalf("token %q: %v", tok, err)
		}
	}
	if len(s.MergeRequests()) != mrsBefore || len(got()) != 0 {
		t.Fatal("a refused request changed the instance or delivered")
	}

	// push with a file: the file is in the repository at the new head.
	n := len(got())
	res := send("push", ControlEvent{Project: proj.PathWithNamespace, File: "docs/live.md", Content: "live\n"})
	wantDeliveries(res, n, "Push Hook"+groupAt, "System Hook"+system)
	resp, b := get(t, fmt.Sprintf("%s/projects/%d/repository/files/%s/raw?ref=main", api, proj.ID, url.PathEscape("docs/live.md")), admin)
	if resp.StatusCode != 200 || string(b) != "live\n" {
		t.Fatalf("pushed file: %d %q", resp.StatusCode, b)
	}
	push := got()[n].body
	head := apiJSON(fmt.Sprintf("projects/%d/repository/branches/main", proj.ID))["commit"].(map[string]any)["id"]
	if push["after"] != head || push["commits"].([]any)[0].(map[string]any)["added"].([]any)[0] != "docs/live.md" {
		t.Fatalf("push body after %v (branch head %v), commits %v", push["after"], head, push["commits"])
	}

	// branches: created from the head, then deleted; the default one is kept.
	n = len(got())
	res = send("branch-create", ControlEvent{Project: fmt.Sprint(proj.ID), Branch: "live-branch"})
	wantDeliveries(res, n, "Push Hook"+groupAt, "System Hook"+system)
	if got()[n].body["before"] != strings.Repeat("0", 40) || apiJSON(fmt.Sprintf("projects/%d/repository/branches/live-branch", proj.ID))["name"] != "live-branch" {
		t.Fatalf("branch-create: %v", got()[n].body["before"])
	}
	n = len(got())
	res = send("branch-delete", ControlEvent{Project: proj.PathWithNamespace, Branch: "live-branch"})
	wantDeliveries(res, n, "Push Hook"+groupAt, "System Hook"+system)
	if r, _ := get(t, fmt.Sprintf("%s/projects/%d/repository/branches/live-branch", api, proj.ID), admin); r.StatusCode != 404 || got()[n].body["after"] != strings.Repeat("0", 40) {
		t.Fatalf("branch-delete: branch answers %d, after %v", r.StatusCode, got()[n].body["after"])
	}
	for _, ev := range []ControlEvent{{Project: proj.PathWithNamespace, Branch: "main"}, {Project: proj.PathWithNamespace, Branch: "never-was"}} {
		if _, err := SendEvent(ctx, base, admin, "branch-delete", ev); err == nil || !strings.Contains(err.Error(), "422") {
			t.Fatalf("deleting %s: %v", ev.Branch, err)
		}
	}

	// merge request: opened (its branch listed), then merged with a push.
	n = len(got())
	res = send("merge-request", ControlEvent{Project: proj.PathWithNamespace, Title: "Live change"})
	wantDeliveries(res, n, "Merge Request Hook"+groupAt, "System Hook"+system)
	mrs := s.MergeRequests()[mrsBefore:]
	if len(mrs) != 1 {
		t.Fatalf("%d new merge requests", len(mrs))
	}
	mr := apiJSON(fmt.Sprintf("projects/%d/merge_requests/%d", proj.ID, mrs[0].IID))
	if mr["state"] != "opened" || mr["title"] != "Live change" || got()[n].body["object_attributes"].(map[string]any)["action"] != "open" {
		t.Fatalf("opened merge request: %v", mr)
	}
	apiJSON(fmt.Sprintf("projects/%d/repository/branches/%s", proj.ID, mrs[0].SourceBranch))
	n = len(got())
	res = send("merge-request", ControlEvent{Project: proj.PathWithNamespace, Action: "merge", IID: mrs[0].IID})
	wantDeliveries(res, n, "Merge Request Hook"+groupAt, "System Hook"+system, "Push Hook"+groupAt, "System Hook"+system)
	if mr = apiJSON(fmt.Sprintf("projects/%d/merge_requests/%d", proj.ID, mrs[0].IID)); mr["state"] != "merged" || mr["merged_at"] == nil {
		t.Fatalf("merged merge request: %v", mr)
	}
	if _, err := SendEvent(ctx, base, admin, "merge-request", ControlEvent{Project: proj.PathWithNamespace, Action: "merge", IID: mrs[0].IID}); err == nil || !strings.Contains(err.Error(), "is merged") {
		t.Fatalf("merging twice: %v", err)
	}

	// issue and pipeline: group hooks only (system hooks have no such event).
	n = len(got())
	res = send("issue", ControlEvent{Project: proj.PathWithNamespace, Title: "Live issue"})
	wantDeliveries(res, n, "Issue Hook"+groupAt)
	iid := got()[n].body["object_attributes"].(map[string]any)["iid"]
	if is := apiJSON(fmt.Sprintf("projects/%d/issues/%v", proj.ID, iid)); is["title"] != "Live issue" || is["state"] != "opened" {
		t.Fatalf("issue: %v", is)
	}
	n = len(got())
	res = send("pipeline", ControlEvent{Project: proj.PathWithNamespace, Status: "failed"})
	wantDeliveries(res, n, "Pipeline Hook"+groupAt)
	attrs := got()[n].body["object_attributes"].(map[string]any)
	head = apiJSON(fmt.Sprintf("projects/%d/repository/branches/main", proj.ID))["commit"].(map[string]any)["id"]
	pl := apiJSON(fmt.Sprintf("projects/%d/pipelines/%v", proj.ID, attrs["id"]))
	if pl["status"] != "failed" || pl["sha"] != head || pl["ref"] != "main" || attrs["sha"] != head {
		t.Fatalf("pipeline %v (head %v)", pl, head)
	}

	// project: created with a README in a group, like GitLab's UI does.
	n = len(got())
	res = send("project", ControlEvent{Group: root.FullPath, Name: "LiveService"})
	wantDeliveries(res, n, "Project Hook"+groupAt, "System Hook"+system, "Push Hook"+groupAt, "System Hook"+system)
	if p := apiJSON("projects/" + url.PathEscape(root.FullPath+"/LiveService")); p["name"] != "LiveService" {
		t.Fatalf("created project: %v", p)
	}

	// Refusals: unknown kind, missing project, an archived project, a typo.
	for _, c := range []struct {
		kind string
		ev   ControlEvent
		want string
	}{
		{"deploy", ControlEvent{Project: proj.PathWithNamespace}, "404"},
		{"push", ControlEvent{Project: "nope/nothing"}, "404"},
		{"push", ControlEvent{}, "400"},
		{"pipeline", ControlEvent{Project: proj.PathWithNamespace, Status: "great"}, "422"},
		{"project", ControlEvent{Group: root.FullPath, Name: "LiveService"}, "409"},
	} {
		if _, err := SendEvent(ctx, base, admin, c.kind, c.ev); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s %+v: %v, want %s", c.kind, c.ev, err, c.want)
		}
	}
	if archived.ID != 0 {
		if _, err := SendEvent(ctx, base, admin, "push", ControlEvent{Project: archived.PathWithNamespace}); err == nil || !strings.Contains(err.Error(), "archived") {
			t.Fatalf("push to an archived project: %v", err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, base+ControlPrefix+"events/push", strings.NewReader(`{"projekt":"x"}`))
	req.Header.Set("PRIVATE-TOKEN", admin)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown field: %v %v", r, err)
	}

	if len(gotOther()) != 0 {
		t.Fatalf("another root's hook got %d deliveries", len(gotOther()))
	}
	// With a control token set, the seeded admin token no longer works:
	// anyone who knows the seed could compute it.
	s.SetControlToken("control-0123456789abcdefghijklmnopqrstu")
	if _, err := SendEvent(ctx, base, admin, "issue", ControlEvent{Project: proj.PathWithNamespace}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("the seeded admin token with a control token set: %v", err)
	}
	s.AddToken(Token{Value: "control-0123456789abcdefghijklmnopqrstu", Kind: AdminToken})
	admin = "control-0123456789abcdefghijklmnopqrstu"
	send("issue", ControlEvent{Project: proj.PathWithNamespace})

	// A GitLab that is down still takes control requests: faults
	// simulate the API, not the harness driving it.
	s.SetFaults(Faults{Down: true})
	send("issue", ControlEvent{Project: proj.PathWithNamespace})
}
