package gitlabtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestDeclaredValues checks, for every listing whose parameters GitLab
// declares with values:, that a value outside the list is answered as
// Grape answers it (400, {"error":"<param> does not have a valid
// value"}) and one inside is served: the requests glsync's pager once
// sent (order_by=id&sort=asc) among them.
func TestDeclaredValues(t *testing.T) {
	s, org, api := setup(t, 30)
	var pid int64
	for _, p := range s.Projects() {
		if !p.EmptyRepo {
			pid = p.ID
			break
		}
	}
	g := org.Roots[0].ID
	proj := fmt.Sprintf("%s/projects/%d", api, pid)
	grp := fmt.Sprintf("%s/groups/%d", api, g)
	for _, c := range []struct {
		name, path, bad, msg, good string
	}{
		{"groups", api + "/groups", "order_by=created_at", "order_by", "order_by=id&sort=asc"},
		{"subgroups", grp + "/subgroups", "sort=up", "sort", "order_by=path&sort=desc"},
		{"descendant groups", grp + "/descendant_groups", "order_by=id&sort=ascending", "sort", "order_by=name"},
		{"group projects", grp + "/projects", "order_by=title", "order_by", "order_by=id&sort=asc"},
		{"projects", api + "/projects", "order_by=released_at", "order_by", "order_by=id&sort=asc"},
		{"projects visibility", api + "/projects", "visibility=secret", "visibility", "visibility=internal"},
		{"group projects visibility", grp + "/projects", "visibility=everyone", "visibility", "visibility=private"},
		{"issues", api + "/issues", "order_by=id&sort=asc", "order_by", "scope=all&order_by=created_at&sort=asc"},
		{"group issues", grp + "/issues", "order_by=id", "order_by", "order_by=updated_at&sort=desc"},
		{"group issues state", grp + "/issues", "state=merged", "state", "state=all"},
		{"project issues", proj + "/issues", "order_by=id", "order_by", "order_by=title"},
		{"merge requests", api + "/merge_requests", "scope=all&order_by=id&sort=asc", "order_by", "scope=all&order_by=merged_at"},
		{"merge requests scope", api + "/merge_requests", "scope=everything", "scope", "scope=all"},
		{"group merge requests", grp + "/merge_requests", "order_by=id", "order_by", "state=merged"},
		{"project merge requests", proj + "/merge_requests", "sort=newest", "sort", "sort=asc"},
		{"pipelines", proj + "/pipelines", "order_by=created_at", "order_by", "order_by=id&sort=asc"},
		{"deployments", proj + "/deployments", "order_by=environment", "order_by", "order_by=id&sort=asc"},
		{"tags", proj + "/repository/tags", "order_by=id&sort=asc", "order_by", "order_by=version&sort=asc"},
		{"branches", proj + "/repository/branches", "order_by=id&sort=asc", "sort", "sort=updated_desc"},
		{"releases", proj + "/releases", "order_by=id", "order_by", "order_by=created_at&sort=asc"},
		{"group releases", grp + "/releases", "sort=newest", "sort", "sort=asc"},
	} {
		resp, body := get(t, c.path+"?"+c.bad, org.AdminToken)
		var got map[string]any
		_ = json.Unmarshal(body, &got)
		if want := c.msg + " does not have a valid value"; resp.StatusCode != 400 || got["error"] != want {
			t.Errorf("%s ?%s: %d %s, want 400 %q", c.name, c.bad, resp.StatusCode, strings.TrimSpace(string(body)), want)
		}
		if resp, body := get(t, c.path+"?"+c.good, org.AdminToken); resp.StatusCode != 200 {
			t.Errorf("%s ?%s: %d %s, want 200", c.name, c.good, resp.StatusCode, strings.TrimSpace(string(body)))
		}
	}
	// Both refused: Grape names both, in their declaration order.
	resp, body := get(t, proj+"/repository/tags?order_by=id&sort=up", org.AdminToken)
	if want := `{"error":"order_by does not have a valid value, sort does not have a valid value"}`; resp.StatusCode != 400 || strings.TrimSpace(string(body)) != want {
		t.Errorf("tags with two bad values: %d %s, want 400 %s", resp.StatusCode, body, want)
	}
	// Parameters a listing does not declare are ignored, as GitLab
	// ignores them.
	for _, path := range []string{proj + "/labels", proj + "/members/all", grp + "/members", proj + "/hooks", grp + "/hooks"} {
		if resp, body := get(t, path+"?order_by=id&sort=asc", org.AdminToken); resp.StatusCode != 200 {
			t.Errorf("%s?order_by=id&sort=asc: %d %s, want 200", path, resp.StatusCode, body)
		}
	}
}

// TestTagOrders checks that the tag listing serves the orders it accepts
// as TagsFinder does: updated (the default, newest first; asc reverses
// it), name, and version, which compares numbers as numbers.
func TestTagOrders(t *testing.T) {
	s := New(Options{})
	p := s.AddProject(s.AddGroup(nil, "tags"), "app")
	tok := "glpat-tagorderstagorders"
	s.AddToken(Token{Value: tok, Kind: AdminToken, Name: "admin"})
	api := s.Start(t).URL + "/api/v4"
	for _, tag := range []string{"v2.9.0", "v2.10.0", "v2.2.0"} {
		s.PushRef(context.Background(), p.ID, "refs/tags/"+tag, false)
	}
	names := func(query string) []string {
		resp, body := get(t, fmt.Sprintf("%s/projects/%d/repository/tags?%s", api, p.ID, query), tok)
		if resp.StatusCode != 200 {
			t.Fatalf("?%s: %d %s", query, resp.StatusCode, body)
		}
		var out []string
		// Only the pushed tags: the generated ones (v1.x) are not
		// what the orders are checked on.
		for _, it := range decodeList(t, body) {
			if n := it["name"].(string); strings.HasPrefix(n, "v2.") {
				out = append(out, n)
			}
		}
		return out
	}
	def := names("")
	for query, want := range map[string][]string{
		"order_by=updated&sort=desc": def,
		"sort=asc":                   {def[2], def[1], def[0]},
		"order_by=name&sort=asc":     {"v2.10.0", "v2.2.0", "v2.9.0"},
		"order_by=name":              {"v2.9.0", "v2.2.0", "v2.10.0"},
		"order_by=version&sort=asc":  {"v2.2.0", "v2.9.0", "v2.10.0"},
		"order_by=version":           {"v2.10.0", "v2.9.0", "v2.2.0"},
	} {
		if got := names(query); !slices.Equal(got, want) {
			t.Errorf("?%s: %v, want %v", query, got, want)
		}
	}
}
