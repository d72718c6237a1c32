package gitlabtest

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestRepositoryEndpoints(t *testing.T) {
	s, org, api := setup(t, 30)
	var p ProjectInfo
	for _, x := range s.Projects() {
		if !x.EmptyRepo && strings.HasSuffix(x.Name, "Service") && x.ID%3 == 0 {
			p = x
			break
		}
	}
	if p.ID == 0 {
		t.Skip("no suitable project in this seed")
	}
	base := api + "/projects/" + strconv.FormatInt(p.ID, 10)
	tok := org.AdminToken
	// Keyset pages of the recursive tree cover every entry once.
	seen := map[string]bool{}
	next := base + "/repository/tree?recursive=true&per_page=3&pagination=keyset"
	for next != "" {
		resp, body := get(t, next, tok)
		for _, e := range decodeList(t, body) {
			if seen[e["path"].(string)] {
				t.Fatalf("%s twice", e["path"])
			}
			seen[e["path"].(string)] = true
		}
		next = ""
		if l := resp.Header.Get("Link"); l != "" {
			next = l[1:strings.Index(l, ">")]
		}
	}
	if !seen["internal/handler"] || !seen["port.yml"] || !seen["deploy/k8s.yaml"] {
		t.Fatalf("tree %v", seen)
	}
	resp, body := get(t, base+"/repository/files/"+url.PathEscape("deploy/k8s.yaml")+"/raw?ref=main", tok)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "---") {
		t.Fatalf("raw file: %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, base+"/repository/files/nope.txt/raw", tok)
	if resp.StatusCode != 404 {
		t.Fatalf("missing file: %d", resp.StatusCode)
	}
	_, body = get(t, base+"/languages", tok)
	var langs map[string]float64
	_ = json.Unmarshal(body, &langs)
	if langs["Go"] == 0 {
		t.Fatalf("languages %v", langs)
	}
	_, body = get(t, base+"/search?scope=blobs&search=TODO", tok)
	if hits := decodeList(t, body); len(hits) != 1 || hits[0]["path"] != "internal/handler/handler.go" {
		t.Fatalf("search %v", hits)
	}
	resp, body = get(t, api+"/groups/"+org.Roots[0].Path+"/search?scope=blobs&search=TODO", org.RootTokens[0])
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Elasticsearch") {
		t.Fatalf("group blob search without advanced search: %d %s", resp.StatusCode, body)
	}
	_, body = get(t, base+"/repository/branches/main", tok)
	var br map[string]any
	_ = json.Unmarshal(body, &br)
	if br["default"] != true {
		t.Fatalf("branch %v", br)
	}
	_, body = get(t, base+"/deployments", tok)
	if d := decodeList(t, body); len(d) != 2 || d[0]["environment"].(map[string]any)["name"] != "staging" {
		t.Fatalf("deployments %v", d)
	}
	_, body = get(t, base+"/members", tok)
	direct := decodeList(t, body)
	_, body = get(t, base+"/members/all", tok)
	if all := decodeList(t, body); len(direct) != 0 || len(all) == 0 {
		t.Fatalf("members direct %d all %d", len(direct), len(all))
	}
}

// TestReadsAtCommits checks that a push's before and after commits keep
// the files as they were, as GitLab's ref parameter does.
func TestReadsAtCommits(t *testing.T) {
	s, org, api := setup(t, 5)
	p := s.Projects()[0]
	raw := func(ref string) (int, string) {
		resp, body := get(t, api+"/projects/"+strconv.FormatInt(p.ID, 10)+"/repository/files/notes.txt/raw?ref="+ref, org.AdminToken)
		return resp.StatusCode, string(body)
	}
	push := func(content string) (before, after string) {
		ds := s.PushFile(context.Background(), p.ID, "notes.txt", content)
		if len(ds) == 0 {
			t.Fatal("no delivery")
		}
		var body struct{ Before, After string }
		if err := json.Unmarshal(ds[0].Body, &body); err != nil {
			t.Fatal(err)
		}
		return body.Before, body.After
	}
	for _, r := range org.Roots {
		s.AddHook(Hook{GroupID: r.ID, URL: "http://127.0.0.1:1/hook", Events: map[string]bool{"push_events": true}})
	}
	before1, after1 := push("one")
	before2, after2 := push("two")
	if before2 != after1 {
		t.Fatalf("the second push starts at %s, not at the first one's %s", before2, after1)
	}
	for ref, want := range map[string]string{before1: "404", after1: "one", after2: "two", "main": "two"} {
		status, body := raw(ref)
		if want == "404" && status != 404 || want != "404" && body != want {
			t.Errorf("at %s: %d %q, want %s", ref, status, body, want)
		}
	}
	if status, body := raw(strings.Repeat("ab", 20)); status != 404 || !strings.Contains(body, "Commit Not Found") {
		t.Errorf("unknown commit: %d %s", status, body)
	}
}

// TestProjectJobsKeyset walks a project's jobs newest first with GitLab's
// cursor keyset pagination and checks the generated activity.
func TestProjectJobsKeyset(t *testing.T) {
	s := New(Options{})
	org := s.Generate(OrgSpec{Roots: 1, Projects: 40, Depth: 2, Seed: 7, Activity: true})
	ts := s.Start(t)
	var p ProjectInfo
	for _, x := range s.Projects() {
		if !x.EmptyRepo {
			p = x
			break
		}
	}
	base := ts.URL + "/api/v4/projects/" + strconv.FormatInt(p.ID, 10) + "/jobs"
	if resp, _ := get(t, base+"?pagination=keyset&order_by=id&sort=asc", org.AdminToken); resp.StatusCode != 405 {
		t.Fatalf("keyset ascending: %d, want 405 as GitLab", resp.StatusCode)
	}
	_, body := get(t, base+"?per_page=100", org.AdminToken)
	all := decodeList(t, body)
	if len(all) < 3 {
		t.Fatalf("activity gave %d jobs", len(all))
	}
	var walked []map[string]any
	next := base + "?pagination=keyset&per_page=2"
	for next != "" {
		resp, body := get(t, next, org.AdminToken)
		walked = append(walked, decodeList(t, body)...)
		next = ""
		if l := resp.Header.Get("Link"); l != "" {
			next = l[1:strings.Index(l, ">")]
		}
	}
	if len(walked) != len(all) {
		t.Fatalf("keyset walk gave %d jobs, offset %d", len(walked), len(all))
	}
	for i := range all {
		if walked[i]["id"] != all[i]["id"] || i > 0 && all[i]["id"].(float64) > all[i-1]["id"].(float64) {
			t.Fatalf("job %d: keyset %v, offset %v (newest first)", i, walked[i]["id"], all[i]["id"])
		}
	}
}
