package mapping

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// failures is a Recorder that keeps what it is given.
type failures struct {
	mu   sync.Mutex
	list []Failure
}

func (f *failures) MappingFailed(x Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = append(f.list, x)
}

func (f *failures) skipped() bool {
	for _, x := range f.list {
		if x.Skipped {
			return true
		}
	}
	return false
}

func (f *failures) fields() []string {
	var out []string
	for _, x := range f.list {
		out = append(out, x.ShortField())
	}
	return out
}

// failingMapping has an expression of each field that raises on the test
// project: a missing field piped into test, a tonumber on a bad string, a
// relation of the wrong type.
const failingMapping = `
resources:
  - kind: project
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          title: .missing | test("x")
          icon: .name | tonumber
          blueprint: '"service"'
          team: .namespace.id + "x"
          properties:
            url: .web_url
            lang: .missing | test("go")
            stars: .name | tonumber
          relations:
            group: .namespace.id | tostring
            owner: .namespace
            lead: {combinator: and, rules: [{property: $identifier, operator: '=', value: .missing | ascii_downcase}]}
`

// TestTolerantMapping: as Ocean does, each failing expression maps its
// field to null and is reported with its field and the object; the rest
// of the entity is written.
func TestTolerantMapping(t *testing.T) {
	c, err := Parse([]byte(failingMapping))
	if err != nil {
		t.Fatal(err)
	}
	var rec failures
	ents, selected, err := c.Resources[0].MapAll(WithRecorder(context.Background(), &rec), loadProject(t))
	if err != nil || !selected || len(ents) != 1 {
		t.Fatalf("%v %v %v", ents, selected, err)
	}
	e := ents[0]
	if e.Identifier != "acme/DevopsTeam/PaymentService" || e.Title != "" || e.Icon != "" || e.Team != "" {
		t.Fatalf("entity %+v", e)
	}
	if e.Properties["url"] != "http://gitlab.example.com/acme/DevopsTeam/PaymentService" || e.Relations["group"] != "1001" {
		t.Fatalf("the fields that map were lost: %v %v", e.Properties, e.Relations)
	}
	for _, k := range []string{"lang", "stars"} {
		if v, ok := e.Properties[k]; !ok || v != nil {
			t.Fatalf("property %s: %v (present %v), want null", k, v, ok)
		}
	}
	for _, k := range []string{"owner", "lead"} {
		if v, ok := e.Relations[k]; !ok || v != nil {
			t.Fatalf("relation %s: %v, want null", k, v)
		}
	}
	want := "title icon team properties.lang properties.stars relations.lead.rules[0].value relations.owner"
	if got := strings.Join(rec.fields(), " "); got != want {
		t.Fatalf("failures on %s\nwant %s", got, want)
	}
	for _, f := range rec.list {
		if f.Object != "acme/DevopsTeam/PaymentService" || f.Skipped || f.Resource != 0 || f.Kind != "project" || f.Expr == "" {
			t.Fatalf("failure %+v", f)
		}
	}
	if !strings.Contains(rec.list[4].Error.Error(), `port.entity.mappings.properties.stars: expression ".name | tonumber"`) {
		t.Fatalf("failure text %v", rec.list[4].Error)
	}
}

// TestTolerantSkipsObject: an object whose identifier or blueprint fails
// is left out and reported, never an error; an itemsToParse item that
// fails leaves the other items.
func TestTolerantSkipsObject(t *testing.T) {
	for _, c := range []struct{ identifier, blueprint, field string }{
		{".missing | test(\"x\")", `'"s"'`, "identifier"},
		{".id", `'"s"'`, "identifier"},
		{".path", ".missing", "blueprint"},
	} {
		cfg, err := Parse([]byte("resources:\n  - kind: project\n    port: {entity: {mappings: {identifier: '" + c.identifier + "', blueprint: " + c.blueprint + "}}}\n"))
		if err != nil {
			t.Fatal(err)
		}
		var rec failures
		ents, selected, err := cfg.Resources[0].MapAll(WithRecorder(context.Background(), &rec), loadProject(t))
		if err != nil || !selected || len(ents) != 0 {
			t.Fatalf("%s: %v %v %v", c.identifier, ents, selected, err)
		}
		if len(rec.list) != 1 || !rec.list[0].Skipped || rec.list[0].ShortField() != c.field || rec.list[0].Object == "" {
			t.Fatalf("%s: failures %+v", c.identifier, rec.list)
		}
	}
	cfg, err := Parse([]byte("resources:\n  - kind: project\n    port: {itemsToParse: '[\"1\", \"x\", \"3\"]', entity: {mappings: {identifier: '.item | tonumber | tostring', blueprint: '\"s\"'}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var rec failures
	ents, selected, err := cfg.Resources[0].MapAll(WithRecorder(context.Background(), &rec), loadProject(t))
	if err != nil || !selected || len(ents) != 2 || ents[1].Identifier != "3" || len(rec.list) != 1 {
		t.Fatalf("items: %v %v %v %v", ents, selected, err, rec.list)
	}
}

// TestStrictMapping: strict keeps glsync 0.x's behaviour, the first
// failing expression is the object's error and nothing is recorded.
func TestStrictMapping(t *testing.T) {
	c, err := ParseWith([]byte(failingMapping), ParseOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Strict || !c.Resources[0].Strict() {
		t.Fatal("not strict")
	}
	var rec failures
	_, _, err = c.Resources[0].MapAll(WithRecorder(context.Background(), &rec), loadProject(t))
	if err == nil || !strings.Contains(err.Error(), `resources[0] (kind project): port.entity.mappings.title: expression ".missing | test(\"x\")"`) || len(rec.list) != 0 {
		t.Fatalf("strict: %v, recorded %v", err, rec.list)
	}
}
