package gitlabtest

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func send(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("PRIVATE-TOKEN", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func paths(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	for _, p := range decodeList(t, body) {
		out = append(out, p["path_with_namespace"].(string))
	}
	return out
}

// TestPersonalNamespaces: a user's personal project is listed as GitLab
// lists it (namespace.kind "user", full path username/project) to its
// owner's personal access token (membership, owned and all_available
// alike) and to an admin (but not in the admin's owned projects), never to
// a group token; the personal namespace is not a group.
func TestPersonalNamespaces(t *testing.T) {
	s, org, api := setup(t, 3)
	ns := s.AddUser(0, "alice", "Alice Liddell")
	p := s.AddProject(ns, "notes")
	s.AddToken(Token{Value: "glpat-alice", Kind: PersonalToken, UserID: ns.OwnerID})

	for _, q := range []string{"?owned=true&all_available=true", "?membership=true", ""} {
		resp, body := get(t, api+"/projects"+q, "glpat-alice")
		if got := paths(t, body); resp.StatusCode != 200 || len(got) != 1 || got[0] != "alice/notes" {
			t.Fatalf("alice %s: %d %v", q, resp.StatusCode, got)
		}
		ns := decodeList(t, body)[0]["namespace"].(map[string]any)
		if ns["kind"] != "user" || ns["full_path"] != "alice" || ns["parent_id"] != nil {
			t.Fatalf("namespace: %v", ns)
		}
	}
	if _, body := get(t, api+"/projects?owned=true&all_available=true", org.AdminToken); len(paths(t, body)) != 0 {
		t.Fatalf("admin owns alice's project: %v", paths(t, body))
	}
	if _, body := get(t, api+"/projects", org.AdminToken); !strings.Contains(string(body), `"alice/notes"`) {
		t.Fatal("admin does not see alice's project")
	}
	if _, body := get(t, api+"/projects?membership=true", org.RootTokens[0]); strings.Contains(string(body), "alice/") {
		t.Fatal("a group token sees alice's project")
	}
	if resp, _ := get(t, api+"/groups/alice", "glpat-alice"); resp.StatusCode != 404 {
		t.Fatalf("personal namespace served as a group: %d", resp.StatusCode)
	}
	if _, body := get(t, api+"/groups", org.AdminToken); strings.Contains(string(body), `"alice"`) {
		t.Fatal("personal namespace listed among groups")
	}
	_, body := get(t, api+"/user", "glpat-alice")
	if !strings.Contains(string(body), `"username":"alice"`) || strings.Contains(string(body), "is_admin") {
		t.Fatalf("user: %s", body)
	}
	if resp, body := get(t, api+"/projects/alice%2Fnotes", "glpat-alice"); resp.StatusCode != 200 || !strings.Contains(string(body), `"id":`+strconv.FormatInt(p.ID, 10)) {
		t.Fatalf("project by path: %d %s", resp.StatusCode, body)
	}
}

// TestProjectHooks: the project hooks API answers as GitLab's
// project_webhooks API (every project flag, token write-only, group-only
// flags absent), delivers the project's events to the hook with the
// headers group hooks get, and refuses writes from a read_api token and
// every call from a token without Maintainer on the project.
func TestProjectHooks(t *testing.T) {
	s, org, api := setup(t, 3)
	ns := s.AddUser(0, "alice", "Alice Liddell")
	p := s.AddProject(ns, "notes")
	s.AddToken(Token{Value: "glpat-alice", Kind: PersonalToken, UserID: ns.OwnerID})
	s.AddToken(Token{Value: "glpat-alice-ro", Kind: PersonalToken, UserID: ns.OwnerID, Scopes: []string{"read_api"}})
	rcv, got := receiver(t)
	base := api + "/projects/" + strconv.FormatInt(p.ID, 10) + "/hooks"

	code, h := send(t, http.MethodPost, base, "glpat-alice", `{"url":"`+rcv.URL+`/integration/project/hook/1","token":"s3cret","push_events":true,"merge_requests_events":true,"subgroup_events":true}`)
	if code != 201 || h["token"] != nil || h["project_id"] != float64(p.ID) || h["group_id"] != nil || h["merge_requests_events"] != true {
		t.Fatalf("create: %d %v", code, h)
	}
	for _, f := range projectHookEvents {
		if _, ok := h[f]; !ok {
			t.Errorf("flag %s missing", f)
		}
	}
	for _, f := range []string{"subgroup_events", "member_events", "project_events"} {
		if _, ok := h[f]; ok {
			t.Errorf("group-only flag %s present", f)
		}
	}
	id := strconv.FormatFloat(h["id"].(float64), 'f', 0, 64)
	if code, h = send(t, http.MethodPut, base+"/"+id, "glpat-alice", `{"issues_events":true}`); code != 200 || h["issues_events"] != true || h["push_events"] != true {
		t.Fatalf("update: %d %v", code, h)
	}
	if resp, body := get(t, base, "glpat-alice"); resp.StatusCode != 200 || len(decodeList(t, body)) != 1 {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	// Not listed as a system hook.
	if _, body := get(t, api+"/hooks", org.AdminToken); strings.Contains(string(body), rcv.URL) {
		t.Fatalf("project hook listed among system hooks: %s", body)
	}

	ds := s.Push(context.Background(), p.ID)
	if len(ds) != 1 || ds[0].Status != 202 {
		t.Fatalf("push deliveries: %v", ds)
	}
	c := got()[0]
	if c.header.Get("X-Gitlab-Event") != "Push Hook" || c.header.Get("X-Gitlab-Token") != "s3cret" || c.body["project_id"] != float64(p.ID) ||
		c.body["project"].(map[string]any)["path_with_namespace"] != "alice/notes" {
		t.Fatalf("delivery: %v %v", c.header, c.body)
	}
	// Another project's push does not reach it.
	other := s.Projects()[0]
	for _, d := range s.Push(context.Background(), other.ID) {
		if strings.HasPrefix(d.URL, rcv.URL) {
			t.Fatalf("other project's push delivered to the project hook: %v", d)
		}
	}

	if code, h = send(t, http.MethodPost, base, "glpat-alice-ro", `{"url":"https://x.example.com/h"}`); code != 403 || h["error"] != "insufficient_scope" {
		t.Fatalf("read_api create: %d %v", code, h)
	}
	if resp, _ := get(t, base, org.RootTokens[0]); resp.StatusCode != 404 {
		t.Fatalf("a token that cannot see the project: %d", resp.StatusCode)
	}
	if code, _ = send(t, http.MethodPost, base+"/"+id+"/test/push_events", "glpat-alice", ""); code != 201 {
		t.Fatalf("test hook: %d", code)
	}
	if code, _ = send(t, http.MethodDelete, base+"/"+id, "glpat-alice", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if resp, _ := get(t, base+"/"+id, "glpat-alice"); resp.StatusCode != 404 {
		t.Fatalf("after delete: %d", resp.StatusCode)
	}
}
