package resync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

var update = flag.Bool("update", false, "rewrite testdata/ocean-golden from the Ocean oracle")

// TestOceanDefaultMappingsGolden resyncs Ocean's own default mappings (v1
// and v2, byte for byte as shipped) against a fixed simulated
// organisation and checks every entity, field by field, against expected
// entities that the test derives on its own: an oracle that makes the
// GitLab requests Ocean's code makes and applies each default mapping's
// expressions as plain Go, rule by rule (the Ocean file each rule follows
// is named beside it). Neither glsync's crawler nor its jq engine takes
// part in the expectation. The expectation is also kept in
// testdata/ocean-golden for review (go test -run Golden -update rewrites
// it), and the test fails when the oracle and the file disagree.
func TestOceanDefaultMappingsGolden(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{Seed: 11})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 24, Depth: 2, Seed: 11, Activity: true})
	ts := sim.Start(t)
	token := org.RootTokens[0]
	o := &oracle{t: t, base: ts.URL + "/api/v4", token: token}
	for _, gen := range []mapping.Generation{mapping.OceanV1, mapping.OceanV2} {
		t.Run(string(gen), func(t *testing.T) {
			m, err := mapping.ParseWith(mapping.OceanDefault(gen), mapping.ParseOptions{Generation: gen})
			if err != nil {
				t.Fatal(err)
			}
			cfg := &config.Config{GitLabHost: ts.URL, TokenMapping: tokenmap.Mapping{{Token: token, Patterns: []string{"**"}}}, MaxConcurrentRequests: 4, MaxRetries: 2}
			store := freshStore(t)
			sum, err := resync.Run(context.Background(), resync.Options{Config: cfg, Mapping: m, Store: store,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Client: gitlab.Options{RetryBase: time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range sum.Kinds {
				if k.ErrorsTotal != 0 {
					t.Fatalf("kind %s: %d errors: %v", k.Kind, k.ErrorsTotal, k.Errors)
				}
			}
			var want []goldenEntity
			if gen == mapping.OceanV1 {
				want = o.v1()
			} else {
				want = o.v2()
			}
			sortGolden(want)
			checkGoldenFile(t, filepath.Join("testdata", "ocean-golden", string(gen)+".json"), want, ts.URL)
			got := storeEntities(t, store)
			compareGolden(t, got, want)
		})
	}
}

// goldenEntity is an entity as the golden files hold it.
type goldenEntity struct {
	Blueprint  string         `json:"blueprint"`
	Identifier string         `json:"identifier"`
	Title      string         `json:"title"`
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`
}

func sortGolden(es []goldenEntity) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].Blueprint != es[j].Blueprint {
			return es[i].Blueprint < es[j].Blueprint
		}
		return es[i].Identifier < es[j].Identifier
	})
}

func storeEntities(t *testing.T, st catalog.Store) []goldenEntity {
	t.Helper()
	ents, err := st.List(context.Background(), catalog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenEntity
	for _, e := range ents {
		out = append(out, goldenEntity{e.Blueprint, e.Identifier, e.Title, e.Properties, e.Relations})
	}
	sortGolden(out)
	return out
}

var timestamp = regexp.MustCompile(`"\d{4}-\d{2}-\d{2}T[0-9:.]+Z"`)

// checkGoldenFile compares the oracle's entities with the reviewed file
// (rewritten with -update).
func checkGoldenFile(t *testing.T, path string, want []goldenEntity, serverURL string) {
	t.Helper()
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	// The simulator listens on a random port: the file says gitlab.test.
	b = bytes.ReplaceAll(append(b, '\n'), []byte(serverURL), []byte("http://gitlab.test"))
	// Activity is generated relative to now: the file holds its shape.
	b = timestamp.ReplaceAll(b, []byte(`"<time>"`))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update)", err)
	}
	if !bytes.Equal(have, b) {
		t.Fatalf("%s is not what the Ocean oracle derives today: review the change and run go test -run Golden -update", path)
	}
}

// compareGolden checks got against want field by field (JSON-normalised).
func compareGolden(t *testing.T, got, want []goldenEntity) {
	t.Helper()
	norm := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	index := map[string]goldenEntity{}
	for _, e := range got {
		index[e.Blueprint+"|"+e.Identifier] = e
	}
	if len(got) != len(want) {
		t.Errorf("%d entities, want %d", len(got), len(want))
	}
	bad := 0
	for _, w := range want {
		g, ok := index[w.Blueprint+"|"+w.Identifier]
		if !ok {
			t.Errorf("missing %s %s", w.Blueprint, w.Identifier)
			bad++
			continue
		}
		if g.Title != w.Title {
			t.Errorf("%s %s: title %q, want %q", w.Blueprint, w.Identifier, g.Title, w.Title)
		}
		for _, f := range []struct {
			name      string
			got, want map[string]any
		}{{"properties", g.Properties, w.Properties}, {"relations", g.Relations, w.Relations}} {
			keys := map[string]bool{}
			for k := range f.got {
				keys[k] = true
			}
			for k := range f.want {
				keys[k] = true
			}
			for k := range keys {
				if norm(f.got[k]) != norm(f.want[k]) {
					bad++
					t.Errorf("%s %s: %s.%s = %s, want %s", w.Blueprint, w.Identifier, f.name, k, trim(norm(f.got[k])), trim(norm(f.want[k])))
				}
			}
		}
		if bad > 20 {
			t.Fatal("too many differences")
		}
	}
}

func trim(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// oracle reads the simulated GitLab the way Ocean's code does.
type oracle struct {
	t     *testing.T
	base  string
	token string
}

// get reads one GitLab resource; status 404 gives nil.
func (o *oracle) get(path string, q url.Values) (any, http.Header) {
	o.t.Helper()
	u := o.base + "/" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("PRIVATE-TOKEN", o.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden {
		return nil, resp.Header
	}
	if resp.StatusCode != http.StatusOK {
		o.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	var v any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &v); err != nil {
			o.t.Fatal(err)
		}
		return v, resp.Header
	}
	return string(b), resp.Header
}

// list reads every page (page=1..N, per_page=100), as Ocean's paginators
// do (gitlab-v2/gitlab/clients/rest_client.py, _make_paginated_request;
// v1's AsyncFetcher.fetch_batch).
func (o *oracle) list(path string, q url.Values) []map[string]any {
	var out []map[string]any
	for page := 1; ; page++ {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("per_page", "100")
		qq.Set("page", fmt.Sprint(page))
		v, _ := o.get(path, qq)
		items, _ := v.([]any)
		for _, x := range items {
			out = append(out, x.(map[string]any))
		}
		if len(items) < 100 {
			return out
		}
	}
}

func (o *oracle) file(projectID any, path, ref string) any {
	if ref == "" {
		ref = "main" // gitlab-v2 fetcher.py falls back to main
	}
	v, _ := o.get(fmt.Sprintf("projects/%v/repository/files/%s/raw", projectID, url.PathEscape(path)), url.Values{"ref": {ref}})
	return v
}

// maxLanguage is `.__languages | to_entries | max_by(.value) | .key`
// (null for no languages).
func maxLanguage(langs map[string]any) any {
	var best any
	bv := math.Inf(-1)
	keys := make([]string, 0, len(langs))
	for k := range langs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if f, _ := langs[k].(float64); f > bv {
			best, bv = k, f
		}
	}
	return best
}

// v1 is Ocean v1's default mapping (integrations/gitlab/.port/resources/
// port-app-config.yaml) over v1's project listing (gitlab_service.py,
// get_all_projects: owned=true, order by id) and enrichment (always
// __languages; __labels with includeLabels, each with project_id).
func (o *oracle) v1() []goldenEntity {
	var out []goldenEntity
	for _, p := range o.list("projects", url.Values{"owned": {"true"}, "order_by": {"id"}, "sort": {"asc"}}) {
		if p["marked_for_deletion_on"] != nil || p["marked_for_deletion_at"] != nil {
			continue
		}
		langs, _ := o.get(fmt.Sprintf("projects/%v/languages", p["id"]), nil)
		labels := []any{}
		for _, l := range o.list(fmt.Sprintf("projects/%v/labels", p["id"]), nil) {
			l["project_id"] = p["id"]
			labels = append(labels, l)
		}
		def, _ := p["default_branch"].(string)
		var readme any
		if def != "" { // file:// reads the default branch; no branch: null
			readme = o.file(p["id"], "README.md", def)
		}
		lm, _ := langs.(map[string]any)
		out = append(out, goldenEntity{
			Blueprint: "service", Identifier: strings.ReplaceAll(p["path_with_namespace"].(string), " ", ""), Title: p["name"].(string),
			Properties: map[string]any{"url": p["web_url"], "readme": readme, "language": maxLanguage(lm), "labels": labels},
			Relations:  map[string]any{},
		})
	}
	return out
}

// v2 is Ocean v2's default mapping (integrations/gitlab-v2/.port/resources/
// port-app-config.yml) over v2's listings (gitlab-v2/gitlab/clients/
// gitlab_client.py: all_available and min_access_level=30 on /projects
// and /groups, pending deletion left out).
func (o *oracle) v2() []goldenEntity {
	var out []goldenEntity
	vis := url.Values{"all_available": {"true"}, "min_access_level": {"30"}}
	for _, p := range o.list("projects", vis) {
		if p["marked_for_deletion_at"] != nil {
			continue
		}
		def, _ := p["default_branch"].(string)
		langs, _ := o.get(fmt.Sprintf("projects/%v/languages", p["id"]), nil)
		hits, _ := o.get(fmt.Sprintf("projects/%v/search", p["id"]), url.Values{"scope": {"blobs"}, "search": {"filename:port.yml"}})
		lm, _ := langs.(map[string]any)
		language := maxLanguage(lm) // .__languages // {} | to_entries | max_by(.value) | .key
		hl, _ := hits.([]any)
		out = append(out, goldenEntity{
			Blueprint: "service", Identifier: strings.ReplaceAll(p["path_with_namespace"].(string), " ", ""), Title: p["name"].(string),
			Properties: map[string]any{"url": p["web_url"], "readme": o.file(p["id"], "README.md", def), "codeowners": o.file(p["id"], "CODEOWNERS", def),
				"language": language, "hasPortConfig": len(hl) > 0},
			Relations: map[string]any{},
		})
	}
	groups := []map[string]any{}
	for _, g := range o.list("groups", vis) {
		if g["marked_for_deletion_on"] == nil {
			groups = append(groups, g)
		}
	}
	botName := regexp.MustCompile(`^(?:project|group)_\d+_bot_[a-f0-9]+$`)
	isBot := func(m map[string]any) bool { // gitlab-v2/gitlab/helpers/utils.py, is_bot_member
		if b, ok := m["bot"].(bool); ok {
			return b
		}
		u, _ := m["username"].(string)
		return botName.MatchString(u)
	}
	members := map[string]goldenEntity{}
	for _, g := range groups {
		var usernames []any
		for _, m := range o.list(fmt.Sprintf("groups/%v/members", g["id"]), nil) {
			if isBot(m) {
				continue
			}
			usernames = append(usernames, m["username"])
			members[m["username"].(string)] = goldenEntity{Blueprint: "gitlabMember", Identifier: m["username"].(string), Title: m["name"].(string),
				Properties: map[string]any{"url": m["web_url"], "state": m["state"], "email": m["email"], "locked": m["locked"]}, Relations: map[string]any{}}
		}
		if usernames == nil {
			usernames = []any{}
		}
		out = append(out, goldenEntity{Blueprint: "gitlabGroup", Identifier: g["full_path"].(string), Title: g["name"].(string),
			Properties: map[string]any{"url": g["web_url"], "visibility": g["visibility"], "description": g["description"]},
			Relations:  map[string]any{"gitlabMembers": usernames}})
	}
	for _, m := range members {
		out = append(out, m)
	}
	// Merge requests: every group, state opened, no window (main.py,
	// on_resync_merge_requests); a subgroup's come again from its parents.
	seen := map[any]bool{}
	for _, g := range groups {
		for _, mr := range o.list(fmt.Sprintf("groups/%v/merge_requests", g["id"]), url.Values{"state": {"opened"}}) {
			if seen[mr["id"]] {
				continue
			}
			seen[mr["id"]] = true
			author, _ := mr["author"].(map[string]any)
			reviewers := []any{}
			rs, _ := mr["reviewers"].([]any)
			for _, r := range rs {
				reviewers = append(reviewers, r.(map[string]any)["name"])
			}
			refs, _ := mr["references"].(map[string]any)
			full, _ := refs["full"].(string)
			project := regexp.MustCompile(`!.+`).ReplaceAllString(full, "")
			out = append(out, goldenEntity{Blueprint: "gitlabMergeRequest", Identifier: fmt.Sprint(int64(mr["id"].(float64))), Title: mr["title"].(string),
				Properties: map[string]any{"creator": author["name"], "status": mr["state"], "createdAt": mr["created_at"], "updatedAt": mr["updated_at"],
					"mergedAt": mr["merged_at"], "link": mr["web_url"], "leadTimeHours": nil, "reviewers": reviewers},
				Relations: map[string]any{"project": project}})
		}
	}
	return out
}
