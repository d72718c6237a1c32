package resync_test

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

func TestProjectSelectorOptions(t *testing.T) {
	e := newEnv(t, allOf)
	m, err := mapping.Parse([]byte(`
resources:
  - kind: project
    selector:
      query: 'true'
      includeOnlyActiveProjects: true
      includeLanguages: true
      includedFiles: [README.md, catalog-info.json]
      searchQueries:
        - {name: hasTodo, scope: blobs, query: TODO}
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          blueprint: '"service"'
          properties:
            language: .__languages | to_entries | max_by(.value) | .key
            readme: .__includedFiles["README.md"]
            tier: .__includedFiles["catalog-info.json"] | if . then (fromjson | .tier) else null end
            hasTodo: .__searchQueries.hasTodo
`))
	if err != nil {
		t.Fatal(err)
	}
	e.mustResync(t, m, e.store)
	ents, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "service"})
	byID := map[string]*catalog.Entity{}
	for _, x := range ents {
		byID[x.Identifier] = x
	}
	checked := 0
	for _, p := range e.sim.Projects() {
		x := byID[p.PathWithNamespace]
		if p.Archived {
			if x != nil {
				t.Fatalf("archived %s synced with includeOnlyActiveProjects", p.PathWithNamespace)
			}
			continue
		}
		if x == nil {
			t.Fatalf("%s missing", p.PathWithNamespace)
		}
		if p.EmptyRepo || !strings.HasSuffix(p.Name, "Service") {
			continue
		}
		checked++
		if x.Properties["language"] != "Go" || x.Properties["hasTodo"] != true || x.Properties["tier"] == nil ||
			!strings.HasPrefix(x.Properties["readme"].(string), "# "+p.Name) {
			t.Fatalf("%s: %v", p.PathWithNamespace, x.Properties)
		}
	}
	if checked == 0 {
		t.Fatal("no service checked")
	}
}

func TestIssueOptionsAndVisibility(t *testing.T) {
	e := newEnv(t, allOf)
	ps := e.sim.Projects()
	var live, archived gitlabtest.ProjectInfo
	for _, p := range ps {
		if p.Archived && archived.ID == 0 {
			archived = p
		}
		if !p.Archived && !p.EmptyRepo && live.ID == 0 {
			live = p
		}
	}
	bug := e.sim.AddIssue(live.ID, "Crash", false)
	e.sim.UpdateIssue(bug.ID, func(i *gitlabtest.Issue) { i.Labels = []string{"bug", "p1"} })
	e.sim.AddIssue(live.ID, "Idea", false)
	inc := e.sim.AddIssue(live.ID, "Outage", false)
	e.sim.UpdateIssue(inc.ID, func(i *gitlabtest.Issue) { i.Labels = []string{"bug", "p1"}; i.Type = "incident" })
	old := e.sim.AddIssue(archived.ID, "Legacy", false)
	e.sim.UpdateIssue(old.ID, func(i *gitlabtest.Issue) { i.Labels = []string{"bug", "p1"} })
	run := func(doc string) []string {
		t.Helper()
		m, err := mapping.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := sqlitestore.Open(t.TempDir())
		defer st.Close()
		e.mustResync(t, m, st)
		ents, _ := st.List(context.Background(), catalog.Filter{})
		var ids []string
		for _, x := range ents {
			ids = append(ids, x.Blueprint+":"+x.Identifier)
		}
		return ids
	}
	got := run(`
resources:
  - kind: issue
    selector: {query: 'true', labels: [bug, p1], issueType: issue}
    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '"issue"'}}}
`)
	if len(got) != 1 || got[0] != "issue:"+strconv.FormatInt(bug.ID, 10) {
		t.Fatalf("labels + issueType + nonArchived (default): %v", got)
	}
	got = run(`
resources:
  - kind: issue
    selector: {query: 'true', labels: [bug], nonArchived: false}
    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '"issue"'}}}
`)
	if len(got) != 3 {
		t.Fatalf("nonArchived false keeps archived projects' issues: %v", got)
	}
	// visibility: the group tokens are owners (50); requiring 50 keeps
	// everything, and a reporter token with 30 required sees nothing.
	e.sim.AddToken(gitlabtest.Token{Value: "glpat-reporter-token-xyz", Kind: gitlabtest.GroupAccessToken, GroupID: e.org.Roots[0].ID, AccessLevel: 20})
	e.cfg.TokenMapping = tokenmap.Mapping{{Token: "glpat-reporter-token-xyz", Patterns: []string{"**"}}}
	got = run(`
visibility: {useMinAccessLevel: true, minAccessLevel: 30}
resources:
  - kind: project
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"service"'}}}
`)
	if len(got) != 0 {
		t.Fatalf("a reporter token with minAccessLevel 30: %d entities", len(got))
	}
	got = run(`
visibility: {useMinAccessLevel: true, minAccessLevel: 20}
resources:
  - kind: project
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"service"'}}}
`)
	if len(got) == 0 {
		t.Fatal("minAccessLevel 20 should keep the reporter's projects")
	}
	if _, err := mapping.Parse([]byte("visibility: {useMinAccessLevel: true, minAccessLevel: 35}\nresources: [{kind: project, port: {entity: {mappings: {identifier: .id, blueprint: '\"s\"'}}}}]\n")); err == nil ||
		!strings.Contains(err.Error(), "visibility.minAccessLevel: must be 10 (guest)") {
		t.Fatalf("bad level: %v", err)
	}
}

func TestSelectorOptionsTable(t *testing.T) {
	e := newEnv(t, allOf)
	var svc gitlabtest.ProjectInfo
	for _, p := range e.sim.Projects() {
		if !p.EmptyRepo && strings.HasSuffix(p.Name, "Service") && p.ID%2 == 0 {
			svc = p
			break
		}
	}
	e.sim.AddMergeRequest(svc.ID, "feature work") // an extra open branch
	run := func(t *testing.T, doc string) []*catalog.Entity {
		t.Helper()
		m, err := mapping.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := sqlitestore.Open(t.TempDir())
		defer st.Close()
		e.mustResync(t, m, st)
		ents, _ := st.List(context.Background(), catalog.Filter{})
		return ents
	}
	count := func(ents []*catalog.Entity, prefix string) int {
		n := 0
		for _, x := range ents {
			if strings.HasPrefix(x.Identifier, prefix) {
				n++
			}
		}
		return n
	}
	ident := `identifier: .__project.path_with_namespace + ":" + .name`
	// members checks the member count n of every entity: some (inherited
	// members) or none (direct members only: the generator puts members on
	// root groups only); subgroupsOnly skips identifiers without "/".
	members := func(some, subgroupsOnly bool) func([]*catalog.Entity) string {
		return func(ents []*catalog.Entity) string {
			for _, x := range ents {
				if subgroupsOnly && !strings.Contains(x.Identifier, "/") {
					continue
				}
				if n := x.Properties["n"].(float64); some && n == 0 || !some && n != 0 {
					return fmt.Sprintf("%s has %v members (want some: %v)", x.Identifier, n, some)
				}
			}
			return ""
		}
	}
	cases := []struct {
		name, doc string
		check     func([]*catalog.Entity) string
	}{
		{"branch: all branches", `
resources:
  - kind: branch
    selector: {query: 'true', defaultBranchOnly: false}
    port: {entity: {mappings: {` + ident + `, blueprint: '"b"'}}}
`, func(ents []*catalog.Entity) string {
			if count(ents, svc.PathWithNamespace+":") != 2 {
				return "want the default branch and the merge request's branch"
			}
			return ""
		}},
		{"branch: regex", `
resources:
  - kind: branch
    selector: {query: 'true', defaultBranchOnly: false, regex: '^feature-'}
    port: {entity: {mappings: {` + ident + `, blueprint: '"b"'}}}
`, func(ents []*catalog.Entity) string {
			for _, x := range ents {
				if !strings.Contains(x.Identifier, ":feature-") {
					return "a branch outside the regex: " + x.Identifier
				}
			}
			if len(ents) == 0 {
				return "no feature branch"
			}
			return ""
		}},
		{"tag: limitPerProject", `
resources:
  - kind: tag
    selector: {query: 'true', limitPerProject: 1}
    port: {entity: {mappings: {` + ident + `, blueprint: '"t"'}}}
`, func(ents []*catalog.Entity) string {
			if count(ents, svc.PathWithNamespace+":") != 1 || count(ents, svc.PathWithNamespace+":v1.3.0") != 1 {
				return "want only the newest tag"
			}
			return ""
		}},
		{"member: includeBotMembers", `
resources:
  - kind: member
    selector: {query: 'true', includeBotMembers: true}
    port: {entity: {mappings: {identifier: .username, blueprint: '"m"'}}}
`, func(ents []*catalog.Entity) string {
			if count(ents, "group_") == 0 {
				return "bots must be kept with includeBotMembers"
			}
			return ""
		}},
		{"project-with-members: direct only", `
resources:
  - kind: project-with-members
    selector: {query: 'true', includeInheritedMembers: false}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"direct"', properties: {n: .__members | length}}}}
`, members(false, false)},
		{"project-with-members: inherited", `
resources:
  - kind: project-with-members
    selector: {query: 'true', includeInheritedMembers: true}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"all"', properties: {n: .__members | length}}}}
`, members(true, false)},
		{"group-with-members: inherited", `
resources:
  - kind: group-with-members
    selector: {query: 'true', includeInheritedMembers: true}
    port: {entity: {mappings: {identifier: .full_path, blueprint: '"g"', properties: {n: .__members | length}}}}
`, members(true, false)}, // root members are inherited by every subgroup
		{"group-with-members: direct only", `
resources:
  - kind: group-with-members
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .full_path, blueprint: '"g"', properties: {n: .__members | length}}}}
`, members(false, true)},
		{"file: repos and skipParsing", `
resources:
  - kind: file
    selector: {query: 'true', files: {path: 'catalog-info.json', repos: [` + svc.PathWithNamespace + `], skipParsing: true}}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace, blueprint: '"f"', properties: {raw: .file.content}}}}
`, func(ents []*catalog.Entity) string {
			if len(ents) != 1 || ents[0].Identifier != svc.PathWithNamespace {
				return fmt.Sprintf("want only the listed repo, got %d", len(ents))
			}
			if _, isText := ents[0].Properties["raw"].(string); !isText {
				return "skipParsing must keep the text"
			}
			return ""
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if msg := c.check(run(t, c.doc)); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

// TestResourcesWithOwnListingOptions checks that resources of one kind
// with different selector options each get the objects their options ask
// for: a combined mapping writes what each resource writes alone.
func TestResourcesWithOwnListingOptions(t *testing.T) {
	e := newEnv(t, allOf)
	ps := e.sim.Projects()
	e.sim.AddMergeRequest(ps[3].ID, "Add metrics")
	merged := e.sim.AddMergeRequest(ps[5].ID, "Bump deps")
	e.sim.UpdateMergeRequest(merged.ID, func(m *gitlabtest.MergeRequest) { m.State = "merged" })
	resources := []string{`
  - kind: file
    selector: {query: 'true', files: {path: '**/catalog-info.json'}}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace, blueprint: '"info"', properties: {tier: .file.content.tier}}}}`, `
  - kind: file
    selector: {query: 'true', files: {path: 'README.md', skipParsing: true}}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace, blueprint: '"readme"', properties: {size: .file.size}}}}`, `
  - kind: merge-request
    selector: {query: 'true', states: [opened]}
    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '"openMR"'}}}`, `
  - kind: merge-request
    selector: {query: 'true', states: [merged]}
    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '"mergedMR"'}}}`}
	run := func(res ...string) map[string]int {
		m, err := mapping.Parse([]byte("resources:" + strings.Join(res, "")))
		if err != nil {
			t.Fatal(err)
		}
		st := freshStore(t)
		e.mustResync(t, m, st)
		ents, _ := st.List(context.Background(), catalog.Filter{})
		out := map[string]int{}
		for _, en := range ents {
			out[en.Blueprint]++
		}
		return out
	}
	want := map[string]int{}
	for _, r := range resources {
		for bp, n := range run(r) {
			want[bp] += n
		}
	}
	for _, bp := range []string{"info", "readme", "openMR", "mergedMR"} {
		if want[bp] == 0 {
			t.Fatalf("no %s entities alone: %v (the organisation must have some)", bp, want)
		}
	}
	if got := run(resources...); !maps.Equal(got, want) {
		t.Fatalf("together: %v, alone: %v", got, want)
	}
}
