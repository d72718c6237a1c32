package mapping

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestPortDocsSearchQueryRelation maps the search-query relations of
// Port's docs, written in jq form throughout (combinator: '"and"',
// property: '"$identifier"', operator: '"="'), and checks the query Port
// receives: every part evaluated on the object, as Ocean's
// _search_as_object does.
func TestPortDocsSearchQueryRelation(t *testing.T) {
	doc, err := os.ReadFile("testdata/port-docs-search-relation.yml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte(strings.ReplaceAll(string(doc), "kind: repository", "kind: project")))
	if err != nil {
		t.Fatalf("Port's documented search query does not load: %v", err)
	}
	obj := loadProject(t)
	obj["owner"] = map[string]any{"login": "alice"}
	ents, _, err := c.Resources[0].MapAll(context.Background(), obj)
	if err != nil || len(ents) != 1 {
		t.Fatalf("%v %v", ents, err)
	}
	want := `{"combinator":"and","rules":[{"operator":"=","property":"github_username","value":"alice"}]}`
	if got, _ := json.Marshal(ents[0].Relations["service_owner"]); string(got) != want {
		t.Fatalf("service_owner %s\nwant %s", got, want)
	}
	ents, _, err = c.Resources[1].MapAll(context.Background(), obj)
	if err != nil || len(ents) != 1 {
		t.Fatalf("%v %v", ents, err)
	}
	want = `{"combinator":"or","rules":[{"operator":"=","property":"$identifier","value":"acme/DevopsTeam"},` +
		`{"operator":"in","property":"$title","value":["PaymentService","PaymentService"]}]}`
	if got, _ := json.Marshal(ents[0].Relations["owner"]); string(got) != want {
		t.Fatalf("owner %s\nwant %s", got, want)
	}
}

// TestSearchQueryForms: the bare form (Port's search API, glsync 0.x)
// and the jq form give the same query; a jq part may depend on the object;
// a wrong bare value names the field and the rule.
func TestSearchQueryForms(t *testing.T) {
	mapRel := func(t *testing.T, rel string) (any, error) {
		t.Helper()
		c, err := Parse([]byte("resources:\n  - kind: project\n    port: {entity: {mappings: {identifier: .path, blueprint: '\"s\"', relations: {r: " + rel + "}}}}\n"))
		if err != nil {
			return nil, err
		}
		ents, _, err := c.Resources[0].MapAll(context.Background(), loadProject(t))
		if err != nil {
			t.Fatal(err)
		}
		return ents[0].Relations["r"], nil
	}
	want := `{"combinator":"and","rules":[{"operator":"=","property":"$identifier","value":"PaymentService"}]}`
	for _, rel := range []string{
		`{combinator: and, rules: [{property: $identifier, operator: '=', value: .path}]}`,
		`{combinator: '"and"', rules: [{property: '"$identifier"', operator: '"="', value: .path}]}`,
		`{combinator: 'if .archived then "or" else "and" end', rules: [{property: '"$" + "identifier"', operator: '["="][0]', value: .path}]}`,
	} {
		v, err := mapRel(t, rel)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if got, _ := json.Marshal(v); string(got) != want {
			t.Fatalf("%s:\n got %s\nwant %s", rel, got, want)
		}
	}
	for _, c := range []struct{ rel, want string }{
		{`{combinator: xor, rules: [{property: a, operator: '=', value: .path}]}`,
			`port.entity.mappings.relations.r.combinator: expression "xor": must be and or or (or a jq expression returning one, as Port's docs write it: '"and"'), got "xor"`},
		{`{combinator: '"xor"', rules: [{property: a, operator: '=', value: .path}]}`,
			`port.entity.mappings.relations.r.combinator: expression "\"xor\"": must be and or or`},
		{`{combinator: and, rules: [{property: a, operator: '==', value: .path}]}`,
			`port.entity.mappings.relations.r.rules[0].operator: expression "==": must be one of Port's search operators (=, !=,`},
		{`{combinator: and, rules: [{property: '"a', operator: '=', value: .path}]}`,
			`port.entity.mappings.relations.r.rules[0].property: expression "\"a": must be a property identifier ($identifier, $title, myProperty) or a jq expression`},
		{`{combinator: and, rules: [{operator: '=', value: .path}]}`,
			`port.entity.mappings.relations.r.rules[0].property: is required`},
	} {
		_, err := mapRel(t, c.rel)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: error %v\nwant it to contain %s", c.rel, err, c.want)
		}
	}
}

// TestSearchQueryPartFails: a jq combinator that returns something Port
// does not know fails that object's relation, which tolerant mapping
// makes null and reports with the part's field.
func TestSearchQueryPartFails(t *testing.T) {
	c, err := Parse([]byte("resources:\n  - kind: project\n    port: {entity: {mappings: {identifier: .path, blueprint: '\"s\"', relations: {r: {combinator: .visibility, rules: [{property: a, operator: '=', value: .path}]}}}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var rec failures
	ents, _, err := c.Resources[0].MapAll(WithRecorder(context.Background(), &rec), loadProject(t))
	if err != nil || len(ents) != 1 || ents[0].Relations["r"] != nil {
		t.Fatalf("%+v %v", ents, err)
	}
	if len(rec.list) != 1 || rec.list[0].ShortField() != "relations.r.combinator" || !strings.Contains(rec.list[0].Error.Error(), "not one of and, or") {
		t.Fatalf("failures %v", rec.list)
	}
}

// TestPortDocsMapByProperty maps Port's "Map by property" example, an
// identifier written as a search query: the entity carries the evaluated
// query (catalog.Entity.Search, what Port resolves or the catalog
// resolves) and is known by its canonical JSON until resolved; Identify
// gives the same key.
func TestPortDocsMapByProperty(t *testing.T) {
	doc, err := os.ReadFile("testdata/port-docs-map-by-property.yml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte(strings.ReplaceAll(string(doc), "kind: services", "kind: project")))
	if err != nil {
		t.Fatalf("Port's documented map by property does not load: %v", err)
	}
	obj := loadProject(t)
	obj["__oncall_user"] = []any{
		map[string]any{"escalation_level": 2.0, "user": map[string]any{"email": "bob@example.com"}},
		map[string]any{"escalation_level": 1.0, "user": map[string]any{"email": "alice@example.com"}},
	}
	ents, _, err := c.Resources[0].MapAll(context.Background(), obj)
	if err != nil || len(ents) != 1 {
		t.Fatalf("%v %v", ents, err)
	}
	e := ents[0]
	want := `{"combinator":"and","rules":[{"operator":"=","property":"pagerduty_service_id","value":` + fmt.Sprint(obj["id"]) + `}]}`
	if got, _ := json.Marshal(e.Search); string(got) != want || e.Identifier != want || e.Blueprint != "service" {
		t.Fatalf("search %s identifier %s blueprint %s\nwant %s", got, e.Identifier, e.Blueprint, want)
	}
	if e.Properties["oncall"] != "alice@example.com" {
		t.Fatalf("properties %v", e.Properties)
	}
	k, err := c.Resources[0].Identify(context.Background(), obj)
	if err != nil || k.Identifier != want || k.Blueprint != "service" {
		t.Fatalf("Identify %v %v", k, err)
	}
}
