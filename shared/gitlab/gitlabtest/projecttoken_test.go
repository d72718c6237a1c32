package gitlabtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestProjectAccessToken: a project access token sees exactly its project
// (listed, readable, searchable), no group (GET /groups is empty, a group
// answers 404 Group Not Found, even its own project's), and no other
// project (404 Project Not Found).
func TestProjectAccessToken(t *testing.T) {
	s := New(Options{})
	g := s.AddGroup(nil, "acme")
	mine := s.AddProject(g, "payments")
	other := s.AddProject(g, "billing")
	s.SetFile(mine.ID, "port.yml", "identifier: payments\n")
	tok := s.AddToken(Token{Value: "glpat-project-token-0001", Kind: ProjectAccessToken, ProjectID: mine.ID, AccessLevel: 40})
	api := s.Start(t).URL + "/api/v4"

	resp, body := get(t, api+"/projects?membership=true", tok.Value)
	var ps []map[string]any
	if err := json.Unmarshal(body, &ps); err != nil || resp.StatusCode != 200 || len(ps) != 1 || ps[0]["path_with_namespace"] != "acme/payments" {
		t.Fatalf("projects: %d %s", resp.StatusCode, body)
	}
	if resp, body = get(t, api+"/groups", tok.Value); resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("groups: %d %s", resp.StatusCode, body)
	}
	for _, p := range []string{fmt.Sprintf("/groups/%d", g.ID), "/groups/acme", fmt.Sprintf("/groups/%d/search?scope=blobs&search=port", g.ID)} {
		if resp, body = get(t, api+p, tok.Value); resp.StatusCode != 404 || !strings.Contains(string(body), "404 Group Not Found") {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	if resp, body = get(t, fmt.Sprintf("%s/projects/%d", api, other.ID), tok.Value); resp.StatusCode != 404 || !strings.Contains(string(body), "404 Project Not Found") {
		t.Fatalf("other project: %d %s", resp.StatusCode, body)
	}
	if resp, body = get(t, fmt.Sprintf("%s/projects/%d/search?scope=blobs&search=filename:port.yml", api, mine.ID), tok.Value); resp.StatusCode != 200 || !strings.Contains(string(body), `"path":"port.yml"`) {
		t.Fatalf("project search: %d %s", resp.StatusCode, body)
	}
	var u map[string]any
	_, body = get(t, api+"/user", tok.Value)
	if err := json.Unmarshal(body, &u); err != nil || u["bot"] != true || !strings.HasPrefix(u["username"].(string), fmt.Sprintf("project_%d_bot_", mine.ID)) {
		t.Fatalf("user: %s", body)
	}
}

// TestFailPaths: a path fault answers its status for that one path; the
// same route for another project still answers.
func TestFailPaths(t *testing.T) {
	s := New(Options{})
	g := s.AddGroup(nil, "acme")
	a, b := s.AddProject(g, "a"), s.AddProject(g, "b")
	s.AddToken(Token{Value: "glpat-admin-000000000001", Kind: AdminToken})
	api := s.Start(t).URL + "/api/v4"
	s.SetFaults(Faults{FailPaths: map[string]int{fmt.Sprintf("GET /projects/%d/repository/tree", a.ID): 404}})
	if resp, _ := get(t, fmt.Sprintf("%s/projects/%d/repository/tree", api, a.ID), "glpat-admin-000000000001"); resp.StatusCode != 404 {
		t.Fatalf("faulted path: %d", resp.StatusCode)
	}
	if resp, body := get(t, fmt.Sprintf("%s/projects/%d/repository/tree", api, b.ID), "glpat-admin-000000000001"); resp.StatusCode != 200 {
		t.Fatalf("other path: %d %s", resp.StatusCode, body)
	}
}
