package crawl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// TestListingsSendWhatGitLabAccepts reads every kind whose listing once
// got order_by=id&sort=asc from the shared pager (pipelines, tags,
// branches, deployments, issues, merge requests), for an admin and a
// group token, against the simulator, which refuses what GitLab's
// declared values refuse. Each listing must send no order of its own, and
// each project's objects must come in GitLab's order, the order Ocean's
// requests (per_page and page only) get them in.
func TestListingsSendWhatGitLabAccepts(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 24, Seed: 5})
	var mu sync.Mutex
	var queries []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	sim.SetBaseURL(ts.URL)
	for _, p := range sim.Projects() {
		if !p.EmptyRepo {
			sim.AddDeployment(p.ID, "production", "success")
			sim.AddDeployment(p.ID, "staging", "success")
			sim.AddPipeline(p.ID, "success")
			sim.AddPipeline(p.ID, "failed")
		}
	}
	// Ocean's reading of a project's listing: every page, per_page=100
	// and nothing else, straight from the simulator.
	ocean := func(tok string, path string) []string {
		var out []string
		for page := 1; ; page++ {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v4/%s?per_page=100&page=%d", ts.URL, path, page), nil)
			req.Header.Set("PRIVATE-TOKEN", tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var items []map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&items)
			resp.Body.Close()
			for _, it := range items {
				out = append(out, key(it))
			}
			if len(items) < 100 {
				return out
			}
		}
	}
	perProject := map[string]string{selector.KindPipeline: "pipelines", selector.KindTag: "repository/tags", selector.KindBranch: "repository/branches", selector.KindDeployment: "deployments"}
	for _, tok := range []string{org.AdminToken, org.RootTokens[0]} {
		s := source(t, ts.URL, tok, "**")
		for _, kind := range []string{selector.KindPipeline, selector.KindTag, selector.KindBranch, selector.KindDeployment, selector.KindIssue, selector.KindMergeRequest} {
			mu.Lock()
			queries = nil
			mu.Unlock()
			got := map[float64][]string{}
			_, err := s.List(context.Background(), kind, Options{Options: selector.Options{States: []string{"opened", "closed", "merged"}}}, func(p gitlab.Page) error {
				for _, it := range p.Items {
					pr, _ := it["__project"].(map[string]any)
					id, _ := pr["id"].(float64)
					got[id] = append(got[id], key(it))
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			mu.Lock()
			for _, q := range queries {
				if strings.Contains(q, "order_by=") || strings.Contains(q, "sort=") {
					if !strings.HasSuffix(strings.SplitN(q, "?", 2)[0], "/projects") && !strings.HasSuffix(strings.SplitN(q, "?", 2)[0], "/groups") {
						t.Errorf("%s: %s sends an order of its own", kind, q)
					}
				}
			}
			mu.Unlock()
			path, ok := perProject[kind]
			if !ok {
				continue
			}
			for _, p := range sim.Projects() {
				if p.EmptyRepo {
					continue
				}
				want := ocean(tok, fmt.Sprintf("projects/%d/%s", p.ID, path))
				if have := got[float64(p.ID)]; len(want) > 0 && !slices.Equal(have, want) {
					t.Errorf("%s of project %d: %v, want GitLab's order %v", kind, p.ID, have, want)
				}
			}
		}
	}
}

// key names a listed object: its id, else its name (tags, branches).
func key(it map[string]any) string {
	if id, ok := it["id"].(float64); ok {
		return fmt.Sprint(id)
	}
	name, _ := it["name"].(string)
	return name
}
