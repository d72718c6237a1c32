package gitlabtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func setup(t *testing.T, projects int) (*Server, Org, string) {
	s := New(Options{})
	org := s.Generate(OrgSpec{Roots: 2, Projects: projects, Depth: 3, Seed: 1})
	ts := s.Start(t)
	return s, org, ts.URL + "/api/v4"
}

func TestAuth(t *testing.T) {
	_, org, api := setup(t, 10)
	resp, body := get(t, api+"/groups", "")
	if resp.StatusCode != 401 || strings.TrimSpace(string(body)) != `{"message":"401 Unauthorized"}` {
		t.Fatalf("no token: %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, api+"/groups", "glpat-unknown")
	if resp.StatusCode != 401 {
		t.Fatalf("unknown token: %d", resp.StatusCode)
	}
	// Bearer works too.
	req, _ := http.NewRequest(http.MethodGet, api+"/user", nil)
	req.Header.Set("Authorization", "Bearer "+org.RootTokens[0])
	r2, err := http.DefaultClient.Do(req)
	if err != nil || r2.StatusCode != 200 {
		t.Fatalf("bearer: %v %v", err, r2.StatusCode)
	}
	r2.Body.Close()
	// A group token cannot see the other root: 404 like GitLab.
	other := org.Roots[1]
	resp, body = get(t, api+"/groups/"+other.Path, org.RootTokens[0])
	if resp.StatusCode != 404 || !strings.Contains(string(body), "404 Group Not Found") {
		t.Fatalf("foreign group: %d %s", resp.StatusCode, body)
	}
	// The same group by URL-encoded full path and by id.
	team := org.Roots[0].Path + "%2FDevopsTeam"
	resp, body = get(t, api+"/groups/"+team, org.RootTokens[0])
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"full_path":"acme/DevopsTeam"`) {
		t.Fatalf("group by path: %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, api+"/groups/"+strconv.FormatInt(org.Roots[1].ID, 10), org.AdminToken)
	if resp.StatusCode != 200 {
		t.Fatalf("admin sees all: %d", resp.StatusCode)
	}
	resp, _ = get(t, api+"/hooks", org.RootTokens[0])
	if resp.StatusCode != 403 {
		t.Fatalf("system hooks need admin: %d", resp.StatusCode)
	}
}

func TestOffsetPagination(t *testing.T) {
	s, org, api := setup(t, 260)
	root := org.Roots[0]
	want := org.ProjectsPer[root.Path]
	for _, p := range s.Projects() { // shared into root 0
		for _, g := range p.SharedWith {
			if g == root.ID {
				want++
			}
		}
	}
	seen := map[float64]bool{}
	for page := 1; ; page++ {
		resp, body := get(t, api+"/groups/"+strconv.FormatInt(root.ID, 10)+"/projects?include_subgroups=true&per_page=100&order_by=id&sort=asc&page="+strconv.Itoa(page), org.RootTokens[0])
		if resp.StatusCode != 200 {
			t.Fatalf("page %d: %d", page, resp.StatusCode)
		}
		if resp.Header.Get("X-Total") != strconv.Itoa(want) {
			t.Fatalf("X-Total = %q, want %d", resp.Header.Get("X-Total"), want)
		}
		if resp.Header.Get("X-Page") != strconv.Itoa(page) || resp.Header.Get("X-Per-Page") != "100" {
			t.Fatalf("page headers: %v", resp.Header)
		}
		var items []map[string]any
		if err := json.Unmarshal(body, &items); err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			seen[it["id"].(float64)] = true
			if it["namespace"].(map[string]any)["full_path"] == nil || it["path_with_namespace"] == "" {
				t.Fatalf("project shape: %v", it)
			}
		}
		if resp.Header.Get("X-Next-Page") == "" {
			if !strings.Contains(resp.Header.Get("Link"), `rel="last"`) {
				t.Fatalf("Link without last: %s", resp.Header.Get("Link"))
			}
			break
		}
		if !strings.Contains(resp.Header.Get("Link"), `rel="next"`) {
			t.Fatalf("Link without next: %s", resp.Header.Get("Link"))
		}
	}
	if len(seen) != want {
		t.Fatalf("saw %d projects, want %d", len(seen), want)
	}
}

func TestKeysetPagination(t *testing.T) {
	_, org, api := setup(t, 250)
	url := api + "/projects?pagination=keyset&order_by=id&sort=asc&per_page=100"
	total := 0
	last := 0.0
	for url != "" {
		resp, body := get(t, url, org.AdminToken)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if resp.Header.Get("X-Total") != "" {
			t.Fatal("keyset pages carry no totals")
		}
		var items []map[string]any
		_ = json.Unmarshal(body, &items)
		for _, it := range items {
			if id := it["id"].(float64); id <= last {
				t.Fatalf("ids not ascending: %v after %v", id, last)
			} else {
				last = id
			}
		}
		total += len(items)
		url = ""
		if l := resp.Header.Get("Link"); l != "" {
			url = l[1:strings.Index(l, ">")]
		}
	}
	if total != 250 {
		t.Fatalf("keyset total %d, want 250", total)
	}
	resp, _ := get(t, api+"/projects?pagination=keyset&order_by=name", org.AdminToken)
	if resp.StatusCode != 405 {
		t.Fatalf("unsupported keyset order: %d", resp.StatusCode)
	}
}

func TestTotalsOmittedAboveTenThousand(t *testing.T) {
	s := New(Options{})
	g := s.AddGroup(nil, "big")
	for i := 0; i < 10001; i++ {
		s.AddProject(g, "p"+strconv.Itoa(i))
	}
	s.AddToken(Token{Value: "glpat-bigbigbigbig", Kind: GroupAccessToken, GroupID: g.ID})
	ts := s.Start(t)
	resp, _ := get(t, ts.URL+"/api/v4/groups/big/projects?per_page=100", "glpat-bigbigbigbig")
	if resp.Header.Get("X-Total") != "" || resp.Header.Get("X-Total-Pages") != "" || resp.Header.Get("X-Next-Page") != "2" {
		t.Fatalf("headers above 10k: %v", resp.Header)
	}
}

func TestRateLimit(t *testing.T) {
	s, org, api := setup(t, 5)
	s.SetRateLimit(3, time.Minute)
	for i := 0; i < 3; i++ {
		resp, _ := get(t, api+"/user", org.RootTokens[0])
		if resp.StatusCode != 200 || resp.Header.Get("RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d remaining=%s", i, resp.StatusCode, resp.Header.Get("RateLimit-Remaining"))
		}
	}
	resp, _ := get(t, api+"/user", org.RootTokens[0])
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("RateLimit-Reset") == "" || resp.Header.Get("RateLimit-Limit") != "3" {
		t.Fatalf("over limit: %d %v", resp.StatusCode, resp.Header)
	}
	// Limits are per token.
	resp, _ = get(t, api+"/user", org.RootTokens[1])
	if resp.StatusCode != 200 {
		t.Fatalf("other token limited: %d", resp.StatusCode)
	}
	counts, total := s.Requests()
	if counts["GET /user"] != 5 || total != 5 {
		t.Fatalf("counters: %v %d", counts, total)
	}
}

func TestFaults(t *testing.T) {
	s, org, api := setup(t, 5)
	s.SetFaults(Faults{FailRoutes: map[string]int{"GET /projects": 500}})
	resp, _ := get(t, api+"/projects", org.AdminToken)
	if resp.StatusCode != 500 {
		t.Fatalf("fail route: %d", resp.StatusCode)
	}
	s.SetFaults(Faults{ResetRate: 1})
	req, _ := http.NewRequest(http.MethodGet, api+"/user", nil)
	req.Header.Set("PRIVATE-TOKEN", org.AdminToken)
	if r, err := http.DefaultClient.Do(req); err == nil {
		r.Body.Close()
		t.Fatal("expected a connection error")
	}
}

func TestHooksCRUD(t *testing.T) {
	_, org, api := setup(t, 5)
	body := `{"url":"https://glsync.example.com/integration/hook/1","token":"s3cret","push_events":true,"merge_requests_events":true,"member_events":true}`
	req, _ := http.NewRequest(http.MethodPost, api+"/groups/acme/hooks", strings.NewReader(body))
	req.Header.Set("PRIVATE-TOKEN", org.RootTokens[0])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v %d", err, resp.StatusCode)
	}
	var h map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h["token"] != nil || h["merge_requests_events"] != true || h["issues_events"] != false || h["enable_ssl_verification"] != true {
		t.Fatalf("hook shape: %v", h)
	}
	id := strconv.FormatFloat(h["id"].(float64), 'f', 0, 64)
	req, _ = http.NewRequest(http.MethodPut, api+"/groups/acme/hooks/"+id, strings.NewReader(`{"issues_events":true}`))
	req.Header.Set("PRIVATE-TOKEN", org.RootTokens[0])
	req.Header.Set("Content-Type", "application/json")
	resp, _ = http.DefaultClient.Do(req)
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h["issues_events"] != true || h["merge_requests_events"] != true {
		t.Fatalf("update: %v", h)
	}
	req, _ = http.NewRequest(http.MethodDelete, api+"/groups/acme/hooks/"+id, nil)
	req.Header.Set("PRIVATE-TOKEN", org.RootTokens[0])
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	resp, body2 := get(t, api+"/groups/acme/hooks/"+id, org.RootTokens[0])
	if resp.StatusCode != 404 || strings.TrimSpace(string(body2)) != `{"message":"404 Hook Not Found"}` {
		t.Fatalf("get after delete: %d %s", resp.StatusCode, body2)
	}
}

// TestHooksOfAGroupTheTokenCannotSee: a valid token that cannot see the
// group gets GitLab's 404 Group Not Found on the group's hooks, by id
// and by path, exactly as for the group itself; never the hooks, never a
// 403. The Terraform resources tell this apart from a hook that is gone
// (404 Hook Not Found) by reading the group.
func TestHooksOfAGroupTheTokenCannotSee(t *testing.T) {
	sim, org, api := setup(t, 5)
	h := sim.AddHook(Hook{GroupID: org.Roots[0].ID, URL: "https://glsync.example.com/integration/hook/1", Events: map[string]bool{"push_events": true}})
	gid := strconv.FormatInt(org.Roots[0].ID, 10)
	for _, p := range []string{"/groups/" + gid + "/hooks/" + strconv.FormatInt(h.ID, 10), "/groups/" + gid + "/hooks", "/groups/" + org.Roots[0].Path + "/hooks", "/groups/" + gid} {
		resp, body := get(t, api+p, org.RootTokens[1])
		if resp.StatusCode != 404 || strings.TrimSpace(string(body)) != `{"message":"404 Group Not Found"}` {
			t.Fatalf("GET %s with another root's token: %d %s", p, resp.StatusCode, body)
		}
	}
	resp, _ := get(t, api+"/groups/"+gid+"/hooks/"+strconv.FormatInt(h.ID, 10), org.RootTokens[0])
	if resp.StatusCode != 200 {
		t.Fatalf("the group's own token: %d", resp.StatusCode)
	}
}

func decodeList(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return out
}

func TestGroupListings(t *testing.T) {
	s, org, api := setup(t, 40)
	tok := org.RootTokens[0]
	root := org.Roots[0]
	// A group token lists its subtree; top_level_only keeps its root.
	_, body := get(t, api+"/groups?per_page=100", tok)
	all := decodeList(t, body)
	_, body = get(t, api+"/groups?top_level_only=true", tok)
	top := decodeList(t, body)
	if len(top) != 1 || top[0]["full_path"] != root.FullPath || top[0]["parent_id"] != nil {
		t.Fatalf("top_level_only: %v", top)
	}
	// The admin sees both roots; all_available adds public groups of others.
	_, body = get(t, api+"/groups?top_level_only=true", org.AdminToken)
	if n := len(decodeList(t, body)); n != 2 {
		t.Fatalf("admin top level: %d", n)
	}
	// min_access_level above the bot's role filters everything out.
	s.AddToken(Token{Value: "glpat-reporterreporter", Kind: GroupAccessToken, GroupID: root.ID, AccessLevel: 20})
	_, body = get(t, api+"/groups?min_access_level=30", "glpat-reporterreporter")
	if n := len(decodeList(t, body)); n != 0 {
		t.Fatalf("min_access_level=30 for a reporter: %d groups", n)
	}
	_, body = get(t, api+"/groups?min_access_level=20&per_page=100", "glpat-reporterreporter")
	if n := len(decodeList(t, body)); n != len(all) {
		t.Fatalf("min_access_level=20 for a reporter: %d groups, want %d", n, len(all))
	}
	// subgroups are direct children, descendant_groups the whole subtree.
	_, body = get(t, api+"/groups/"+root.Path+"/subgroups?per_page=100", tok)
	subs := decodeList(t, body)
	_, body = get(t, api+"/groups/"+root.Path+"/descendant_groups?per_page=100", tok)
	desc := decodeList(t, body)
	for _, g := range subs {
		if g["parent_id"].(float64) != float64(root.ID) {
			t.Fatalf("subgroup %v is not a direct child", g["full_path"])
		}
	}
	if len(desc) != len(all)-1 || len(subs) >= len(desc) {
		t.Fatalf("descendants %d (want %d), subgroups %d", len(desc), len(all)-1, len(subs))
	}
}

func TestProjectFilters(t *testing.T) {
	s, org, api := setup(t, 80)
	root := org.Roots[0]
	var archived int
	for _, p := range s.Projects() {
		if p.Archived && strings.HasPrefix(p.PathWithNamespace, root.FullPath+"/") {
			archived++
		}
	}
	if archived == 0 {
		t.Fatal("the generator should archive some projects")
	}
	base := api + "/groups/" + root.Path + "/projects?include_subgroups=true&with_shared=false&per_page=100"
	_, body := get(t, base+"&archived=true", org.RootTokens[0])
	if n := len(decodeList(t, body)); n != archived {
		t.Fatalf("archived=true: %d, want %d", n, archived)
	}
	_, body = get(t, base, org.RootTokens[0])
	if n := len(decodeList(t, body)); n != org.ProjectsPer[root.FullPath] {
		t.Fatalf("all: %d, want %d", n, org.ProjectsPer[root.FullPath])
	}
	_, body = get(t, api+"/groups/"+root.Path+"/projects?per_page=100", org.RootTokens[0])
	direct := decodeList(t, body)
	for _, p := range direct {
		ns := p["namespace"].(map[string]any)["full_path"]
		shared := len(p["shared_with_groups"].([]any)) > 0
		if ns != root.FullPath && !shared {
			t.Fatalf("without include_subgroups: %v", ns)
		}
	}
	_, body = get(t, base+"&simple=true", org.RootTokens[0])
	if p := decodeList(t, body)[0]; p["archived"] != nil || p["path_with_namespace"] == nil {
		t.Fatalf("simple=true shape: %v", p)
	}
	resp, body := get(t, api+"/personal_access_tokens/self", org.RootTokens[0])
	var self map[string]any
	_ = json.Unmarshal(body, &self)
	if resp.StatusCode != 200 || self["active"] != true || self["scopes"].([]any)[0] != "api" {
		t.Fatalf("token self: %d %v", resp.StatusCode, self)
	}
	resp, _ = get(t, api+"/projects/"+strconv.FormatInt(s.Projects()[0].ID, 10), "glpat-unknown")
	if resp.StatusCode != 401 {
		t.Fatalf("unknown token: %d", resp.StatusCode)
	}
}

func TestSystemHooksAdmin(t *testing.T) {
	s, org, api := setup(t, 5)
	req, _ := http.NewRequest(http.MethodPost, api+"/hooks", strings.NewReader(`{"url":"https://glsync.example.com/integration/system/hook","token":"t0ps3cret","merge_requests_events":true,"repository_update_events":true}`))
	req.Header.Set("PRIVATE-TOKEN", org.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
	_, body := get(t, api+"/hooks", org.AdminToken)
	hooks := decodeList(t, body)
	if len(hooks) != 1 || hooks[0]["repository_update_events"] != true || hooks[0]["group_id"] != nil || hooks[0]["token"] != nil {
		t.Fatalf("system hooks: %v", hooks)
	}
	if h := s.Hooks(); len(h) != 1 || h[0].Token != "t0ps3cret" {
		t.Fatal("the secret must be kept server-side")
	}
	req, _ = http.NewRequest(http.MethodPost, api+"/hooks", strings.NewReader(`{"url":"not a url"}`))
	req.Header.Set("PRIVATE-TOKEN", org.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 422 {
		t.Fatalf("invalid url: %d", resp.StatusCode)
	}
}

// TestHookFidelity: hook fields the simulator does not deliver are stored
// and returned, custom headers and URL variables come back as keys only,
// a URL change without a token drops the secret, and failing deliveries
// disable a hook as GitLab does.
func TestHookFidelity(t *testing.T) {
	s := New(Options{Seed: 1})
	org := s.Generate(OrgSpec{Roots: 1, Projects: 5, Depth: 1, Seed: 1})
	ts := s.Start(t)
	c := &http.Client{}
	do := func(method, path, body string) map[string]any {
		req, _ := http.NewRequest(method, ts.URL+"/api/v4/"+path, strings.NewReader(body))
		req.Header.Set("PRIVATE-TOKEN", org.RootTokens[0])
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	gid := org.Roots[0].ID
	h := do(http.MethodPost, fmt.Sprintf("groups/%d/hooks", gid), `{"url":"http://127.0.0.1:1/a","token":"s3cret","emoji_events":true,"future_events":true,"custom_headers":[{"key":"X-A","value":"v"}],"url_variables":[{"key":"k","value":"v"}]}`)
	id := int64(h["id"].(float64))
	if h["emoji_events"] != true || h["future_events"] != true {
		t.Fatalf("flags not kept: %v", h)
	}
	if hs := h["custom_headers"].([]any); len(hs) != 1 || hs[0].(map[string]any)["key"] != "X-A" || hs[0].(map[string]any)["value"] != nil {
		t.Fatalf("custom headers: %v", h["custom_headers"])
	}
	do(http.MethodPut, fmt.Sprintf("groups/%d/hooks/%d", gid, id), `{"url":"http://127.0.0.1:1/b"}`)
	if tok := s.Hooks()[0].Token; tok != "" {
		t.Fatal("the secret survived a URL change without a token")
	}
	for i := 0; i < 4; i++ {
		s.PushFile(context.Background(), s.Projects()[0].ID, "x.txt", fmt.Sprint(i)) // delivery fails: nothing listens
	}
	got := do(http.MethodGet, fmt.Sprintf("groups/%d/hooks/%d", gid, id), "")
	if got["alert_status"] != "temporarily_disabled" || got["disabled_until"] == nil {
		t.Fatalf("after 4 failures: %v %v", got["alert_status"], got["disabled_until"])
	}
}
