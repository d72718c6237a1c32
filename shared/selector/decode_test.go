package selector

import (
	"math"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestValueNodeRoundTrip: a decoded value turned back into a node
// decodes to the same value, including what YAML's own encoding changes
// (a "<<" key it would emit as a merge, -0.0 it would emit as the
// integer 0, a whole float it would emit as an integer).
func TestValueNodeRoundTrip(t *testing.T) {
	for _, v := range []any{
		nil, true, "yes", "", "\xff", "a\n", 42, -7, uint64(math.MaxUint64), 1.0, 0.5, math.Copysign(0, -1), 1e21, math.Inf(-1),
		[]any{}, []any{1, "a", nil, []any{false}},
		map[string]any{}, map[string]any{"<<": map[string]any{"x": 1}, "true": "1", "a": []any{map[string]any{"b": nil}}},
		map[any]any{1: "a"},
	} {
		var back any
		if err := valueNode(v).Decode(&back); err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		if !reflect.DeepEqual(back, v) {
			t.Errorf("%#v came back as %#v", v, back)
		}
		if f, ok := v.(float64); ok && math.Signbit(f) != math.Signbit(back.(float64)) {
			t.Errorf("%v lost its sign", f)
		}
	}
	var back any
	if err := valueNode(math.NaN()).Decode(&back); err != nil || !math.IsNaN(back.(float64)) {
		t.Errorf("NaN came back as %#v, %v", back, err)
	}
}

// TestOptionTypesFromYAML: the option types decode straight from a YAML
// document, as a config's own types do, and a refusal names the part of
// the value it is about.
func TestOptionTypesFromYAML(t *testing.T) {
	var got struct {
		Queries searchQueries `yaml:"searchQueries"`
		Paths   skillPaths    `yaml:"paths"`
		Params  queryParams   `yaml:"apiQueryParams"`
	}
	doc := `
searchQueries: [{name: port, query: "filename:port.yml"}]
paths: [{path: "skills/**/SKILL.md", repos: a/b}]
apiQueryParams: {scope: [failed, 2], ref: main, gone: null}
`
	if err := yaml.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatal(err)
	}
	want := searchQueries{{Name: "port", Scope: "blobs", Query: "filename:port.yml"}}
	if !reflect.DeepEqual(got.Queries, want) || !reflect.DeepEqual(got.Paths, skillPaths{{Path: "skills/**/SKILL.md", Repos: []string{"a/b"}}}) ||
		!reflect.DeepEqual(got.Params, queryParams{{name: "ref", values: []string{"main"}}, {name: "scope", values: []string{"failed", "2"}, list: true}}) {
		t.Fatalf("decoded %+v", got)
	}
	err := yaml.Unmarshal([]byte("searchQueries: [{name: port}]\n"), &got)
	if err == nil || err.Error() != "[0].query: is required: GitLab search terms, e.g. filename:port.yml" {
		t.Fatalf("a refused entry: %v", err)
	}
}
