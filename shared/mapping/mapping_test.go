package mapping

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// project.json is a project as the GitLab simulator serves it (GitLab's
// GET /projects shape).
func loadProject(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/project.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDefaultMappingProject(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Kinds(); len(got) != 4 || got[0] != "group" || got[1] != "project" || got[2] != "merge-request" || got[3] != "issue" {
		t.Fatalf("kinds %v", got)
	}
	r := c.ResourcesFor("project")[0]
	e, ok, err := r.Map(context.Background(), loadProject(t))
	if err != nil || !ok {
		t.Fatalf("map: %v %v", ok, err)
	}
	if e.Blueprint != "service" || e.Identifier != "acme/DevopsTeam/PaymentService" || e.Title != "PaymentService" {
		t.Fatalf("entity: %+v", e)
	}
	if e.Properties["url"] != "http://gitlab.example.com/acme/DevopsTeam/PaymentService" || e.Properties["archived"] != false {
		t.Fatalf("properties: %v", e.Properties)
	}
	if e.Relations["group"] != "1001" {
		t.Fatalf("relations: %v", e.Relations)
	}
}

func TestSelectorAndTypes(t *testing.T) {
	c, err := Parse([]byte(`
resources:
  - kind: project
    selector:
      query: .archived | not
    port:
      entity:
        mappings:
          identifier: .id | tostring
          blueprint: '"service"'
          properties:
            missing: .no_such_field
            first: .topics[]
`))
	if err != nil {
		t.Fatal(err)
	}
	p := loadProject(t)
	r := c.Resources[0]
	e, ok, err := r.Map(context.Background(), p)
	if err != nil || !ok || e.Identifier != "5001" || e.Properties["missing"] != nil || e.Properties["first"] != "go" {
		t.Fatalf("got %+v %v %v", e, ok, err)
	}
	p["archived"] = true
	if _, ok, err := r.Map(context.Background(), p); ok || err != nil {
		t.Fatalf("archived project should not be selected: %v %v", ok, err)
	}
}

func TestEnvIsHidden(t *testing.T) {
	t.Setenv("OCEAN__INTEGRATION__CONFIG__TOKEN_MAPPING", `{"glpat-secret-secret": ["**"]}`)
	c, err := Parse([]byte(`
resources:
  - kind: project
    port:
      entity:
        mappings:
          identifier: .name
          blueprint: '"service"'
          properties:
            leak: $ENV.OCEAN__INTEGRATION__CONFIG__TOKEN_MAPPING
            leak2: env | tostring
`))
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := c.Resources[0].Map(context.Background(), loadProject(t))
	if err != nil {
		t.Fatal(err)
	}
	if e.Properties["leak"] != nil || strings.Contains(e.Properties["leak2"].(string), "glpat") {
		t.Fatalf("environment reached the catalog: %v", e.Properties)
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"parse error", `
resources:
  - kind: project
    port:
      entity:
        mappings:
          identifier: .id | tostring
          blueprint: '"service"'
          properties:
            url: .web_url |
`, `mapping: resources[0] (kind project): port.entity.mappings.properties.url: expression ".web_url |": parse error`},
		{"unknown function", `
resources:
  - kind: group
    port:
      entity:
        mappings:
          identifier: .id | nosuchfn
          blueprint: '"g"'
`, `mapping: resources[0] (kind group): port.entity.mappings.identifier: expression ".id | nosuchfn": compile error: function not defined: nosuchfn/0`},
		{"bad selector", `
resources:
  - kind: project
    selector:
      query: '.a ||| .b'
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"s"'
`, `mapping: resources[0] (kind project): selector.query: expression ".a ||| .b": parse error`},
		{"missing identifier", `
resources:
  - kind: project
    port:
      entity:
        mappings:
          blueprint: '"s"'
`, `mapping: resources[0] (kind project): port.entity.mappings.identifier: is required`},
		{"unknown kind", `
resources:
  - kind: projects
    port: {entity: {mappings: {identifier: .id, blueprint: '"s"'}}}
`, `mapping: resources[0] (kind projects): kind: unsupported kind "projects"; supported kinds: group, project, merge-request, issue, pipeline, job, release, tag, branch, deployment, group-with-members, project-with-members, member`},
		{"bad mr state", `
resources:
  - kind: merge-request
    selector: {states: [open]}
    port: {entity: {mappings: {identifier: .id, blueprint: '"s"'}}}
`, `mapping: resources[0] (kind merge-request): selector.states: unknown state "open"; use opened, closed, locked or merged`},
		{"unknown selector option", `
resources:
  - kind: project
    selector: {includeStuff: true}
    port: {entity: {mappings: {identifier: .id, blueprint: '"s"'}}}
`, `mapping: resources[0] (kind project): selector.includeStuff: unknown option for kind project`},
		{"bad regex", `
resources:
  - kind: branch
    selector: {regex: "release-("}
    port: {entity: {mappings: {identifier: .name, blueprint: '"b"'}}}
`, `mapping: resources[0] (kind branch): selector.regex: invalid regular expression`},
		{"search query without a query", `
resources:
  - kind: project
    selector: {searchQueries: [{name: hasTodo}]}
    port: {entity: {mappings: {identifier: .id, blueprint: '"s"'}}}
`, `mapping: resources[0] (kind project): selector.searchQueries[0].query: is required`},
		{"bad limit", `
resources:
  - kind: pipeline
    selector: {limitPerProject: 0}
    port: {entity: {mappings: {identifier: .id, blueprint: '"s"'}}}
`, `mapping: resources[0] (kind pipeline): selector.limitPerProject: must be a whole number from 1 to 100000, got 0`},
		{"unknown key", `
resources:
  - kind: project
    prot: {}
`, `prot: unknown resource key "prot"; did you mean "port"?`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

// TestRuntimeErrors: with strictMapping, a failing expression is the
// object's error (tolerance_test.go has the default, Ocean's null).
func TestRuntimeErrors(t *testing.T) {
	cases := []struct{ name, identifier, query, want string }{
		{"number identifier", ".id", "true", `port.entity.mappings.identifier: expression ".id": must return a string, got number (add | tostring)`},
		{"null identifier", ".nope", "true", `port.entity.mappings.identifier: expression ".nope": returned null`},
		{"jq runtime error", ".name | keys", "true", `port.entity.mappings.identifier: expression ".name | keys": keys cannot be applied to`},
		{"non-boolean selector", ".name", ".name", `selector.query: expression ".name": must return a boolean, got string`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseWith([]byte("resources:\n  - kind: project\n    selector: {query: '"+c.query+"'}\n    port: {entity: {mappings: {identifier: '"+c.identifier+"', blueprint: '\"s\"'}}}\n"), ParseOptions{Strict: true})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = cfg.Resources[0].Map(context.Background(), loadProject(t))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "resources[0] (kind project)") {
				t.Fatalf("error %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestExampleMappingLoads(t *testing.T) {
	c, err := Load("all-kinds.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Kinds()) != len(SupportedKinds) {
		t.Fatalf("example covers %v, supported %v", c.Kinds(), SupportedKinds)
	}
}

func TestItemsToParse(t *testing.T) {
	c, err := Parse([]byte(`
resources:
  - kind: project
    selector:
      query: .archived | not
    port:
      itemsToParse: .topics
      entity:
        mappings:
          identifier: .path_with_namespace + "#" + .item
          title: .item
          blueprint: '"topic"'
          relations:
            service: .path_with_namespace
`))
	if err != nil {
		t.Fatal(err)
	}
	ents, selected, err := c.Resources[0].MapAll(context.Background(), loadProject(t))
	if err != nil || !selected || len(ents) != 2 {
		t.Fatalf("%v %v %v", ents, selected, err)
	}
	if ents[0].Identifier != "acme/DevopsTeam/PaymentService#go" || ents[1].Title != "payments" || ents[1].Relations["service"] != "acme/DevopsTeam/PaymentService" {
		t.Fatalf("entities %+v %+v", ents[0], ents[1])
	}
	bad, _ := Parse([]byte("resources:\n  - kind: project\n    port: {itemsToParse: .name, entity: {mappings: {identifier: .item, blueprint: '\"t\"'}}}\n"))
	if _, _, err := bad.Resources[0].MapAll(context.Background(), loadProject(t)); err == nil || !strings.Contains(err.Error(), "port.itemsToParse: expression \".name\": must return an array, got string") {
		t.Fatalf("non-array items: %v", err)
	}
}

// TestAllKindsDocumented checks that the all-kinds mapping covers every
// supported kind and that the provider docs' mapping guide names each
// kind with the blueprint the mapping gives it.
func TestAllKindsDocumented(t *testing.T) {
	c, err := Parse(AllKinds())
	if err != nil {
		t.Fatal(err)
	}
	guide, err := os.ReadFile("../../templates/guides/mapping.md.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(guide), "\n") {
		if strings.HasPrefix(line, "| `") {
			kind, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
			rows[kind] = line
		}
	}
	mapped := map[string]bool{}
	for i, r := range c.Resources {
		mapped[r.Kind] = true
		res := c.Document["resources"].([]any)[i].(map[string]any)
		bp := res["port"].(map[string]any)["entity"].(map[string]any)["mappings"].(map[string]any)["blueprint"].(string)
		bp = strings.Trim(bp, `'"`)
		if !strings.Contains(rows[r.Kind], "`"+bp+"`") {
			t.Errorf("guide row for %s does not name blueprint %s: %q", r.Kind, bp, rows[r.Kind])
		}
	}
	for _, k := range SupportedKinds {
		if !mapped[k] {
			t.Errorf("all-kinds.yml has no resource of kind %s", k)
		}
		if rows[k] == "" {
			t.Errorf("templates/guides/mapping.md.tmpl has no row for kind %s", k)
		}
	}
}

func TestQueryParams(t *testing.T) {
	c, err := Parse([]byte(`
resources:
  - kind: job
    selector: {query: 'true', pipelineQueryParams: {ref: main, status: success}, apiQueryParams: {scope: [failed, success], include_retried: true}}
    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '"job"'}}}
  - kind: pipeline
    selector: {query: 'true', pipelineQueryParams: {ref: main}, apiQueryParams: {status: failed}}
    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '"pipeline"'}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	job, pipeline := c.Resources[0].Options, c.Resources[1].Options
	if got := job.APIQueryParams.Encode(); got != "include_retried=true&scope%5B%5D=failed&scope%5B%5D=success" {
		t.Errorf("job apiQueryParams = %s", got)
	}
	if got := job.PipelineQueryParams.Encode(); got != "ref=main&status=success" {
		t.Errorf("job pipelineQueryParams = %s", got)
	}
	// For the pipeline kind both name the pipelines listing.
	if got := pipeline.APIQueryParams.Encode(); got != "ref=main&status=failed" {
		t.Errorf("pipeline query = %s", got)
	}
	_, err = Parse([]byte(`
resources:
  - kind: deployment
    selector: {query: 'true', apiQueryParams: {environment: {name: prod}}}
    port: {entity: {mappings: {identifier: .id | tostring, blueprint: '"d"'}}}
`))
	if err == nil || !strings.Contains(err.Error(), "selector.apiQueryParams.environment") {
		t.Fatalf("nested value: %v", err)
	}
}

// A GitOps spec file's entities are written the way the mapping writes
// its own: merged by default, replacing with enableMergeEntity: false.
func TestDeclaredFollowsEnableMergeEntity(t *testing.T) {
	spec := map[string]any{"identifier": "svc", "blueprint": "service", "title": "Svc",
		"properties": map[string]any{"tier": 1.0}, "__specFile": "port.yml",
		"__project": map[string]any{"path_with_namespace": "acme/svc"}}
	for doc, replace := range map[string]bool{
		"resources: []\nspecPath: port.yml\n":                           false,
		"enableMergeEntity: false\nresources: []\nspecPath: port.yml\n": true,
	} {
		c, err := ParseWith([]byte(doc), ParseOptions{Generation: OceanV2})
		if err != nil {
			t.Fatal(err)
		}
		e, err := c.Declared(spec)
		if err != nil {
			t.Fatal(err)
		}
		if e.Replace != replace || e.Identifier != "svc" || e.Properties["tier"] != 1.0 {
			t.Fatalf("%q: declared %+v, want Replace %v", doc, *e, replace)
		}
	}
}
