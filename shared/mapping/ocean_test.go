package mapping

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// TestOceanDefaultMappingsLoad: Ocean's shipped default mappings, byte for
// byte, load under both generations, with the deprecation warning Ocean
// logs for v1's unquoted file:// value.
func TestOceanDefaultMappingsLoad(t *testing.T) {
	for _, src := range []Generation{OceanV1, OceanV2} {
		for _, gen := range []Generation{OceanV1, OceanV2} {
			c, err := ParseWith(OceanDefault(src), ParseOptions{Generation: gen})
			if err != nil {
				t.Fatalf("Ocean %s's default mapping under %s defaults: %v", src, gen, err)
			}
			if src == OceanV1 {
				if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "DEPRECATION: Using 'file://' prefix") || !strings.Contains(c.Warnings[0], `.__includedFiles["README.md"]`) {
					t.Fatalf("v1 mapping warnings: %q", c.Warnings)
				}
				r := c.Resources[0]
				if !r.Options.IncludeLabels {
					t.Fatal(`includeLabels: "true" must read as true`)
				}
				// The unquoted file:// value maps to the reference the
				// resync resolves.
				e, ok, err := r.Map(context.Background(), map[string]any{"path_with_namespace": "g/p", "name": "p", "web_url": "u", "__languages": map[string]any{"Go": 90.0, "Shell": 10.0}})
				if err != nil || !ok || e.Properties["readme"] != "file://README.md" || e.Properties["language"] != "Go" {
					t.Fatalf("v1 project: %+v %v %v", e, ok, err)
				}
			} else {
				if len(c.Warnings) != 0 {
					t.Fatalf("v2 mapping warnings: %q", c.Warnings)
				}
				p := c.ResourcesFor("project")[0]
				if !p.Options.IncludeLanguages || len(p.Options.IncludedFiles) != 2 || p.Options.SearchQueries[0].Scope != "blobs" {
					t.Fatalf("v2 project options: %+v", p.Options)
				}
			}
		}
	}
}

func TestGenerationDefaults(t *testing.T) {
	doc := []byte("resources:\n  - kind: merge-request\n    selector: {query: 'true'}\n    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '\"mr\"'}}}\n" +
		"  - kind: file\n    selector: {query: 'true', files: {path: a.yml}}\n    port: {entity: {mappings: {identifier: .file.path, blueprint: '\"f\"'}}}\n" +
		"  - kind: job\n    selector: {query: 'true'}\n    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '\"j\"'}}}\n")
	v1, err := ParseWith(doc, ParseOptions{Generation: OceanV1})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if v2.MinAccessLevel != 30 || v1.MinAccessLevel != 0 || !v1.OwnedOnly || v2.OwnedOnly {
		t.Fatalf("visibility: v1 %d owned %v, v2 %d owned %v", v1.MinAccessLevel, v1.OwnedOnly, v2.MinAccessLevel, v2.OwnedOnly)
	}
	if len(v1.SpecPaths) != 1 || v1.SpecPaths[0] != "**/port.yml" || v1.GitOpsResync || len(v2.SpecPaths) != 0 {
		t.Fatalf("specPath: v1 %v (resync %v), v2 %v", v1.SpecPaths, v1.GitOpsResync, v2.SpecPaths)
	}
	mr1, mr2 := v1.Resources[0].Options, v2.Resources[0].Options
	if strings.Join(mr1.States, ",") != "opened,closed,locked,merged" || mr1.UpdatedAfterDays != 14 || strings.Join(mr2.States, ",") != "opened" || mr2.UpdatedAfterDays != 90 {
		t.Fatalf("merge requests: v1 %v %v, v2 %v %v", mr1.States, mr1.UpdatedAfterDays, mr2.States, mr2.UpdatedAfterDays)
	}
	if v1.Resources[1].Options.Files.Strategy != "projectSearch" || v2.Resources[1].Options.Files.Strategy != "groupSearch" {
		t.Fatal("file strategy defaults")
	}
	if v1.Resources[2].Options.JobsPerPipeline != 0 || v2.Resources[2].Options.JobsPerPipeline != 100 {
		t.Fatal("job listing defaults")
	}
	// visibility set explicitly applies under v1 too; useMinAccessLevel
	// false turns it off under v2.
	vis, err := ParseWith(append([]byte("visibility: {minAccessLevel: '40'}\n"), doc...), ParseOptions{Generation: OceanV1})
	if err != nil || vis.MinAccessLevel != 40 {
		t.Fatalf("visibility under v1: %v %v", vis, err)
	}
	off, err := Parse(append([]byte("visibility: {useMinAccessLevel: 'false'}\n"), doc...))
	if err != nil || off.MinAccessLevel != 0 {
		t.Fatalf("visibility off under v2: %v %v", off, err)
	}
}

// TestOceanSelectorOptions feeds every option Ocean accepts, in its
// spelling and nesting, through the parser: each loads (options glsync
// does not act on with a warning naming them), and typos fail with a
// suggestion.
func TestOceanSelectorOptions(t *testing.T) {
	res := func(kind, selector, port string) string {
		if port == "" {
			port = "entity: {mappings: {identifier: .id | tostring, blueprint: '\"x\"'}}"
		}
		return "resources:\n  - kind: " + kind + "\n    selector:\n      query: 'true'\n" + selector + "    port: {" + port + "}\n"
	}
	projectScoped := []string{"project", "pipeline", "job", "release", "tag", "branch", "deployment", "project-with-members", "folder"}
	groupScoped := []string{"group", "merge-request", "issue", "member", "group-with-members", "file"}
	type tc struct {
		name, doc, warn string
		check           func(*Config) bool
	}
	cases := []tc{}
	extra := map[string]string{"file": "      files: {path: a.yml}\n", "folder": "      folders: [{path: src}]\n"}
	for _, k := range projectScoped {
		cases = append(cases, tc{name: "includeOnlyActiveProjects/" + k, doc: res(k, extra[k]+"      includeOnlyActiveProjects: 'true'\n", ""),
			check: func(c *Config) bool {
				return c.Resources[0].Options.ActiveProjects != nil && *c.Resources[0].Options.ActiveProjects
			}})
	}
	for _, k := range groupScoped {
		cases = append(cases, tc{name: "includeOnlyActiveGroups/" + k, doc: res(k, extra[k]+"      includeOnlyActiveGroups: no\n", ""),
			check: func(c *Config) bool {
				return c.Resources[0].Options.ActiveGroups != nil && !*c.Resources[0].Options.ActiveGroups
			}})
	}
	cases = append(cases,
		tc{name: "booleans as strings", doc: res("project", "      includeLanguages: 'true'\n      includeLabels: \"1\"\n", ""),
			check: func(c *Config) bool { o := c.Resources[0].Options; return o.IncludeLanguages && o.IncludeLabels }},
		tc{name: "updatedAfter as a string and a fraction", doc: res("merge-request", "      updatedAfter: '0.5'\n", ""),
			check: func(c *Config) bool { return c.Resources[0].Options.UpdatedAfterDays == 0.5 }},
		tc{name: "issue updatedAfter", doc: res("issue", "      updatedAfter: \"90\"\n      state: closed\n      labels: a,b\n      issueType: incident\n      nonArchived: 'false'\n", ""),
			check: func(c *Config) bool {
				o := c.Resources[0].Options
				return o.UpdatedAfterDays == 90 && o.State == "closed" && len(o.Labels) == 2 && o.IssueType == "incident" && !o.NonArchived
			}},
		tc{name: "entityDeletionThreshold 0", doc: "entityDeletionThreshold: 0\n" + res("group", "", ""),
			check: func(c *Config) bool { return c.EntityDeletionThreshold == 0 }},
		tc{name: "includedFiles on file", doc: res("file", "      files: {path: '*.yaml', repos: [g/p], skipParsing: 'false', searchStrategy: repositoryTree}\n      includedFiles: [README.md]\n", ""),
			check: func(c *Config) bool {
				o := c.Resources[0].Options
				return o.Files.Strategy == "repositoryTree" && len(o.IncludedFiles) == 1 && o.Files.Repos[0] == "g/p"
			}},
		tc{name: "includedFiles on folder", doc: res("folder", "      folders: [{path: 'apps/*', repos: [{name: g/p}]}]\n      includedFiles: [README.md]\n", ""),
			check: func(c *Config) bool {
				o := c.Resources[0].Options
				return len(o.IncludedFiles) == 1 && o.Folders[0].Repos[0].Branch == "main"
			}},
		tc{name: "v1 folder repos with a branch", doc: res("folder", "      folders: [{path: src, repos: [p1, p2], branch: develop}]\n", ""),
			check: func(c *Config) bool {
				r := c.Resources[0].Options.Folders[0].Repos
				return len(r) == 2 && r[1].Name == "p2" && r[1].Branch == "develop"
			}},
		tc{name: "searchQueries scopes", doc: res("project", "      searchQueries:\n        - {name: a, query: x}\n        - {name: b, scope: commits, query: fix}\n        - {name: c, scope: wiki_blobs, query: y}\n", ""),
			check: func(c *Config) bool {
				q := c.Resources[0].Options.SearchQueries
				return len(q) == 3 && q[0].Scope == "blobs" && q[1].Scope == "commits" && q[2].Scope == "wiki_blobs"
			}},
		tc{name: "itemsToParseName and top-level transform", doc: res("file", "      files: {path: a.yml}\n", "itemsToParse: .file.content, itemsToParseName: doc, itemsToParseTopLevelTransform: 'false', entity: {mappings: {identifier: .doc.name, blueprint: '\"x\"'}}"),
			check: func(c *Config) bool { r := c.Resources[0]; return r.itemsName == "doc" && r.itemsRemove == nil }},
		tc{name: "search query relation and team", doc: res("project", "", "entity: {mappings: {identifier: .path, blueprint: '\"x\"', team: {combinator: and, rules: [{property: $identifier, operator: '=', value: .path}]}, relations: {owner: {combinator: or, rules: [{property: email, operator: '=', value: .owner}, {combinator: and, rules: [{property: $title, operator: contains, value: '\"x\"'}]}]}}}}"),
			check: func(c *Config) bool {
				return c.Resources[0].relations[0].query != nil && c.Resources[0].team.query != nil
			}},
		tc{name: "search query identifier", doc: res("project", "", "entity: {mappings: {identifier: {combinator: and, rules: [{property: $identifier, operator: '=', value: .path}]}, blueprint: '\"x\"'}}"),
			check: func(c *Config) bool { return len(c.Resources) == 1 && c.Resources[0].identifierQuery != nil }},
		tc{name: "includeVerboseMemberObject", doc: res("group-with-members", "      includeVerboseMemberObject: 'true'\n      includeBotMembers: 'no'\n      includeInheritedMembers: 'yes'\n", ""),
			check: func(c *Config) bool {
				o := c.Resources[0].Options
				return o.VerboseMembers && !o.IncludeBotMembers && o.IncludeInheritedMembers
			}},
		tc{name: "filterOwnedProjects and projectVisibilityFilter", doc: "filterOwnedProjects: 'false'\nprojectVisibilityFilter: internal\nbranch: main\nspecPath: ['**/port.yml', 'catalog/*.yml']\n" + res("project", "", ""),
			check: func(c *Config) bool {
				return !c.OwnedOnly && c.ProjectVisibility == "internal" && c.Branch == "main" && len(c.SpecPaths) == 2 && c.GitOpsResync
			}},
		tc{name: "exportEnvVariables", doc: res("project", "      exportEnvVariables: [TEAM]\n", ""), warn: "exportEnvVariables is accepted but has no effect",
			check: func(c *Config) bool { return len(c.Resources) == 1 }},
		tc{name: "deployment apiQueryParams in Ocean's names", doc: res("deployment", "      apiQueryParams: {environment: prod, status: success, finishedAfter: '2024-01-01T00:00:00Z'}\n", ""),
			check: func(c *Config) bool {
				q := c.Resources[0].Options.APIQueryParams
				return q.Get("finished_after") == "2024-01-01T00:00:00Z" && q.Get("order_by") == "finished_at" && q.Get("environment") == "prod"
			}},
		tc{name: "pipeline apiQueryParams", doc: res("pipeline", "      apiQueryParams: {status: failed, ref: main, yaml_errors: false}\n", ""),
			check: func(c *Config) bool {
				q := c.Resources[0].Options.APIQueryParams
				return q.Get("status") == "failed" && q.Get("yaml_errors") == "false"
			}},
		tc{name: "job pipelineQueryParams", doc: res("job", "      pipelineQueryParams: {source: schedule}\n", ""),
			check: func(c *Config) bool { return c.Resources[0].Options.PipelineQueryParams.Get("source") == "schedule" }},
		tc{name: "branch options", doc: res("branch", "      defaultBranchOnly: 'false'\n      regex: '^release/'\n      search: rel\n", ""),
			check: func(c *Config) bool {
				o := c.Resources[0].Options
				return !o.DefaultBranchOnly && o.Regex == "^release/"
			}},
		tc{name: "skill paths", doc: res("skill", "      paths: [{path: 'skills/**/SKILL.md', repos: [g/p]}]\n      includeOnlyActiveGroups: true\n", ""),
			check: func(c *Config) bool {
				p := c.Resources[0].Options.SkillPaths
				return len(p) == 1 && p[0].Repos[0] == "g/p"
			}},
		tc{name: "skill default paths", doc: res("skill", "", ""),
			check: func(c *Config) bool { return len(c.Resources[0].Options.SkillPaths) == 8 }},
		tc{name: "plugin providers and repos", doc: res("plugin", "      providers: [claude, pi]\n      repos: [g/p]\n", ""),
			check: func(c *Config) bool {
				o := c.Resources[0].Options
				return len(o.Providers) == 2 && o.PluginRepos[0] == "g/p"
			}},
		tc{name: "ProjectSelector options Ocean ignores on tags", doc: res("tag", "      includeLanguages: true\n", ""), warn: "selector.includeLanguages has no effect on kind tag",
			check: func(c *Config) bool { return len(c.Resources) == 1 }},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(c.doc))
			if err != nil {
				t.Fatalf("%v\n%s", err, c.doc)
			}
			if !c.check(cfg) {
				t.Fatalf("options not read: %+v", cfg.Resources)
			}
			warned := strings.Join(cfg.Warnings, "\n")
			if c.warn == "" && warned != "" || !strings.Contains(warned, c.warn) {
				t.Fatalf("warnings %q, want one containing %q", warned, c.warn)
			}
		})
	}
	for _, bad := range []struct{ doc, want string }{
		{res("project", "      includeLanguage: true\n", ""), `selector.includeLanguage: unknown option for kind project "includeLanguage"; did you mean "includeLanguages"?`},
		{res("file", "      files: {path: a, serchStrategy: groupSearch}\n", ""), `did you mean "searchStrategy"?`},
		{"deleteDependentEntitie: true\n" + res("group", "", ""), `unknown setting "deleteDependentEntitie"; did you mean "deleteDependentEntities"?`},
		{res("project", "      includeLanguages: maybe\n", ""), `selector.includeLanguages: must be true or false, got "maybe"`},
		{res("merge-request", "      updatedAfter: soon\n", ""), `selector.updatedAfter: must be a number, got "soon"`},
		{res("deployment", "      apiQueryParams: {finishedAfter: '2024-01-01T00:00:00Z'}\n", ""), "must be success when finishedAfter"},
		{"entityDeletionThreshold: 1.5\n" + res("group", "", ""), "entityDeletionThreshold: must be from 0 to 1"},
		{res("skill", "      paths: [{path: 'skills/**/SKILL.md', branch: main}]\n", ""), `selector.paths[0].branch: unknown paths option "branch"`},
		{res("plugin", "      providers: [claud]\n", ""), `unknown provider "claud"; did you mean "claude"?`},
	} {
		_, err := Parse([]byte(bad.doc))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("error %v, want it to contain %q", err, bad.want)
		}
	}
}

// TestEmbeddedMappingsMeanTheSameUnderBoth: glsync's own mappings state
// their selectors, so v1's and v2's defaults give the same options.
func TestEmbeddedMappingsMeanTheSameUnderBoth(t *testing.T) {
	for name, doc := range map[string][]byte{"default.yml": Default(), "all-kinds.yml": AllKinds()} {
		v1, err := ParseWith(doc, ParseOptions{Generation: OceanV1})
		if err != nil {
			t.Fatal(err)
		}
		v2, err := ParseWith(doc, ParseOptions{Generation: OceanV2})
		if err != nil {
			t.Fatal(err)
		}
		if v1.MinAccessLevel != v2.MinAccessLevel || v1.OwnedOnly != v2.OwnedOnly || v1.GitOpsResync != v2.GitOpsResync || len(v1.Warnings)+len(v2.Warnings) != 0 {
			t.Fatalf("%s: settings differ: v1 %d %v %v, v2 %d %v %v; warnings %q %q", name, v1.MinAccessLevel, v1.OwnedOnly, v1.GitOpsResync,
				v2.MinAccessLevel, v2.OwnedOnly, v2.GitOpsResync, v1.Warnings, v2.Warnings)
		}
		for i := range v1.Resources {
			a, b := v1.Resources[i].Options, v2.Resources[i].Options
			a.Generation, b.Generation = "", ""
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s: resources[%d] (kind %s) differ:\nv1 %+v\nv2 %+v", name, i, v1.Resources[i].Kind, a, b)
			}
		}
	}
}
