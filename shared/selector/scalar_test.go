package selector

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// setter is a scalar type read from a decoded value.
type setter interface{ Set(any) error }

// TestScalarCoercions: each type accepts what Ocean's pydantic v1 models
// accept, read from a decoded value (Set) and from YAML (UnmarshalYAML),
// with the same result.
func TestScalarCoercions(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		new  func() setter
		want any
	}{
		{"bool true", "true", func() setter { return new(Bool) }, Bool(true)},
		{"bool false", "false", func() setter { return new(Bool) }, Bool(false)},
		{"bool 1", "1", func() setter { return new(Bool) }, Bool(true)},
		{"bool 0", "0", func() setter { return new(Bool) }, Bool(false)},
		{"bool 1.0", "1.0", func() setter { return new(Bool) }, Bool(true)},
		{"bool 0.0", "0.0", func() setter { return new(Bool) }, Bool(false)},
		{"bool yes", "yes", func() setter { return new(Bool) }, Bool(true)},
		{"bool NO", "NO", func() setter { return new(Bool) }, Bool(false)},
		{"bool On", "On", func() setter { return new(Bool) }, Bool(true)},
		{"bool off", "off", func() setter { return new(Bool) }, Bool(false)},
		{"bool t", "t", func() setter { return new(Bool) }, Bool(true)},
		{"bool F", "F", func() setter { return new(Bool) }, Bool(false)},
		{"bool y", "y", func() setter { return new(Bool) }, Bool(true)},
		{"bool n", "n", func() setter { return new(Bool) }, Bool(false)},
		{"bool quoted 1", `"1"`, func() setter { return new(Bool) }, Bool(true)},
		{"bool quoted TRUE", `"TRUE"`, func() setter { return new(Bool) }, Bool(true)},
		{"number int", "90", func() setter { return new(Number) }, Number(90)},
		{"number float", "0.5", func() setter { return new(Number) }, Number(0.5)},
		{"number string", `"90"`, func() setter { return new(Number) }, Number(90)},
		{"number string spaced", `" 0.5 "`, func() setter { return new(Number) }, Number(0.5)},
		{"int int", "20", func() setter { return new(Int) }, Int(20)},
		{"int float truncated", "20.9", func() setter { return new(Int) }, Int(20)},
		{"int string", `"20"`, func() setter { return new(Int) }, Int(20)},
		{"int string spaced", `" 20 "`, func() setter { return new(Int) }, Int(20)},
		{"string", "opened", func() setter { return new(String) }, String("opened")},
		{"string int", "42", func() setter { return new(String) }, String("42")},
		{"string float", "1.5", func() setter { return new(String) }, String("1.5")},
		{"strings list", "[a, 2, 1.5]", func() setter { return new(Strings) }, Strings{"a", "2", "1.5"}},
		{"strings one", "only", func() setter { return new(Strings) }, Strings{"only"}},
		{"strings empty", "[]", func() setter { return new(Strings) }, Strings{}},
		{"query", ".name == 1", func() setter { return new(Query) }, Query(".name == 1")},
		{"query true", "true", func() setter { return new(Query) }, Query("true")},
		{"query false", "false", func() setter { return new(Query) }, Query("false")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := yaml.Unmarshal([]byte(tc.yaml), &v); err != nil {
				t.Fatal(err)
			}
			s := tc.new()
			if err := s.Set(v); err != nil {
				t.Fatalf("Set(%#v): %v", v, err)
			}
			if got := reflect.ValueOf(s).Elem().Interface(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Set(%#v) = %#v, want %#v", v, got, tc.want)
			}
			u := tc.new()
			if err := yaml.Unmarshal([]byte(tc.yaml), u); err != nil {
				t.Fatalf("UnmarshalYAML(%s): %v", tc.yaml, err)
			}
			if got := reflect.ValueOf(u).Elem().Interface(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("UnmarshalYAML(%s) = %#v, want %#v", tc.yaml, got, tc.want)
			}
		})
	}
}

// TestScalarRefusals: what pydantic v1 refuses (or nobody means) is an
// error naming the rule and the value, and leaves the destination as it
// was; YAML decoding refuses it with the same message (null aside, which
// YAML decoding treats as left out).
func TestScalarRefusals(t *testing.T) {
	long := strings.Repeat("x", 41)
	for _, tc := range []struct {
		name string
		yaml string
		new  func() setter
		want string
	}{
		{"bool 2", "2", func() setter { return new(Bool) }, "must be true or false, got 2"},
		{"bool 0.5", "0.5", func() setter { return new(Bool) }, "must be true or false, got 0.5"},
		{"bool word", "maybe", func() setter { return new(Bool) }, `must be true or false, got "maybe"`},
		{"bool list", "[true]", func() setter { return new(Bool) }, "must be true or false, got a list"},
		{"bool map", "{a: 1}", func() setter { return new(Bool) }, "must be true or false, got an object"},
		{"bool null", "null", func() setter { return new(Bool) }, "must be true or false, got null"},
		{"bool long string", long, func() setter { return new(Bool) }, "must be true or false, got a 41-character string"},
		{"number bool", "true", func() setter { return new(Number) }, "must be a number, got true"},
		{"number word", "ninety", func() setter { return new(Number) }, `must be a number, got "ninety"`},
		{"number NaN string", `"NaN"`, func() setter { return new(Number) }, `must be a number, got "NaN"`},
		{"number Inf string", `"Inf"`, func() setter { return new(Number) }, `must be a number, got "Inf"`},
		{"number list", "[1]", func() setter { return new(Number) }, "must be a number, got a list"},
		{"int fraction string", `"1.5"`, func() setter { return new(Int) }, `must be a whole number, got "1.5"`},
		{"int bool", "true", func() setter { return new(Int) }, "must be a whole number, got true"},
		{"int null", "null", func() setter { return new(Int) }, "must be a whole number, got null"},
		{"string bool", "true", func() setter { return new(String) }, "must be a string, got true"},
		{"string map", "{a: 1}", func() setter { return new(String) }, "must be a string, got an object"},
		{"string null", "null", func() setter { return new(String) }, "must be a string, got null"},
		{"strings item", "[a, true]", func() setter { return new(Strings) }, "item 1: must be a string, got true"},
		{"strings map", "{a: 1}", func() setter { return new(Strings) }, "must be a list of strings, got an object"},
		{"strings number", "3", func() setter { return new(Strings) }, "must be a list of strings, got 3"},
		{"query number", "3", func() setter { return new(Query) }, "must be a jq expression string"},
		{"query map", "{a: 1}", func() setter { return new(Query) }, "must be a jq expression string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := yaml.Unmarshal([]byte(tc.yaml), &v); err != nil {
				t.Fatal(err)
			}
			s := tc.new()
			zero := reflect.ValueOf(s).Elem().Interface()
			err := s.Set(v)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Set(%#v) = %v, want %q", v, err, tc.want)
			}
			if got := reflect.ValueOf(s).Elem().Interface(); !reflect.DeepEqual(got, zero) {
				t.Fatalf("Set(%#v) refused but changed the value to %#v", v, got)
			}
			u := tc.new()
			err = yaml.Unmarshal([]byte(tc.yaml), u)
			if v == nil {
				// YAML's null never reaches UnmarshalYAML: the value is
				// left as it was, as the parser leaves an option set to
				// null.
				if err != nil || !reflect.DeepEqual(reflect.ValueOf(u).Elem().Interface(), zero) {
					t.Fatalf("UnmarshalYAML(null) = %v, %#v", err, reflect.ValueOf(u).Elem().Interface())
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("UnmarshalYAML(%s) = %v, want %q", tc.yaml, err, tc.want)
			}
		})
	}
}

// TestScalarsInStruct: the types decode a typed struct's fields straight
// from YAML, as a config's own types do; a field left out keeps its value.
func TestScalarsInStruct(t *testing.T) {
	var got struct {
		Labels Strings `yaml:"labels"`
		Days   Number  `yaml:"updatedAfter"`
		Limit  Int     `yaml:"limitPerProject"`
		Bots   Bool    `yaml:"includeBotMembers"`
		Search String  `yaml:"search"`
		Query  Query   `yaml:"query"`
	}
	got.Search = "kept"
	doc := "labels: bug\nupdatedAfter: '30'\nlimitPerProject: '10'\nincludeBotMembers: 'yes'\nquery: true\n"
	if err := yaml.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Labels, Strings{"bug"}) || got.Days != 30 || got.Limit != 10 || !bool(got.Bots) || got.Search != "kept" || got.Query != "true" {
		t.Fatalf("decoded %+v", got)
	}
	if err := yaml.Unmarshal([]byte("limitPerProject: many\n"), &got); err == nil || err.Error() != `must be a whole number, got "many"` {
		t.Fatalf("a refused field: %v", err)
	}
}

// TestAs: the As functions read a decoded value as the types do, and give
// the zero value on a refusal.
func TestAs(t *testing.T) {
	if b, err := AsBool("on"); err != nil || !b {
		t.Fatalf("AsBool(on) = %v, %v", b, err)
	}
	if b, err := AsBool("perhaps"); err == nil || b {
		t.Fatalf("AsBool(perhaps) = %v, %v", b, err)
	}
	if f, err := AsNumber("2.5"); err != nil || f != 2.5 {
		t.Fatalf("AsNumber(2.5) = %v, %v", f, err)
	}
	if n, err := AsInt(7.9); err != nil || n != 7 {
		t.Fatalf("AsInt(7.9) = %v, %v", n, err)
	}
	if s, err := AsString(12); err != nil || s != "12" {
		t.Fatalf("AsString(12) = %q, %v", s, err)
	}
	if l, err := AsStrings([]any{"a", 1}); err != nil || !reflect.DeepEqual(l, []string{"a", "1"}) {
		t.Fatalf("AsStrings = %q, %v", l, err)
	}
	if l, err := AsStrings([]any{"a", nil}); err == nil || l != nil {
		t.Fatalf("AsStrings with a null item = %q, %v", l, err)
	}
}
